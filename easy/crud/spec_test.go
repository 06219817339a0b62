package crud_test

import (
	"encoding/json"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/fastapi-easy/easy-go/easy"
	"github.com/fastapi-easy/easy-go/easy/crud"
	"github.com/fastapi-easy/easy-go/internal/testkit"
)

// doc is the part of an OpenAPI document the tests read.
type doc struct {
	Paths map[string]map[string]struct {
		OperationID string   `json:"operationId"`
		Tags        []string `json:"tags"`
		Parameters  []struct {
			Name   string         `json:"name"`
			In     string         `json:"in"`
			Schema map[string]any `json:"schema"`
		} `json:"parameters"`
		RequestBody *struct {
			Content map[string]struct {
				Schema map[string]any `json:"schema"`
			} `json:"content"`
		} `json:"requestBody"`
		Responses map[string]struct {
			Headers map[string]struct {
				Schema map[string]any `json:"schema"`
			} `json:"headers"`
			Content map[string]struct {
				Schema map[string]any `json:"schema"`
			} `json:"content"`
		} `json:"responses"`
	} `json:"paths"`
	Components struct {
		Schemas map[string]struct {
			Type       any            `json:"type"`
			Format     string         `json:"format"`
			Properties map[string]any `json:"properties"`
			Required   []string       `json:"required"`
		} `json:"schemas"`
	} `json:"components"`
}

func (s *server) spec() doc {
	s.t.Helper()
	res := s.do("GET", "/openapi.json", "")
	var d doc
	if err := json.Unmarshal([]byte(res.body), &d); err != nil {
		s.t.Fatalf("spec: %v", err)
	}
	return d
}

// operations lists "METHOD path operationId" of a document, sorted.
func (d doc) operations() []string {
	var out []string
	for path, ops := range d.Paths {
		for method, op := range ops {
			out = append(out, strings.ToUpper(method)+" "+path+" "+op.OperationID)
		}
	}
	sort.Strings(out)
	return out
}

