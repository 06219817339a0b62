package crud_test

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"testing"

	"gorm.io/gorm"

	"github.com/fastapi-easy/easy-go/easy"
	"github.com/fastapi-easy/easy-go/easy/crud"
	"github.com/fastapi-easy/easy-go/internal/testkit"
)

func requireToken(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer secret" {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusUnauthorized)
			w.Write([]byte(`{"detail":"Not authenticated"}`))
			return
		}
		next.ServeHTTP(w, r)
	})
}

// TestRouteOptions checks Exclude, Only, per-route middleware, operation
// IDs, tags and prefixes, on the App and in a Group.
func TestRouteOptions(t *testing.T) {
	db := testkit.SQLite(t, nil)
	app := easy.New(easy.DB(db), easy.Logger(quietLogger()))
	app.Include(easy.CRUDRouter[Item](
		crud.Exclude(crud.DeleteRoute, crud.ReplaceRoute),
		crud.RouteMiddleware(crud.CreateRoute, requireToken),
		crud.OperationID(crud.ListRoute, "all_items"),
		crud.Tags("shop"),
	))
	app.Group("/v1").Include(easy.CRUDRouter[Task](crud.Only(crud.ListRoute, crud.CreateRoute), crud.Prefix("/todo/")))
	s := &server{t: t, app: app, srv: newServer(t, app), db: db}

	s.expect("POST", "/items", `{"name":"a"}`, 401, `{"detail":"Not authenticated"}`)
	if res := s.doHeader("POST", "/items", `{"name":"a"}`, http.Header{"Authorization": {"Bearer secret"}}); res.status != 201 {
		t.Errorf("authorized create: %d %s", res.status, res.body)
	}
	s.expect("GET", "/items/1", "", 200, `{"id":1,"name":"a","price":0,"stock":0,"active":false,"note":null}`)
	s.expect("DELETE", "/items/1", "", 405, `{"detail":"Method Not Allowed"}`)
	s.expect("PUT", "/items/1", `{"name":"b"}`, 405, `{"detail":"Method Not Allowed"}`)
	if res := s.do("POST", "/v1/todo", `{"title":"t"}`); res.status != 201 {
		t.Errorf("group create: %d %s", res.status, res.body)
	}
	s.expect("GET", "/v1/todo/1", "", 404, `{"detail":"Not Found"}`)

	d := s.spec()
	want := []string{
		"GET /items all_items",
		"GET /items/{id} get_item",
		"GET /v1/todo list_tasks",
		"PATCH /items/{id} update_item",
		"POST /items create_item",
		"POST /v1/todo create_task",
	}
	if got := d.operations(); !slices.Equal(got, want) {
		t.Errorf("operations %v, want %v", got, want)
	}
	if tags := d.Paths["/items"]["get"].Tags; !slices.Equal(tags, []string{"shop"}) {
		t.Errorf("tags %v", tags)
	}
	if _, ok := d.Components.Schemas["ItemUpdate"]; ok {
		t.Errorf("ItemUpdate is documented without PUT")
	}
}

// NewItem is a custom create body: a name and a price in cents.
type NewItem struct {
	Title string `json:"title" required:"true" minLength:"1"`
	Cents int    `json:"cents" minimum:"0"`
}

// Rename is a custom replace body.
type Rename struct {
	Title string `json:"title" required:"true"`
}

// TestCustomInputs checks CreateInput and UpdateInput: bound and
// validated as their own types, documented under their names, converted
// into the row.
func TestCustomInputs(t *testing.T) {
	testkit.Each(t, nil, func(t *testing.T, db *gorm.DB) {
		s := serve(t, db, easy.CRUDRouter[Item]().
			CreateInput(crud.Convert(func(ctx context.Context, in *NewItem, item *Item) error {
				item.Name, item.Price = in.Title, float64(in.Cents)/100
				return nil
			})).
			UpdateInput(crud.Convert(func(ctx context.Context, in *Rename, item *Item) error {
				if in.Title == "nope" {
					return easy.BadRequest("Cannot rename to nope")
				}
				item.Name = in.Title
				return nil
			})))
		s.expect("POST", "/items", `{"title":"apple","cents":150}`, 201, `{"id":1,"name":"apple","price":1.5,"stock":0,"active":false,"note":null}`)
		s.expect("POST", "/items", `{"name":"apple"}`, 422, `{"detail":[{"type":"missing","loc":["body","title"],"msg":"Field required","input":{"name":"apple"}}]}`)
		s.expect("POST", "/items", `{"title":"apple","cents":1}`, 409, `{"detail":"Item with this name already exists"}`)
		s.expect("PUT", "/items/1", `{"title":"pear"}`, 200, `{"id":1,"name":"pear","price":1.5,"stock":0,"active":false,"note":null}`)
		s.expect("PUT", "/items/1", `{"title":"nope"}`, 400, `{"detail":"Cannot rename to nope"}`)
		s.expect("GET", "/items/1", "", 200, `{"id":1,"name":"pear","price":1.5,"stock":0,"active":false,"note":null}`)
		d := s.spec()
		if ref := d.Paths["/items"]["post"].RequestBody.Content["application/json"].Schema["$ref"]; ref != "#/components/schemas/NewItem" {
			t.Errorf("create body %v", ref)
		}
		if ref := d.Paths["/items/{id}"]["put"].RequestBody.Content["application/json"].Schema["$ref"]; ref != "#/components/schemas/Rename" {
			t.Errorf("replace body %v", ref)
		}
	})
}

