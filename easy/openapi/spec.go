package openapi

import (
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"strconv"
	"strings"
	"sync"

	"github.com/swaggest/jsonschema-go"
	oapi "github.com/swaggest/openapi-go"
	"github.com/swaggest/openapi-go/openapi31"
	"gopkg.in/yaml.v2"

	"github.com/fastapi-easy/easy-go/internal/typeschema"
)

// Spec collects operations into an OpenAPI 3.1 document. It is safe for
// concurrent use; the document is rendered once and cached until the next
// operation is added.
type Spec struct {
	mu        sync.Mutex
	reflector *openapi31.Reflector
	names     map[string]reflect.Type // schema name → the type that has it
	derived   map[string]reflect.Type // derived schema name → the model it was derived from
	ids       map[string]string       // operation ID → "METHOD path"
	rendered  []byte
	yaml      []byte
}

// Info describes the API in the document.
type Info struct {
	Title       string
	Version     string
	Description string
	Servers     []string
}

// New returns an empty document with info.
func New(info Info) *Spec {
	r := openapi31.NewReflector()
	s := &Spec{reflector: r, names: map[string]reflect.Type{}, derived: map[string]reflect.Type{}, ids: map[string]string{}}
	if info.Title == "" {
		info.Title = "easy"
	}
	if info.Version == "" {
		info.Version = "0.1.0"
	}
	r.Spec.Info.WithTitle(info.Title).WithVersion(info.Version)
	if info.Description != "" {
		r.Spec.Info.WithDescription(info.Description)
	}
	for _, u := range info.Servers {
		r.Spec.Servers = append(r.Spec.Servers, openapi31.Server{URL: u})
	}
	r.DefaultOptions = append(r.DefaultOptions,
		jsonschema.InterceptDefName(s.defName),
		jsonschema.InterceptNullability(paramsNotNull))
	r.DefaultOptions = append(r.DefaultOptions, typeschema.Options()...)
	return s
}

// paramsNotNull keeps null out of the schemas of parameters. jsonschema-go
// makes a slice, map or pointer field nullable because encoding/json
// writes a nil one as null, but a path, query, header or cookie value is
// text with no null in it: a nil value is an absent parameter.
func paramsNotNull(p jsonschema.InterceptNullabilityParams) {
	switch p.Context.PropertyNameTag {
	case "path", "query", "header", "cookie":
		if p.NullAdded {
			p.Schema.RemoveType(jsonschema.Null)
		}
	}
}

// Namer is implemented by types that choose their own schema name.
type Namer interface {
	SchemaName() string
}

// defName gives a type a readable schema name: its Go name (Item, not
// MainItem), with its package in front only when two packages both have
// a type of that name.
func (s *Spec) defName(t reflect.Type, def string) string {
	if t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if n, ok := reflect.New(t).Interface().(Namer); ok {
		return n.SchemaName()
	}
	name := typeName(t)
	if name == "" {
		return def
	}
	if prev, ok := s.names[name]; ok && prev != t {
		return def
	}
	s.names[name] = t
	return name
}

// typeName is t's name with generic arguments folded in: Page[pkg.Item] is PageItem.
func typeName(t reflect.Type) string {
	name := t.Name()
	base, args, ok := strings.Cut(name, "[")
	if !ok {
		return name
	}
	var b strings.Builder
	b.WriteString(base)
	for _, a := range strings.Split(strings.TrimSuffix(args, "]"), ",") {
		a = a[strings.LastIndex(a, "/")+1:]
		a = a[strings.LastIndex(a, ".")+1:]
		b.WriteString(strings.Trim(a, "*[]"))
	}
	return b.String()
}

