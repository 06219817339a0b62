package crud_test

import (
	"log/slog"
	"testing"

	"gorm.io/gorm"

	"github.com/fastapi-easy/easy-go/easy"
	"github.com/fastapi-easy/easy-go/easy/crud"
	"github.com/fastapi-easy/easy-go/internal/testkit"
	"github.com/fastapi-easy/easy-go/internal/thirdparty/spectest"
)

// TestBatchConditionalCursorMatchSpec checks the answers of batches,
// conditional requests, cursor pages, merge patches, the new filters
// and field selection against the document, with the third-party
// validator, on each database.
func TestBatchConditionalCursorMatchSpec(t *testing.T) {
	testkit.Each(t, nil, func(t *testing.T, db *gorm.DB) {
		app := easy.New(easy.DB(db), easy.Logger(slog.New(slog.DiscardHandler)))
		app.Include(easy.CRUDRouter[Item](crud.Batch()), easy.CRUDRouter[Task](crud.Batch(), crud.IncludeDeleted()))
		srv := testkit.Serve(t, app)
		v, _ := spectest.Fetch(t, srv.URL+"/openapi.json")
		check := func(want int, method, path, body string, header ...string) testkit.Response {
			t.Helper()
			res := testkit.Do(t, srv, method, path, body, header...)
			if res.HTTP.StatusCode != want {
				t.Errorf("%s %s: %d %s, want %d", method, path, res.HTTP.StatusCode, res.Body, want)
			}
			v.Response(t, res.Request, res.HTTP, []byte(res.Body))
			return res
		}
		check(200, "POST", "/items/batch", `[{"op":"create","body":{"name":"apple","price":1}},{"op":"create","body":{"name":"pear","note":"x"}},`+
			`{"op":"create","body":{"name":"plum"}},{"op":"update","id":1,"body":{"stock":3}},{"op":"replace","id":2,"body":{"name":"pear"}},{"op":"delete","id":3}]`)
		check(422, "POST", "/items/batch", `[{"op":"create","body":{"name":""}},{"op":"nope"}]`)
		check(404, "POST", "/items/batch", `[{"op":"delete","id":99}]`)
		check(409, "POST", "/items/batch", `[{"op":"create","body":{"name":"apple"}}]`)
		check(412, "POST", "/items/batch", `[{"op":"update","id":1,"body":{},"if_match":"\"stale\""}]`)
		check(200, "POST", "/tasks/batch", `[{"op":"create","body":{"title":"t"}},{"op":"delete","id":1}]`)

		tag := check(200, "GET", "/items/1", "").HTTP.Header.Get("ETag")
		check(304, "GET", "/items/1", "", "If-None-Match", tag)
		check(422, "GET", "/items/1", "", "If-None-Match", "nope")
		check(412, "PUT", "/items/1", `{"name":"apple"}`, "If-Match", `"stale"`)
		check(412, "DELETE", "/items/1", "", "If-Match", `"stale"`)
		tag = check(200, "PATCH", "/items/1", `{"price":2}`, "If-Match", tag).HTTP.Header.Get("ETag")
		check(200, "PATCH", "/items/1", `{"note":null}`, "Content-Type", "application/merge-patch+json", "If-Match", tag)
		check(422, "PATCH", "/items/1", `{"name":null}`, "Content-Type", "application/merge-patch+json")

		list := check(200, "GET", "/items?limit=1&sort=-price&or[note__isnull]=true&or[name__istartswith]=P", "")
		check(200, "GET", "/items?limit=1&sort=-price&or[note__isnull]=true&or[name__istartswith]=P&cursor="+list.HTTP.Header.Get("X-Next-Cursor"), "")
		check(304, "GET", "/items?limit=1&sort=-price&or[note__isnull]=true&or[name__istartswith]=P", "", "If-None-Match", list.HTTP.Header.Get("ETag"))
		check(422, "GET", "/items?cursor=forged", "")
		check(200, "GET", "/items?fields=id,name&name__nin=x,y", "")
		check(200, "GET", "/items/1?fields=name", "")
		check(422, "GET", "/items?fields=nope", "")
		check(200, "GET", "/tasks?include_deleted=true&title__endswith=t", "")
	})
}
