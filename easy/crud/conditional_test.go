package crud_test

import (
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"

	"gorm.io/gorm"

	"github.com/fastapi-easy/easy-go/easy"
	"github.com/fastapi-easy/easy-go/easy/crud"
	"github.com/fastapi-easy/easy-go/internal/testkit"
)

// TestConditionalRequests walks a row through reads and writes with
// If-None-Match and If-Match, on each database, and checks every status,
// body and ETag exactly.
func TestConditionalRequests(t *testing.T) {
	testkit.Each(t, nil, func(t *testing.T, db *gorm.DB) {
		s := serve(t, db, easy.CRUDRouter[Item]())
		created := s.do("POST", "/items", `{"name":"apple","price":1}`)
		v1 := created.header.Get("ETag")
		if created.status != 201 || len(v1) != 24 || !strings.HasPrefix(v1, `"`) {
			t.Fatalf("create: %d ETag %q", created.status, v1)
		}
		h := func(kv ...string) http.Header {
			out := http.Header{}
			for i := 0; i < len(kv); i += 2 {
				out.Add(kv[i], kv[i+1])
			}
			return out
		}
		const row1 = `{"id":1,"name":"apple","price":1,"stock":0,"active":false,"note":null}`
		const changed = `{"detail":"Item has changed since the version If-Match names"}`
		steps := []struct {
			method, path, body string
			header             http.Header
			status             int
			want               string
			etag               string // "": none; "v1": the first version; "new": another
		}{
			{"GET", "/items/1", "", nil, 200, row1, "v1"},
			{"GET", "/items/1", "", h("If-None-Match", v1), 304, "", "v1"},
			{"GET", "/items/1", "", h("If-None-Match", "W/"+v1), 304, "", "v1"},
			{"GET", "/items/1", "", h("If-None-Match", `"other", `+v1), 304, "", "v1"},
			{"GET", "/items/1", "", h("If-None-Match", `"other"`, "If-None-Match", v1), 304, "", "v1"},
			{"GET", "/items/1", "", h("If-None-Match", "*"), 304, "", "v1"},
			{"GET", "/items/1", "", h("If-None-Match", `"other"`), 200, row1, "v1"},
			{"GET", "/items/1?fields=name", "", h("If-None-Match", v1), 304, "", "v1"},
			{"GET", "/items/9", "", h("If-None-Match", "*"), 404, `{"detail":"Item not found"}`, ""},
			{"GET", "/items/1", "", h("If-None-Match", "abc"), 422, `{"detail":[{"type":"etag_parsing","loc":["header","If-None-Match"],"msg":"Input should be * or a comma-separated list of entity tags, such as \"xyzzy\" or W/\"xyzzy\"","input":"abc"}]}`, ""},
			{"PUT", "/items/1", `{"name":"apple","price":2}`, h("If-Match", `"stale"`), 412, changed, "v1"},
			{"PUT", "/items/1", `{"name":"apple","price":2}`, h("If-Match", "W/"+v1), 412, changed, "v1"}, // If-Match compares strongly
			{"PATCH", "/items/1", `{"price":2}`, h("If-Match", `"stale", "other"`), 412, changed, "v1"},
			{"DELETE", "/items/1", "", h("If-Match", `"stale"`), 412, changed, "v1"},
			{"PATCH", "/items/1", `{"price":2}`, h("If-Match", "no quotes"), 422, `{"detail":[{"type":"etag_parsing","loc":["header","If-Match"],"msg":"Input should be * or a comma-separated list of entity tags, such as \"xyzzy\" or W/\"xyzzy\"","input":"no quotes"}]}`, ""},
			{"PATCH", "/items/x", `{"price":-2}`, h("If-Match", ","), 422, `{"detail":[{"type":"etag_parsing","loc":["header","If-Match"],"msg":"Input should be * or a comma-separated list of entity tags, such as \"xyzzy\" or W/\"xyzzy\"","input":","},{"type":"int_parsing","loc":["path","id"],"msg":"Input should be a valid integer, unable to parse string as an integer","input":"x"},{"type":"greater_than_equal","loc":["body","price"],"msg":"Input should be greater than or equal to 0","input":-2,"ctx":{"ge":0}}]}`, ""},
			{"PATCH", "/items/9", `{"price":2}`, h("If-Match", v1), 404, `{"detail":"Item not found"}`, ""},
			{"GET", "/items/1", "", nil, 200, row1, "v1"}, // nothing was written
			{"PATCH", "/items/1", `{"price":2}`, h("If-Match", `"other", `+v1), 200, `{"id":1,"name":"apple","price":2,"stock":0,"active":false,"note":null}`, "new"},
			{"GET", "/items/1", "", h("If-None-Match", v1), 200, `{"id":1,"name":"apple","price":2,"stock":0,"active":false,"note":null}`, "new"},
			{"PUT", "/items/1", `{"name":"apple","price":3}`, h("If-Match", v1), 412, changed, "new"},
			{"PUT", "/items/1", `{"name":"apple","price":3}`, h("If-Match", "*"), 200, `{"id":1,"name":"apple","price":3,"stock":0,"active":false,"note":null}`, "new"},
			{"DELETE", "/items/1", "", h("If-Match", "*"), 200, `{"id":1,"name":"apple","price":3,"stock":0,"active":false,"note":null}`, ""},
			{"DELETE", "/items/1", "", h("If-Match", "*"), 404, `{"detail":"Item not found"}`, ""},
		}
		last := v1
		for _, st := range steps {
			res := s.doHeader(st.method, st.path, st.body, st.header)
			if res.status != st.status || res.body != st.want {
				t.Errorf("%s %s %v\n got %d %s\nwant %d %s", st.method, st.path, st.header, res.status, res.body, st.status, st.want)
			}
			got := res.header.Get("ETag")
			switch st.etag {
			case "":
				if got != "" {
					t.Errorf("%s %s %v: ETag %q, want none", st.method, st.path, st.header, got)
				}
			case "v1":
				if got != v1 {
					t.Errorf("%s %s %v: ETag %q, want %q", st.method, st.path, st.header, got, v1)
				}
			case "new":
				if got == v1 || got == "" || res.status == 200 && st.method == "GET" && got != last {
					t.Errorf("%s %s %v: ETag %q after %q", st.method, st.path, st.header, got, last)
				}
				last = got
			}
			if st.status == 304 && res.header.Get("Content-Type") != "" {
				t.Errorf("304 with Content-Type %q", res.header.Get("Content-Type"))
			}
		}
	})
}