// Add puts op into the document.
func (s *Spec) Add(op Operation) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rendered, s.yaml = nil, nil
	if prev, ok := s.ids[op.ID]; ok && op.ID != "" {
		return fmt.Errorf("openapi: %s %s: operation ID %q is taken by %s", op.Method, op.Path, op.ID, prev)
	}
	oc, err := s.reflector.NewOperationContext(op.Method, op.Path)
	if err != nil {
		return fmt.Errorf("openapi: %s %s: %w", op.Method, op.Path, err)
	}
	oc.SetID(op.ID)
	if op.Summary != "" {
		oc.SetSummary(op.Summary)
	}
	if op.Description != "" {
		oc.SetDescription(op.Description)
	}
	oc.SetTags(op.Tags...)
	if op.Deprecated {
		oc.SetIsDeprecated(true)
	}
	if op.Input != nil {
		oc.AddReqStructure(op.Input)
	}
	for _, p := range op.Params {
		oc.AddReqStructure(p)
	}
	if op.Body != nil {
		oc.AddReqStructure(op.Body)
	}
	status := op.Status
	if status == 0 {
		status = http.StatusOK
	}
	if op.Output != nil {
		oc.AddRespStructure(op.Output, oapi.WithHTTPStatus(status))
	} else {
		oc.AddRespStructure(nil, oapi.WithHTTPStatus(status))
	}
	for _, code := range op.Empty {
		oc.AddRespStructure(nil, oapi.WithHTTPStatus(code))
	}
	for _, code := range op.Errors {
		if code == http.StatusUnprocessableEntity {
			oc.AddRespStructure(new(httpValidationError), oapi.WithHTTPStatus(code))
			continue
		}
		oc.AddRespStructure(new(httpError), oapi.WithHTTPStatus(code))
	}
	if err := s.reflector.AddOperation(oc); err != nil {
		return fmt.Errorf("openapi: %s %s: %w", op.Method, op.Path, err)
	}
	s.ids[op.ID] = op.Method + " " + op.Path
	// AddOperation stored a copy of the operation: change that one.
	stored, err := s.reflector.Spec.Paths.MapOfPathItemValues[oc.PathPattern()].Operation(strings.ToLower(op.Method))
	if err != nil || stored == nil {
		return fmt.Errorf("openapi: %s %s: the operation was not stored", op.Method, op.Path)
	}
	cookieLists(stored)
	if len(op.Security) > 0 {
		// One requirement naming every scheme: all of them are required.
		req := make(map[string][]string, len(op.Security))
		for _, sec := range op.Security {
			req[sec.Name] = append(append([]string{}, req[sec.Name]...), sec.Scopes...)
		}
		stored.Security = []map[string][]string{req}
	}
	for _, h := range op.ResponseHeaders {
		statuses := h.Statuses
		if len(statuses) == 0 {
			statuses = []int{status}
		}
		for _, code := range statuses {
			addResponseHeaders(stored, code, []Header{h})
		}
	}
	if op.BodyRef != "" {
		stored.RequestBody = &openapi31.RequestBodyOrReference{RequestBody: &openapi31.RequestBody{
			Content: map[string]openapi31.MediaType{"application/json": {
				Schema: map[string]any{"$ref": "#/components/schemas/" + op.BodyRef},
			}},
		}}
	}
	if rb := stored.RequestBody; rb != nil && rb.RequestBody != nil {
		// The binding answers a request without a body 422 missing at
		// ["body"], even when no field of it is required, as FastAPI
		// does for a model body: the body is required.
		rb.RequestBody.WithRequired(true)
		if mt, ok := rb.RequestBody.Content["application/json"]; ok {
			for _, t := range op.BodyTypes {
				rb.RequestBody.Content[t] = mt
			}
		}
	}
	return nil
}

// cookieLists documents a list in a cookie as the binding reads it, one
// cookie whose value separates the elements with commas (ids=1,2): style
// form without explode. OpenAPI's default for a cookie, form with
// explode, would be a cookie per element (ids=1; ids=2), of which a
// server reads one, as it reads any cookie sent twice.
func cookieLists(o *openapi31.Operation) {
	for _, pr := range o.Parameters {
		p := pr.Parameter
		if p == nil || p.In != openapi31.ParameterInCookie || p.Schema["type"] != "array" {
			continue
		}
		p.WithStyle(openapi31.ParameterStyleForm).WithExplode(false)
	}
}

func addResponseHeaders(o *openapi31.Operation, status int, headers []Header) {
	code := strconv.Itoa(status)
	resp, ok := o.Responses.MapOfResponseOrReferenceValues[code]
	if !ok || resp.Response == nil {
		return
	}
	if resp.Response.Headers == nil {
		resp.Response.Headers = map[string]openapi31.HeaderOrReference{}
	}
	for _, h := range headers {
		sch := h.Schema
		if sch == nil {
			sch = map[string]any{"type": "string"}
		}
		hd := openapi31.Header{Schema: sch}
		if h.Description != "" {
			hd.WithDescription(h.Description)
		}
		resp.Response.Headers[h.Name] = openapi31.HeaderOrReference{Header: &hd}
	}
	o.Responses.MapOfResponseOrReferenceValues[code] = resp
}

