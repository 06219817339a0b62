package easy_test

import (
	"encoding/json"
	"log/slog"
	"net/http"
	"path/filepath"
	"testing"

	"gorm.io/gorm"

	"github.com/fastapi-easy/easy-go/easy"
	"github.com/fastapi-easy/easy-go/easy/crud"
	"github.com/fastapi-easy/easy-go/internal/testkit"
)

// crudItem is the model of the README.
type crudItem struct {
	ID    uint    `json:"id" gorm:"primaryKey"`
	Name  string  `json:"name" required:"true" minLength:"1"`
	Price float64 `json:"price" minimum:"0"`
}

func (crudItem) TableName() string { return "items" }

func (crudItem) SchemaName() string { return "Item" }

// TestCRUDRouterEndToEnd runs the README's program: an App on the
// database DATABASE_URL names, CRUDRouter[Item] included, driven over
// HTTP.
func TestCRUDRouterEndToEnd(t *testing.T) {
	t.Setenv("DATABASE_URL", "sqlite:"+filepath.Join(t.TempDir(), "easy.db"))
	app := easy.New(easy.Logger(slog.New(slog.DiscardHandler)))
	app.Include(easy.CRUDRouter[crudItem]())
	srv := testkit.Serve(t, app)
	defer app.Close(t.Context())

	steps := []struct {
		method, path, body string
		status             int
		want               string
	}{
		{"POST", "/items", `{"name":"apple","price":10.5}`, 201, `{"id":1,"name":"apple","price":10.5}`},
		{"POST", "/items", `{"name":"","price":-1}`, 422, `{"detail":[{"type":"string_too_short","loc":["body","name"],"msg":"String should have at least 1 character","input":"","ctx":{"min_length":1}},{"type":"greater_than_equal","loc":["body","price"],"msg":"Input should be greater than or equal to 0","input":-1,"ctx":{"ge":0}}]}`},
		{"GET", "/items?name__ilike=APP", "", 200, `[{"id":1,"name":"apple","price":10.5}]`},
		{"PUT", "/items/1", `{"name":"orange","price":12}`, 200, `{"id":1,"name":"orange","price":12}`},
		{"PATCH", "/items/1", `{"price":0}`, 200, `{"id":1,"name":"orange","price":0}`},
		{"DELETE", "/items/1", "", 200, `{"id":1,"name":"orange","price":0}`},
		{"GET", "/items/1", "", 404, `{"detail":"Item not found"}`},
		{"GET", "/items?sort=" + "name%3BDROP%20TABLE%20items", "", 422, `{"detail":[{"type":"sort_field","loc":["query","sort"],"msg":"Cannot sort by \"name;DROP TABLE items\": use a comma-separated list of id, name, price, each with - in front to sort descending","input":"name;DROP TABLE items"}]}`},
		{"GET", "/items", "", 200, `[]`},
	}
	for _, s := range steps {
		testkit.Do(t, srv, s.method, s.path, s.body).Expect(t, s.status, s.want)
	}

	res := testkit.Do(t, srv, "GET", "/openapi.json", "")
	var spec struct {
		Paths map[string]map[string]struct {
			OperationID string `json:"operationId"`
		} `json:"paths"`
		Components struct {
			Schemas map[string]json.RawMessage `json:"schemas"`
		} `json:"components"`
	}
	if err := json.Unmarshal([]byte(res.Body), &spec); res.Status != 200 || err != nil {
		t.Fatalf("spec: %d %v", res.Status, err)
	}
	for path, ops := range map[string]map[string]string{
		"/items":      {"get": "list_items", "post": "create_item"},
		"/items/{id}": {"get": "get_item", "put": "replace_item", "patch": "update_item", "delete": "delete_item"},
	} {
		for method, id := range ops {
			if got := spec.Paths[path][method].OperationID; got != id {
				t.Errorf("%s %s: operation ID %q, want %q", method, path, got, id)
			}
		}
	}
	for _, name := range []string{"Item", "ItemCreate", "ItemUpdate", "ItemPatch", "HTTPError", "HTTPValidationError"} {
		if _, ok := spec.Components.Schemas[name]; !ok {
			t.Errorf("no schema %s", name)
		}
	}
}

// TestCRUDRouterInGroup includes routers in a Group, on each database: the
// group's prefix and middleware apply, and the App's forbid-unknown option
// reaches the router.
func TestCRUDRouterInGroup(t *testing.T) {
	testkit.Each(t, nil, func(t *testing.T, db *gorm.DB) {
		app := easy.New(easy.DB(db), easy.Logger(slog.New(slog.DiscardHandler)), easy.ForbidUnknownFields())
		seen := 0
		api := app.Group("/api", easy.Middleware(func(next http.Handler) http.Handler {
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { seen++; next.ServeHTTP(w, r) })
		}))
		api.Include(easy.CRUDRouter[crudItem](crud.DeleteAll()))
		srv := testkit.Serve(t, app)
		testkit.Do(t, srv, "POST", "/api/items", `{"name":"a","id":3}`).
			Expect(t, 422, `{"detail":[{"type":"extra_forbidden","loc":["body","id"],"msg":"Extra inputs are not permitted","input":3}]}`)
		testkit.Do(t, srv, "POST", "/api/items", `{"name":"a"}`)
		testkit.Do(t, srv, "DELETE", "/api/items", "").Expect(t, 200, `{"deleted":1}`)
		if seen != 3 {
			t.Errorf("group middleware ran %d times, want 3", seen)
		}
	})
}

// TestCRUDRouterFollowsGroupUnknownFields checks that a router included in
// a Group refuses unknown body properties as the group says, whatever the
// App says.
func TestCRUDRouterFollowsGroupUnknownFields(t *testing.T) {
	for _, c := range []struct {
		app, group easy.SharedOption
		status     int
		body       string
	}{
		{easy.AllowUnknownFields(), easy.ForbidUnknownFields(), 422,
			`{"detail":[{"type":"extra_forbidden","loc":["body","colour"],"msg":"Extra inputs are not permitted","input":"red"}]}`},
		{easy.ForbidUnknownFields(), easy.AllowUnknownFields(), 201, `{"id":1,"name":"a","price":0}`},
	} {
		app := easy.New(easy.DB(testkit.SQLite(t, nil)), easy.Logger(slog.New(slog.DiscardHandler)), c.app)
		app.Group("/api", c.group).Include(easy.CRUDRouter[crudItem]())
		testkit.Do(t, testkit.Serve(t, app), "POST", "/api/items", `{"name":"a","colour":"red"}`).Expect(t, c.status, c.body)
	}
}

// itemsApp is an App with the CRUD routes of crudItem on a database of
// its own, which the test reads to see what was written.
func itemsApp(t *testing.T, opts ...easy.Option) (*easy.App, *gorm.DB) {
	t.Helper()
	db := testkit.SQLite(t, nil)
	app := easy.New(append([]easy.Option{easy.DB(db), easy.Logger(slog.New(slog.DiscardHandler))}, opts...)...)
	app.Include(easy.CRUDRouter[crudItem]())
	return app, db
}

// countItems returns the rows of the items table.
func countItems(t *testing.T, db *gorm.DB) int64 {
	t.Helper()
	var n int64
	if err := db.Model(&crudItem{}).Count(&n).Error; err != nil {
		t.Fatal(err)
	}
	return n
}