func keys[V any](m map[string]V) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// TestSpec checks that every route is in the document with its
// operation ID, parameters, bodies, responses and errors.
func TestSpec(t *testing.T) {
	s := serve(t, testkit.SQLite(t, nil), easy.CRUDRouter[Item](), easy.CRUDRouter[Task](crud.IncludeDeleted(), crud.DeleteAll()))
	d := s.spec()
	want := []string{
		"DELETE /items/{id} delete_item",
		"DELETE /tasks delete_all_tasks",
		"DELETE /tasks/{id} delete_task",
		"GET /items list_items",
		"GET /items/{id} get_item",
		"GET /tasks list_tasks",
		"GET /tasks/{id} get_task",
		"PATCH /items/{id} update_item",
		"PATCH /tasks/{id} update_task",
		"POST /items create_item",
		"POST /tasks create_task",
		"PUT /items/{id} replace_item",
		"PUT /tasks/{id} replace_task",
	}
	if got := d.operations(); !slices.Equal(got, want) {
		t.Errorf("operations:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}

	list := d.Paths["/items"]["get"]
	var params []string
	for _, p := range list.Parameters {
		params = append(params, p.Name+":"+p.In+":"+typeOf(p.Schema))
	}
	wantParams := []string{
		"skip:query:integer", "limit:query:integer", "sort:query:string", "cursor:query:string", "fields:query:string",
		"id:query:integer", "id__ne:query:integer", "id__gt:query:integer", "id__gte:query:integer", "id__lt:query:integer", "id__lte:query:integer", "id__in:query:string",
		"id__nin:query:string",
		"name:query:string", "name__ne:query:string", "name__in:query:string", "name__like:query:string", "name__ilike:query:string",
		"name__nin:query:string", "name__contains:query:string", "name__icontains:query:string", "name__startswith:query:string",
		"name__istartswith:query:string", "name__endswith:query:string", "name__iendswith:query:string",
		"price:query:number", "price__ne:query:number", "price__gt:query:number", "price__gte:query:number", "price__lt:query:number", "price__lte:query:number", "price__in:query:string",
		"price__nin:query:string",
		"stock:query:integer", "stock__ne:query:integer", "stock__gt:query:integer", "stock__gte:query:integer", "stock__lt:query:integer", "stock__lte:query:integer", "stock__in:query:string",
		"stock__nin:query:string",
		"active:query:boolean", "active__ne:query:boolean", "active__in:query:string",
		"active__nin:query:string",
		"note:query:string", "note__ne:query:string", "note__in:query:string", "note__like:query:string", "note__ilike:query:string",
		"note__nin:query:string", "note__contains:query:string", "note__icontains:query:string", "note__startswith:query:string",
		"note__istartswith:query:string", "note__endswith:query:string", "note__iendswith:query:string", "note__isnull:query:boolean",
		"or:query:object", "If-None-Match:header:string",
	}
	if !slices.Equal(params, wantParams) {
		t.Errorf("list parameters:\n%v\nwant\n%v", params, wantParams)
	}
	if got := keys(list.Responses); !slices.Equal(got, []string{"200", "304", "422", "503"}) {
		t.Errorf("list responses %v", got)
	}
	if h, ok := list.Responses["200"].Headers["X-Total-Count"]; !ok || h.Schema["type"] != "integer" {
		t.Errorf("list has no X-Total-Count header: %+v", list.Responses["200"])
	}
	if ref := list.Responses["200"].Content["application/json"].Schema["items"]; ref.(map[string]any)["$ref"] != "#/components/schemas/Item" {
		t.Errorf("list items: %v", ref)
	}
	// The list answers [] when nothing matches, never null.
	if typ := list.Responses["200"].Content["application/json"].Schema["type"]; typ != "array" {
		t.Errorf("list type %v, want array", typ)
	}

	bodies := map[string]string{
		"POST /items": "ItemCreate", "PUT /items/{id}": "ItemUpdate", "PATCH /items/{id}": "ItemPatch",
		"POST /tasks": "TaskCreate", "PUT /tasks/{id}": "TaskUpdate", "PATCH /tasks/{id}": "TaskPatch",
	}
	for route, schema := range bodies {
		method, path, _ := strings.Cut(route, " ")
		op := d.Paths[path][strings.ToLower(method)]
		if op.RequestBody == nil || op.RequestBody.Content["application/json"].Schema["$ref"] != "#/components/schemas/"+schema {
			t.Errorf("%s: body is not %s", route, schema)
		}
	}
	errs := map[string][]string{
		"post /items":        {"201", "409", "413", "415", "422", "503"},
		"get /items/{id}":    {"200", "304", "404", "422", "503"},
		"put /items/{id}":    {"200", "404", "409", "412", "413", "415", "422", "503"},
		"patch /items/{id}":  {"200", "404", "409", "412", "413", "415", "422", "503"},
		"delete /items/{id}": {"200", "404", "409", "412", "422", "503"},
		"delete /tasks":      {"200", "409", "422", "503"},
		"get /tasks/{id}":    {"200", "304", "404", "422", "503"},
		"delete /tasks/{id}": {"200", "404", "409", "412", "422", "503"},
		"patch /tasks/{id}":  {"200", "404", "409", "412", "413", "415", "422", "503"},
		"post /tasks":        {"201", "409", "413", "415", "422", "503"},
		"put /tasks/{id}":    {"200", "404", "409", "412", "413", "415", "422", "503"},
		"get /tasks":         {"200", "304", "422", "503"},
		"get /items":         {"200", "304", "422", "503"},
	}
	for route, want := range errs {
		method, path, _ := strings.Cut(route, " ")
		if got := keys(d.Paths[path][method].Responses); !slices.Equal(got, want) {
			t.Errorf("%s responses %v, want %v", route, got, want)
		}
	}

	schemas := d.Components.Schemas
	for name, want := range map[string][]string{
		"Item":       {"active", "id", "name", "note", "price", "stock"},
		"ItemCreate": {"active", "name", "note", "price", "stock"},
		"ItemPatch":  {"active", "name", "note", "price", "stock"},
		"Task":       {"created_at", "deleted_at", "done", "id", "owner", "title", "updated_at"},
		"TaskCreate": {"done", "title"},
		"TaskUpdate": {"done", "title"},
		"TaskPatch":  {"done", "title"},
	} {
		if got := keys(schemas[name].Properties); !slices.Equal(got, want) {
			t.Errorf("%s properties %v, want %v", name, got, want)
		}
	}
	if got := schemas["ItemCreate"].Required; !slices.Equal(got, []string{"name"}) {
		t.Errorf("ItemCreate required %v", got)
	}
	if got := schemas["ItemPatch"].Required; len(got) != 0 {
		t.Errorf("ItemPatch required %v, want none", got)
	}
	if ref := schemas["Task"].Properties["deleted_at"].(map[string]any)["$ref"]; ref != "#/components/schemas/DeletionTime" {
		t.Errorf("deleted_at is documented as %v", ref)
	}

	if da := schemas["DeletionTime"]; typeOf(map[string]any{"type": da.Type}) != "null|string" || da.Format != "date-time" {
		t.Errorf("DeletionTime is %+v", da)
	}

	var deleted []string
	for path, ops := range d.Paths {
		for method, op := range ops {
			for _, p := range op.Parameters {
				if p.Name == "include_deleted" {
					deleted = append(deleted, method+" "+path)
				}
			}
		}
	}
	sort.Strings(deleted)
	if !slices.Equal(deleted, []string{"get /tasks", "get /tasks/{id}"}) {
		t.Errorf("include_deleted is on %v", deleted)
	}
	var getParams []string
	for _, p := range d.Paths["/items/{id}"]["get"].Parameters {
		getParams = append(getParams, p.Name+":"+p.In+":"+typeOf(p.Schema))
	}
	if want := []string{"fields:query:string", "id:path:integer", "If-None-Match:header:string"}; !slices.Equal(getParams, want) {
		t.Errorf("read parameters %v, want %v", getParams, want)
	}
}

func typeOf(s map[string]any) string {
	switch t := s["type"].(type) {
	case string:
		return t
	case []any:
		var parts []string
		for _, p := range t {
			parts = append(parts, p.(string))
		}
		sort.Strings(parts)
		return strings.Join(parts, "|")
	}
	return ""
}

// TestTwoRouters checks that routers of several models, and of one model
// twice, live in one app without colliding operation IDs or schemas.
func TestTwoRouters(t *testing.T) {
	type Item struct { // another Item, in another scope
		ID    uint   `json:"id" gorm:"primaryKey"`
		Label string `json:"label"`
	}
	db := testkit.SQLite(t, nil)
	s := serve(t, db,
		easy.CRUDRouter[Task](),
		crud.New[Task](crud.Prefix("/archive"), crud.Name("archived_task", "archived_tasks"), crud.Only(crud.ListRoute, crud.GetRoute)),
		easy.CRUDRouter[Item](crud.Prefix("/labels"), crud.Name("label", "labels"), crud.SchemaName("Label"), crud.Tags("labels")),
	)
	d := s.spec()
	want := []string{
		"DELETE /labels/{id} delete_label",
		"DELETE /tasks/{id} delete_task",
		"GET /archive list_archived_tasks",
		"GET /archive/{id} get_archived_task",
		"GET /labels list_labels",
		"GET /labels/{id} get_label",
		"GET /tasks list_tasks",
		"GET /tasks/{id} get_task",
		"PATCH /labels/{id} update_label",
		"PATCH /tasks/{id} update_task",
		"POST /labels create_label",
		"POST /tasks create_task",
		"PUT /labels/{id} replace_label",
		"PUT /tasks/{id} replace_task",
	}
	if got := d.operations(); !slices.Equal(got, want) {
		t.Errorf("operations:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if got := keys(d.Components.Schemas["LabelCreate"].Properties); !slices.Equal(got, []string{"label"}) {
		t.Errorf("LabelCreate %v", got)
	}
	s.expect("POST", "/labels", `{"label":"x"}`, 201, `{"id":1,"label":"x"}`)
	s.do("POST", "/tasks", `{"title":"t"}`)
	if res := s.do("GET", "/archive/1", ""); res.status != 200 {
		t.Errorf("archive read: %d %s", res.status, res.body)
	}
	s.expect("POST", "/archive", `{"title":"t"}`, 405, `{"detail":"Method Not Allowed"}`)

	t.Run("same names", func(t *testing.T) {
		app := easy.New(easy.DB(testkit.SQLite(t, nil)), easy.Logger(quietLogger()))
		app.Include(easy.CRUDRouter[Task]())
		defer func() {
			got, _ := recover().(string)
			if !strings.Contains(got, `operation ID "list_tasks" is taken by GET /tasks`) {
				t.Errorf("panic %q", got)
			}
		}()
		app.Include(easy.CRUDRouter[Task](crud.Prefix("/again")))
	})
	t.Run("same schema names", func(t *testing.T) {
		app := easy.New(easy.DB(testkit.SQLite(t, nil)), easy.Logger(quietLogger()))
		app.Include(easy.CRUDRouter[Task]())
		defer func() {
			got, _ := recover().(string)
			if !strings.Contains(got, "schema TaskCreate is already derived from crud_test.Task") || !strings.Contains(got, "crud.SchemaName") {
				t.Errorf("panic %q", got)
			}
		}()
		type Task struct {
			ID uint `json:"id" gorm:"primaryKey"`
		}
		app.Include(easy.CRUDRouter[Task](crud.Prefix("/other"), crud.Name("other", "others")))
	})
}

// TestSpecBatchAndConditional checks what the document says of a batch,
// of PATCH's two media types and of the conditional headers.
func TestSpecBatchAndConditional(t *testing.T) {
	s := serve(t, testkit.SQLite(t, nil), easy.CRUDRouter[Item](crud.Batch(), crud.MaxBatch(50), crud.Exclude(crud.ReplaceRoute)))
	res := s.do("GET", "/openapi.json", "")
	var d struct {
		Paths      map[string]map[string]json.RawMessage `json:"paths"`
		Components struct {
			Schemas map[string]json.RawMessage `json:"schemas"`
		} `json:"components"`
	}
	if err := json.Unmarshal([]byte(res.body), &d); err != nil {
		t.Fatal(err)
	}
	batch := string(d.Paths["/items/batch"]["post"])
	for _, want := range []string{`"operationId":"batch_items"`, `"$ref":"#/components/schemas/ItemBatch"`,
		`"items":{"$ref":"#/components/schemas/ItemBatchResult"}`, `"404"`, `"409"`, `"412"`, `"413"`, `"415"`, `"422"`, `"503"`} {
		if !strings.Contains(batch, want) {
			t.Errorf("POST /items/batch lacks %s: %s", want, batch)
		}
	}
	schemas := d.Components.Schemas
	wantSchemas := map[string]string{
		"ItemBatch":          `{"description":"Operations run in order in one transaction: all or nothing.","items":{"$ref":"#/components/schemas/ItemBatchOperation"},"maxItems":50,"type":"array"}`,
		"ItemBatchOperation": `{"discriminator":{"mapping":{"create":"#/components/schemas/ItemBatchCreate","delete":"#/components/schemas/ItemBatchDelete","update":"#/components/schemas/ItemBatchUpdate"},"propertyName":"op"},"oneOf":[{"$ref":"#/components/schemas/ItemBatchCreate"},{"$ref":"#/components/schemas/ItemBatchUpdate"},{"$ref":"#/components/schemas/ItemBatchDelete"}]}`,
		"ItemBatchCreate":    `{"description":"One create of a batch, as POST does it.","properties":{"body":{"$ref":"#/components/schemas/ItemCreate"},"op":{"enum":["create"],"type":"string"}},"required":["op","body"],"type":"object"}`,
		"ItemBatchDelete":    `{"description":"One delete of a batch, as DELETE does it.","properties":{"id":{"description":"The id of the item.","minimum":0,"type":"integer"},"if_match":{"description":"Do the operation only if the row's ETag is one of these entity tags, or * for any.","type":"string"},"op":{"enum":["delete"],"type":"string"}},"required":["op","id"],"type":"object"}`,
	}
	for name, want := range wantSchemas {
		if got := string(schemas[name]); got != want {
			t.Errorf("%s:\n got %s\nwant %s", name, got, want)
		}
	}
	if _, ok := schemas["ItemBatchReplace"]; ok {
		t.Error("a batch of a router without PUT documents replace")
	}
	patch := string(d.Paths["/items/{id}"]["patch"])
	for _, want := range []string{`"application/json":{"schema":{"$ref":"#/components/schemas/ItemPatch"}}`,
		`"application/merge-patch+json":{"schema":{"$ref":"#/components/schemas/ItemPatch"}}`, `"name":"If-Match","in":"header"`, `"412":`} {
		if !strings.Contains(patch, want) {
			t.Errorf("PATCH lacks %s: %s", want, patch)
		}
	}
	get := string(d.Paths["/items/{id}"]["get"])
	if !strings.Contains(get, `"304":{"description":"Not Modified","headers":{"ETag":`) {
		t.Errorf("GET has no 304 with an ETag: %s", get)
	}
}