// TestOptionMistakes checks that a wrong option panics at once.
func TestOptionMistakes(t *testing.T) {
	cases := []struct {
		name string
		opts []crud.Option
		want string
	}{
		{"route", []crud.Option{crud.Exclude("nope")}, `crud: Exclude: unknown route "nope"`},
		{"page", []crud.Option{crud.PageSize(10, 5)}, "crud: PageSize(10, 5): want 0 <= default <= max and max >= 1"},
		{"in", []crud.Option{crud.MaxInValues(0)}, "crud: MaxInValues(0): want at least 1"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			defer func() {
				if got, _ := recover().(string); !strings.Contains(got, c.want) {
					t.Errorf("panic %q, want %q", got, c.want)
				}
			}()
			crud.New[Item](c.opts...)
		})
	}
}

// TestUnknownFieldOptions checks that a router's ForbidUnknownFields and
// AllowUnknownFields win over its App's choice, either way.
func TestUnknownFieldOptions(t *testing.T) {
	const body = `{"title":"write","owner":"mallory"}`
	const forbidden = `{"detail":[{"type":"extra_forbidden","loc":["body","owner"],"msg":"Extra inputs are not permitted","input":"mallory"}]}`
	t.Run("app forbids", func(t *testing.T) {
		db := testkit.SQLite(t, nil)
		s := serveWith(t, db, []easy.Option{easy.ForbidUnknownFields()},
			easy.CRUDRouter[Task](),
			easy.CRUDRouter[Task](crud.Prefix("/lenient"), crud.Name("lenient_task", "lenient_tasks"), crud.AllowUnknownFields()))
		s.expect("POST", "/tasks", body, 422, forbidden)
		res := s.do("POST", "/lenient", body)
		if got := decode[Task](t, res.body); res.status != 201 || got.Title != "write" || got.Owner != "" {
			t.Errorf("create on the lenient router: %d %s", res.status, res.body)
		}
		if n := count(t, db, &Task{}); n != 1 {
			t.Errorf("rows = %d, want 1", n)
		}
	})
	t.Run("app allows", func(t *testing.T) {
		s := serve(t, testkit.SQLite(t, nil),
			easy.CRUDRouter[Task](),
			easy.CRUDRouter[Task](crud.Prefix("/strict"), crud.Name("strict_task", "strict_tasks"), crud.ForbidUnknownFields()),
			// The last of the two options counts.
			easy.CRUDRouter[Task](crud.Prefix("/undecided"), crud.Name("undecided_task", "undecided_tasks"),
				crud.AllowUnknownFields(), crud.ForbidUnknownFields()))
		if res := s.do("POST", "/tasks", body); res.status != 201 {
			t.Errorf("create: %d %s", res.status, res.body)
		}
		s.expect("POST", "/strict", body, 422, forbidden)
		s.expect("POST", "/undecided", body, 422, forbidden)
	})
}

// Parcel's Source is a column without a json tag: no client writes it,
// but a conversion may.
type Parcel struct {
	ID     uint   `json:"id" gorm:"primaryKey"`
	Name   string `json:"name"`
	Source string
}

type NewParcel struct {
	Name   string `json:"name" required:"true"`
	Source string `json:"source"`
}

// What a conversion writes into a column no client writes is checked as
// what a client writes is: a NUL reached PostgreSQL, a 500.
func TestAConversionsColumnsAreCheckedAsAClientsAre(t *testing.T) {
	convert := crud.Convert(func(ctx context.Context, in *NewParcel, p *Parcel) error {
		p.Name, p.Source = in.Name, in.Source
		return nil
	})
	nul := `{"detail":[{"type":"string_type","loc":["body","Source"],"msg":"Input should be a valid string without NUL characters","input":"x\u0000y"}]}`
	testkit.Each(t, nil, func(t *testing.T, db *gorm.DB) {
		s := serve(t, db, easy.CRUDRouter[Parcel]().CreateInput(convert).UpdateInput(convert))
		s.expect("POST", "/parcels", `{"name":"a","source":"x\u0000y"}`, 422, nul)
		s.expect("POST", "/parcels", `{"name":"a","source":"xy"}`, 201, `{"id":1,"name":"a","Source":"xy"}`)
		s.expect("PUT", "/parcels/1", `{"name":"b","source":"x\u0000y"}`, 422, nul)
		s.expect("GET", "/parcels/1", "", 200, `{"id":1,"name":"a","Source":"xy"}`)
	})
}
