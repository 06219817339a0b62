package openapi_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/fastapi-easy/easy-go/easy/openapi"
)

type thing struct {
	ID   int    `json:"id"`
	Name string `json:"name" required:"true"`
	When when   `json:"when"`
}

type when struct{ A, B int }

type otherThing struct {
	ID int `json:"id"`
}

type whenDoc struct{}

func (whenDoc) SchemaName() string { return "When" }

func render(t *testing.T, s *openapi.Spec) map[string]any {
	t.Helper()
	b, err := s.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func dig(m any, path ...string) any {
	for _, p := range path {
		mm, ok := m.(map[string]any)
		if !ok {
			return nil
		}
		m = mm[p]
	}
	return m
}

// TestRequestBodyRequired checks that a request body is documented as
// required however it is given (the binding answers a request without
// one 422 missing at ["body"]), even when none of its fields is, and
// that an operation without a body has none.
func TestRequestBodyRequired(t *testing.T) {
	type note struct {
		Note string `json:"note"`
	}
	type query struct {
		Q string `query:"q"`
	}
	s := openapi.New(openapi.Info{})
	if _, err := s.Derive("NotePatch", new(note), nil, true); err != nil {
		t.Fatal(err)
	}
	for _, op := range []openapi.Operation{
		{Method: "POST", Path: "/input", ID: "input", Input: new(note)},
		{Method: "PUT", Path: "/body", ID: "body", Input: new(query), Body: new(note)},
		{Method: "PATCH", Path: "/ref", ID: "ref", BodyRef: "NotePatch"},
		{Method: "GET", Path: "/none", ID: "none", Input: new(query)},
	} {
		if err := s.Add(op); err != nil {
			t.Fatal(err)
		}
	}
	m := render(t, s)
	for _, c := range []struct{ path, method string }{{"/input", "post"}, {"/body", "put"}, {"/ref", "patch"}} {
		if req := dig(m, "paths", c.path, c.method, "requestBody", "required"); req != true {
			t.Errorf("%s %s: requestBody.required = %v, want true", c.method, c.path, req)
		}
	}
	if rb := dig(m, "paths", "/none", "get", "requestBody"); rb != nil {
		t.Errorf("get /none: requestBody %v, want none", rb)
	}
}

// TestHTTPErrorDetailIsAny checks that HTTPError's detail admits any
// JSON value, as easy.NewHTTPError takes one (FastAPI's HTTPException's
// detail is Any), and is required.
func TestHTTPErrorDetailIsAny(t *testing.T) {
	s := openapi.New(openapi.Info{})
	if err := s.Add(openapi.Operation{Method: "GET", Path: "/x", ID: "x", Errors: []int{409}}); err != nil {
		t.Fatal(err)
	}
	m := render(t, s)
	if ref := dig(m, "paths", "/x", "get", "responses", "409", "content", "application/json", "schema", "$ref"); ref != "#/components/schemas/HTTPError" {
		t.Fatalf("409 schema %v", ref)
	}
	he := dig(m, "components", "schemas", "HTTPError")
	detail, _ := dig(he, "properties", "detail").(map[string]any)
	if detail == nil || len(detail) != 1 || detail["description"] == nil {
		t.Errorf("HTTPError detail %v, want a schema with a description alone (any value)", detail)
	}
	if req, _ := dig(he, "required").([]any); len(req) != 1 || req[0] != "detail" {
		t.Errorf("HTTPError required %v, want [detail]", req)
	}
}

// TestBodyRefAndResponseHeaders checks that an operation's BodyRef is its
// request body and its ResponseHeaders are on its success response.
func TestBodyRefAndResponseHeaders(t *testing.T) {
	s := openapi.New(openapi.Info{})
	if _, err := s.Derive("ThingCreate", new(thing), []string{"id"}, false); err != nil {
		t.Fatal(err)
	}
	err := s.Add(openapi.Operation{Method: "POST", Path: "/things", ID: "create_thing", BodyRef: "ThingCreate",
		Output: new(thing), Status: 201,
		ResponseHeaders: []openapi.Header{{Name: "X-Total-Count", Description: "All of them.", Schema: map[string]any{"type": "integer"}}, {Name: "X-Plain"}}})
	if err != nil {
		t.Fatal(err)
	}
	m := render(t, s)
	post := dig(m, "paths", "/things", "post")
	if ref := dig(post, "requestBody", "content", "application/json", "schema", "$ref"); ref != "#/components/schemas/ThingCreate" {
		t.Errorf("request body %v", dig(post, "requestBody"))
	}
	if typ := dig(post, "responses", "201", "headers", "X-Total-Count", "schema", "type"); typ != "integer" {
		t.Errorf("X-Total-Count %v", dig(post, "responses", "201", "headers"))
	}
	if typ := dig(post, "responses", "201", "headers", "X-Plain", "schema", "type"); typ != "string" {
		t.Errorf("X-Plain %v", dig(post, "responses", "201", "headers"))
	}
	props := dig(m, "components", "schemas", "ThingCreate", "properties").(map[string]any)
	if _, ok := props["id"]; ok || props["name"] == nil {
		t.Errorf("ThingCreate properties %v", props)
	}
}

// TestDeriveConflict checks that one derived name cannot stand for two
// models, and that deriving it again from the same model is fine.
func TestDeriveConflict(t *testing.T) {
	s := openapi.New(openapi.Info{})
	if _, err := s.Derive("Input", new(thing), nil, false); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Derive("Input", new(thing), []string{"id"}, true); err != nil {
		t.Errorf("same model again: %v", err)
	}
	_, err := s.Derive("Input", new(otherThing), nil, false)
	if err == nil || !strings.Contains(err.Error(), "schema Input is already derived from openapi_test.thing, not openapi_test.otherThing") {
		t.Errorf("error %v", err)
	}
}

// TestMapType checks that a mapped type is documented as its stand-in.
func TestMapType(t *testing.T) {
	s := openapi.New(openapi.Info{})
	s.MapType(when{}, whenDoc{})
	if err := s.Add(openapi.Operation{Method: "GET", Path: "/things", ID: "list", Output: new(thing)}); err != nil {
		t.Fatal(err)
	}
	m := render(t, s)
	if ref := dig(m, "components", "schemas", "thing", "properties", "when", "$ref"); ref != "#/components/schemas/When" {
		t.Errorf("when is %v", dig(m, "components", "schemas", "thing", "properties", "when"))
	}
}