// TestETagIsTheRowsVersion checks that a row's ETag is the same however
// it is read: in the answer of the write, by a read, from another App on
// the same database (another instance, or after a restart), and for a
// model with timestamps, which PostgreSQL keeps to the microsecond.
func TestETagIsTheRowsVersion(t *testing.T) {
	testkit.Each(t, nil, func(t *testing.T, db *gorm.DB) {
		s := serve(t, db, easy.CRUDRouter[Task]())
		other := serve(t, db, easy.CRUDRouter[Task]())
		created := s.do("POST", "/tasks", `{"title":"write"}`)
		tag := created.header.Get("ETag")
		for _, srv := range []*server{s, other} {
			if got := srv.do("GET", "/tasks/1", "").header.Get("ETag"); got != tag {
				t.Errorf("read ETag %q, create said %q", got, tag)
			}
		}
		patched := other.doHeader("PATCH", "/tasks/1", `{"done":true}`, http.Header{"If-Match": {tag}})
		if patched.status != 200 || patched.header.Get("ETag") == tag {
			t.Fatalf("patch with the create's ETag: %d %s %q", patched.status, patched.body, patched.header.Get("ETag"))
		}
		tag = patched.header.Get("ETag")
		if got := s.do("GET", "/tasks/1", "").header.Get("ETag"); got != tag {
			t.Errorf("read ETag %q, patch said %q", got, tag)
		}
		if res := s.doHeader("PUT", "/tasks/1", `{"title":"again"}`, http.Header{"If-Match": {tag}}); res.status != 200 {
			t.Errorf("put with the patch's ETag: %d %s", res.status, res.body)
		}
	})
}

// TestIfMatchRace has writers race to change one row, each with the ETag
// they read, on each database: in every round exactly one wins and the
// others get 412, so no update is lost.
func TestIfMatchRace(t *testing.T) {
	testkit.Each(t, nil, func(t *testing.T, db *gorm.DB) {
		s := serve(t, db, easy.CRUDRouter[Item]())
		s.do("POST", "/items", `{"name":"counter"}`)
		const writers, rounds = 6, 10
		for round := range rounds {
			tag := s.do("GET", "/items/1", "").header.Get("ETag")
			statuses := make([]int, writers)
			var wg sync.WaitGroup
			for i := range writers {
				wg.Go(func() {
					// Every write changes the row: a write that changes
					// nothing leaves its version, and If-Match, as it was.
					stock := strconv.Itoa(round*writers + i + 1)
					method, body := "PATCH", `{"stock":`+stock+`}`
					if i%2 == 1 {
						method, body = "PUT", `{"name":"counter","stock":`+stock+`}`
					}
					statuses[i] = s.doHeader(method, "/items/1", body, http.Header{"If-Match": {tag}}).status
				})
			}
			wg.Wait()
			won := 0
			for _, st := range statuses {
				switch st {
				case 200:
					won++
				case 412:
				default:
					t.Errorf("round %d: status %d", round, st)
				}
			}
			if won != 1 {
				t.Errorf("round %d: %d writers won with one ETag (%v)", round, won, statuses)
			}
		}
		// The same race to delete: one deletes, the others find a changed
		// row or none.
		tag := s.do("GET", "/items/1", "").header.Get("ETag")
		statuses := make([]int, writers)
		var wg sync.WaitGroup
		for i := range writers {
			wg.Go(func() {
				statuses[i] = s.doHeader("DELETE", "/items/1", "", http.Header{"If-Match": {tag}}).status
			})
		}
		wg.Wait()
		won := 0
		for _, st := range statuses {
			if st == 200 {
				won++
			} else if st != 404 {
				t.Errorf("delete race: status %d", st)
			}
		}
		if won != 1 {
			t.Errorf("%d deletes won (%v)", won, statuses)
		}
	})
}

