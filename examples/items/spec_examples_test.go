package main

import (
	"encoding/json"
	"net/http"
	"path/filepath"
	"testing"
)

// Swagger UI fills "Try it out" with the examples of the spec; without
// them a user gets {"name": "string", "price": 0} and an empty id.
func TestSpecGivesExamplesForTryItOut(t *testing.T) {
	s := startServer(t, filepath.Join(t.TempDir(), "items.db"), "127.0.0.1:0")
	for _, schema := range []string{"Item", "ItemCreate", "ItemUpdate", "ItemPatch"} {
		specExample(t, s, schema)
	}
	_, b := s.call(t, "GET", "/openapi.json", "")
	var spec struct {
		Paths map[string]map[string]struct {
			Parameters []struct {
				Name   string `json:"name"`
				In     string `json:"in"`
				Schema struct {
					Examples []any `json:"examples"`
				} `json:"schema"`
			} `json:"parameters"`
		} `json:"paths"`
	}
	if err := json.Unmarshal(b, &spec); err != nil {
		t.Fatal(err)
	}
	for method, op := range spec.Paths["/items/{id}"] {
		for _, p := range op.Parameters {
			if p.In == "path" && len(p.Schema.Examples) == 0 {
				t.Errorf("%s /items/{id}: the path parameter %s has no example", method, p.Name)
			}
		}
	}
}

// specExample assembles the example of a schema of the app's spec from
// the first example of each property.
func specExample(t *testing.T, s *server, schema string) map[string]any {
	t.Helper()
	status, b := s.call(t, "GET", "/openapi.json", "")
	var spec struct {
		Components struct {
			Schemas map[string]struct {
				Properties map[string]struct {
					Examples []any `json:"examples"`
				} `json:"properties"`
			} `json:"schemas"`
		} `json:"components"`
	}
	if err := json.Unmarshal(b, &spec); status != http.StatusOK || err != nil {
		t.Fatalf("GET /openapi.json: %d %v", status, err)
	}
	props := spec.Components.Schemas[schema].Properties
	if len(props) == 0 {
		t.Errorf("the spec has no schema %s with properties", schema)
	}
	out := map[string]any{}
	for name, p := range props {
		if len(p.Examples) == 0 {
			t.Errorf("property %s of %s has no example", name, schema)
			continue
		}
		out[name] = p.Examples[0]
	}
	return out
}
