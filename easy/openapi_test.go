package easy_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/fastapi-easy/easy-go/easy"
	"github.com/fastapi-easy/easy-go/internal/testkit"
)

// TestSpecDescribesTheOperations checks what the document says of the
// operations: schemas, parameters and where they are, responses,
// constraints. That it is valid OpenAPI 3.1 and that the answers match
// it, internal/thirdparty checks with a third-party validator.
func TestSpecDescribesTheOperations(t *testing.T) {
	srv := testkit.Serve(t, operationsApp(t))
	raw := testkit.Get(t, srv, "/openapi.json")

	var doc struct {
		OpenAPI string `json:"openapi"`
		Paths   map[string]map[string]struct {
			OperationID string                     `json:"operationId"`
			Responses   map[string]json.RawMessage `json:"responses"`
			Parameters  []struct {
				Name, In string
				Required bool
			} `json:"parameters"`
		} `json:"paths"`
		Components struct {
			Schemas map[string]json.RawMessage `json:"schemas"`
		} `json:"components"`
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	if doc.OpenAPI != "3.1.0" {
		t.Errorf("openapi = %q", doc.OpenAPI)
	}
	for _, name := range []string{"Item", "HTTPError", "HTTPValidationError", "ValidationError"} {
		if _, ok := doc.Components.Schemas[name]; !ok {
			t.Errorf("schema %s missing; have %v", name, keys(doc.Components.Schemas))
		}
	}
	post := doc.Paths["/items"]["post"]
	for _, code := range []string{"201", "409", "413", "415", "422"} {
		if _, ok := post.Responses[code]; !ok {
			t.Errorf("POST /items does not document %s", code)
		}
	}
	get := doc.Paths["/params/{id}"]["get"]
	in := map[string]string{}
	for _, p := range get.Parameters {
		in[p.Name] = p.In
	}
	want := map[string]string{"id": "path", "verbose": "query", "limit": "query", "tag": "query", "after": "query", "kind": "query", "X-Token": "header", "session": "cookie"}
	for name, where := range want {
		if in[name] != where {
			t.Errorf("parameter %s in %q, want %q", name, in[name], where)
		}
	}
	if !strings.Contains(string(raw), `"name":{"maxLength":20,"minLength":1,"type":"string"}`) {
		t.Errorf("constraints of Item.name are not in the spec")
	}

	yaml := testkit.Do(t, srv, "GET", "/openapi.yaml", "")
	if yaml.Status != http.StatusOK || !strings.HasPrefix(yaml.Body, "openapi: 3.1.0") {
		t.Errorf("/openapi.yaml: %d %.80s", yaml.Status, yaml.Body)
	}
}

func keys(m map[string]json.RawMessage) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

func TestDocsServeEmbeddedSwaggerUI(t *testing.T) {
	srv := testkit.Serve(t, operationsApp(t))
	page := testkit.Do(t, srv, "GET", "/docs", "")
	if page.Status != http.StatusOK || !strings.Contains(page.Body, "swagger-ui") {
		t.Fatalf("/docs: %d\n%s", page.Status, page.Body)
	}
	if !strings.Contains(page.Body, "/openapi.json") {
		t.Error("the docs page does not point at /openapi.json")
	}
	if m := regexp.MustCompile(`(?:src|href)="(https?:)?//[^"]*"`).FindString(page.Body); m != "" {
		t.Errorf("the docs page loads %s from outside", m)
	}
	assets := regexp.MustCompile(`(?:src|href)="([^"]+\.(?:js|css))"`).FindAllStringSubmatch(page.Body, -1)
	if len(assets) == 0 {
		t.Fatalf("no scripts in the docs page:\n%s", page.Body)
	}
	for _, a := range assets {
		path := a[1]
		if !strings.HasPrefix(path, "/") {
			path = "/docs/" + strings.TrimPrefix(path, "./")
		}
		r := testkit.Do(t, srv, "GET", path, "")
		if r.Status != http.StatusOK || len(r.Body) < 100 {
			t.Errorf("asset %s: %d, %d bytes", path, r.Status, len(r.Body))
		}
	}
}

func TestDocsMovedOrOff(t *testing.T) {
	srv := testkit.Serve(t, operationsApp(t, easy.OpenAPI("/api/spec.json"), easy.Docs("/api/docs")))
	if r := testkit.Do(t, srv, "GET", "/api/spec.json", ""); r.Status != http.StatusOK {
		t.Errorf("moved spec: %d", r.Status)
	}
	if r := testkit.Do(t, srv, "GET", "/api/docs", ""); r.Status != http.StatusOK || !strings.Contains(r.Body, "/api/spec.json") {
		t.Errorf("moved docs: %d", r.Status)
	}
	testkit.Do(t, srv, "GET", "/openapi.json", "").Expect(t, http.StatusNotFound, `{"detail":"Not Found"}`)

	off := testkit.Serve(t, operationsApp(t, easy.OpenAPI("")))
	testkit.Do(t, off, "GET", "/openapi.json", "").Expect(t, http.StatusNotFound, `{"detail":"Not Found"}`)
	testkit.Do(t, off, "GET", "/docs", "").Expect(t, http.StatusNotFound, `{"detail":"Not Found"}`)
}

// TestSpecNullability checks that a schema allows null only where the app
// can send null: the 422 body's lists never are, nor are parameters, while
// a user's slice or pointer without omitempty is (ParamsOut.tags is null
// when no tag is given; see TestParameters).
func TestSpecNullability(t *testing.T) {
	srv := testkit.Serve(t, operationsApp(t))
	raw := testkit.Get(t, srv, "/openapi.json")
	var doc any
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	schema := func(p ...string) []string { return append([]string{"components", "schemas"}, p...) }
	param := func(name string) []string {
		return []string{"paths", "/params/{id}", "get", "parameters", "name=" + name, "schema"}
	}
	cases := []struct {
		name string
		path []string
		want string // the JSON found at path
	}{
		{"422 body", []string{"paths", "/items", "post", "responses", "422", "content", "application/json", "schema", "$ref"},
			`"#/components/schemas/HTTPValidationError"`},
		{"detail", schema("HTTPValidationError", "properties", "detail", "type"), `"array"`},
		{"detail is required", schema("HTTPValidationError", "required"), `["detail"]`},
		{"detail items", schema("HTTPValidationError", "properties", "detail", "items", "$ref"),
			`"#/components/schemas/ValidationError"`},
		{"loc", schema("ValidationError", "properties", "loc"), `{"$ref":"#/components/schemas/Location"}`},
		{"Location", schema("Location", "type"), `"array"`},
		{"Location items", schema("Location", "items"), `{"anyOf":[{"type":"string"},{"type":"integer"}]}`},
		{"query slice", param("tag"), `{"items":{"type":"string"},"type":"array"}`},
		{"query pointer", param("after"), `{"type":"integer"}`},
		{"user slice", schema("ParamsOut", "properties", "tags", "type"), `["array","null"]`},
		{"user slice with omitempty", schema("Item", "properties", "tags", "type"), `"array"`},
		{"user pointer", schema("ParamsOut", "properties", "after", "type"), `["null","integer"]`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := json.Marshal(at(doc, c.path...))
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != c.want {
				t.Errorf("%s = %s, want %s", strings.Join(c.path, " "), got, c.want)
			}
		})
	}
}

// at finds path in a decoded JSON document; "name=x" picks the element of
// a list whose name is x.
func at(v any, path ...string) any {
	for _, p := range path {
		switch vv := v.(type) {
		case map[string]any:
			v = vv[p]
		case []any:
			v = nil
			for _, e := range vv {
				if m, ok := e.(map[string]any); ok && "name="+fmt.Sprint(m["name"]) == p {
					v = e
				}
			}
		default:
			return nil
		}
	}
	return v
}