// TestListETag checks the weak ETag of a list: 304 while the page is the
// same, 200 once a row changes.
func TestListETag(t *testing.T) {
	testkit.Each(t, nil, func(t *testing.T, db *gorm.DB) {
		s := serve(t, db, easy.CRUDRouter[Item]())
		seedItems(t, db)
		first := s.do("GET", "/items?limit=2", "")
		tag := first.header.Get("ETag")
		if !strings.HasPrefix(tag, `W/"`) {
			t.Fatalf("list ETag %q is not weak", tag)
		}
		res := s.doHeader("GET", "/items?limit=2", "", http.Header{"If-None-Match": {tag}})
		if res.status != 304 || res.body != "" || res.header.Get("ETag") != tag || res.header.Get("X-Total-Count") != "" {
			t.Errorf("unchanged page: %d %q %v", res.status, res.body, res.header)
		}
		s.do("PATCH", "/items/2", `{"stock":9}`)
		if res := s.doHeader("GET", "/items?limit=2", "", http.Header{"If-None-Match": {tag}}); res.status != 200 || res.header.Get("ETag") == tag {
			t.Errorf("changed page: %d %v", res.status, res.header)
		}
		// A row past the page changes the count, and so the page.
		tag = s.do("GET", "/items?limit=2", "").header.Get("ETag")
		s.do("POST", "/items", `{"name":"fig"}`)
		if res := s.doHeader("GET", "/items?limit=2", "", http.Header{"If-None-Match": {tag}}); res.status != 200 {
			t.Errorf("a row was added: %d", res.status)
		}
	})
}

// Ledger has columns the database stores in a form of its own: a numeric
// that PostgreSQL rounds, a point it writes with parentheses, and a string
// in an integer column, which either database stores as a number.
type Ledger struct {
	ID     uint    `json:"id" gorm:"primaryKey"`
	Amount float64 `json:"amount" gorm:"type:numeric(10,2)"`
	Spot   string  `json:"spot" gorm:"type:point"`
	Code   string  `json:"code" gorm:"type:integer"`
}

// A write answers the row as the database stored it, with that row's
// entity tag: the one a GET then gives, so that an If-Match with it
// succeeds. It answered the values the client sent, and their tag, which
// the next conditional write refused with 412.
func TestAWriteAnswersTheRowAsStored(t *testing.T) {
	testkit.Each(t, nil, func(t *testing.T, db *gorm.DB) {
		s := serve(t, db, easy.CRUDRouter[Ledger](crud.Batch()))
		sameAsGET := func(what string, w response, path string) {
			t.Helper()
			r := s.do("GET", path, "")
			if w.body != r.body || w.header.Get("ETag") != r.header.Get("ETag") {
				t.Errorf("%s answered %s (ETag %s); GET %s then %s (ETag %s)", what, w.body, w.header.Get("ETag"), path, r.body, r.header.Get("ETag"))
			}
		}
		created := s.do("POST", "/ledgers", `{"amount":1.234,"spot":"1,2","code":"007"}`)
		if created.status != 201 {
			t.Fatalf("POST: %d %s", created.status, created.body)
		}
		sameAsGET("POST", created, "/ledgers/1")
		patched := s.doHeader("PATCH", "/ledgers/1", `{"amount":2.345,"spot":"3,4"}`, http.Header{"If-Match": {created.header.Get("ETag")}})
		if patched.status != 200 {
			t.Fatalf("PATCH with the POST's ETag: %d %s", patched.status, patched.body)
		}
		sameAsGET("PATCH", patched, "/ledgers/1")
		put := s.doHeader("PUT", "/ledgers/1", `{"amount":3.456,"spot":"5,6","code":"08"}`, http.Header{"If-Match": {patched.header.Get("ETag")}})
		if put.status != 200 {
			t.Fatalf("PUT with the PATCH's ETag: %d %s", put.status, put.body)
		}
		sameAsGET("PUT", put, "/ledgers/1")

		// A batch's creates go in together; each answers its stored row.
		res := s.do("POST", "/ledgers/batch", `[{"op":"create","body":{"amount":4.567,"spot":"7,8","code":"009"}},`+
			`{"op":"update","id":1,"body":{"amount":5.678}}]`)
		if res.status != 200 {
			t.Fatalf("batch: %d %s", res.status, res.body)
		}
		for i, r := range decode[[]result](t, res.body) {
			path := "/ledgers/" + strconv.Itoa(2-i) // the create made row 2; the update changed row 1
			sameAsGET("the batch's "+r.Op, response{body: string(r.Body), header: http.Header{"Etag": {r.ETag}}}, path)
		}
	})
}