// Derive adds a schema component called name: the schema of model without
// the properties in drop. With optional, no property is required (the
// body of a PATCH). It returns name, for Operation.BodyRef. Deriving a
// name again from the same model type replaces the component; from
// another type it is an error, as the two would share one name.
func (s *Spec) Derive(name string, model any, drop []string, optional bool) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	mt := reflect.TypeOf(model)
	for mt != nil && mt.Kind() == reflect.Pointer {
		mt = mt.Elem()
	}
	if prev, ok := s.derived[name]; ok && prev != mt {
		return "", fmt.Errorf("openapi: schema %s is already derived from %s, not %s", name, prev, mt)
	}
	s.rendered, s.yaml = nil, nil
	r := s.reflector
	sch, err := r.Reflect(model,
		jsonschema.DefinitionsPrefix("#/components/schemas/"),
		jsonschema.CollectDefinitions(func(n string, d jsonschema.Schema) {
			m, err := d.ToSchemaOrBool().ToSimpleMap()
			if err == nil {
				r.SpecEns().ComponentsEns().WithSchemasItem(n, m)
			}
		}),
	)
	if err != nil {
		return "", fmt.Errorf("openapi: schema %s: %w", name, err)
	}
	if sch.Ref != nil {
		comp := strings.TrimPrefix(*sch.Ref, "#/components/schemas/")
		var sb jsonschema.SchemaOrBool
		if err := sb.FromSimpleMap(r.Spec.Components.Schemas[comp]); err != nil || sb.TypeObject == nil {
			return "", fmt.Errorf("openapi: schema %s: cannot read component %s", name, comp)
		}
		sch = *sb.TypeObject
	}
	dropped := map[string]bool{}
	for _, d := range drop {
		dropped[d] = true
		delete(sch.Properties, d)
	}
	var req []string
	for _, p := range sch.Required {
		if !dropped[p] && !optional {
			req = append(req, p)
		}
	}
	sch.Required = req
	sch.Title = nil
	m, err := sch.ToSchemaOrBool().ToSimpleMap()
	if err != nil {
		return "", err
	}
	r.SpecEns().ComponentsEns().WithSchemasItem(name, m)
	s.derived[name] = mt
	return name, nil
}

// AddSchema adds a schema component called name, written as a JSON
// Schema: a schema no Go type reflects, such as one that refers to
// derived components. Adding a name again replaces the component.
func (s *Spec) AddSchema(name string, schema map[string]any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rendered, s.yaml = nil, nil
	s.reflector.SpecEns().ComponentsEns().WithSchemasItem(name, schema)
}

// MapType documents every value of src's type as if it were of dst's
// type: a type whose JSON differs from its Go structure, such as
// gorm.DeletedAt (a nullable date-time, not an object). Call it before
// adding operations that use src.
func (s *Spec) MapType(src, dst any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rendered, s.yaml = nil, nil
	s.reflector.AddTypeMapping(src, dst)
}

// MarshalJSON renders the document.
func (s *Spec) MarshalJSON() ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.renderJSON()
}

func (s *Spec) renderJSON() ([]byte, error) {
	if s.rendered == nil {
		b, err := json.Marshal(s.reflector.Spec)
		if err != nil {
			return nil, fmt.Errorf("openapi: render: %w", err)
		}
		s.rendered = b
	}
	return s.rendered, nil
}

// YAML renders the document as YAML.
func (s *Spec) YAML() ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.yaml == nil {
		b, err := s.renderJSON()
		if err != nil {
			return nil, err
		}
		if s.yaml, err = jsonToYAML(b); err != nil {
			return nil, fmt.Errorf("openapi: %w", err)
		}
	}
	return s.yaml, nil
}

// jsonToYAML renders a JSON document as YAML, its keys in the same order.
func jsonToYAML(b []byte) ([]byte, error) {
	var v yaml.MapSlice
	if err := yaml.Unmarshal(b, &v); err != nil {
		return nil, fmt.Errorf("render yaml: %w", err)
	}
	b, err := yaml.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("render yaml: %w", err)
	}
	return b, nil
}
