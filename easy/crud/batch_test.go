package crud_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"

	"gorm.io/gorm"

	"github.com/fastapi-easy/easy-go/easy"
	"github.com/fastapi-easy/easy-go/easy/crud"
	"github.com/fastapi-easy/easy-go/easy/query"
	"github.com/fastapi-easy/easy-go/easy/security"
	"github.com/fastapi-easy/easy-go/internal/capture"
	"github.com/fastapi-easy/easy-go/internal/testkit"
)

// events records the committed changes of a database, as the realtime
// endpoints get them.
type events struct {
	mu  sync.Mutex
	got []string
}

func watch(t *testing.T, db *gorm.DB, models ...any) *events {
	t.Helper()
	e := &events{}
	if _, err := capture.Watch(db, func(changes []capture.Change) {
		e.mu.Lock()
		defer e.mu.Unlock()
		for _, ch := range changes {
			e.got = append(e.got, fmt.Sprintf("%s %v", ch.Op, ch.Key))
		}
	}, models...); err != nil {
		t.Fatal(err)
	}
	return e
}

// take returns the events so far and forgets them.
func (e *events) take() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	out := e.got
	e.got = nil
	return out
}

// result is one entry of a batch's answer.
type result struct {
	Op     string          `json:"op"`
	Status int             `json:"status"`
	ETag   string          `json:"etag"`
	Body   json.RawMessage `json:"body"`
}

// TestBatch runs batches that succeed and batches whose third of five
// operations fails, in each way one can, on each database: a failed batch
// writes nothing and publishes no event, and its answer is exact.
func TestBatch(t *testing.T) {
	testkit.Each(t, nil, func(t *testing.T, db *gorm.DB) {
		ev := watch(t, db, &Item{})
		s := serve(t, db, easy.CRUDRouter[Item](crud.Batch()))
		seedItems(t, db) // 1 apple, 2 banana, 3 cherry, 4 pie Apple, 5 date
		ev.take()

		res := s.do("POST", "/items/batch", `[
			{"op":"create","body":{"name":"fig","price":3}},
			{"op":"update","id":1,"body":{"price":2,"note":null}},
			{"op":"replace","id":2,"body":{"name":"banana","price":1,"stock":4}},
			{"op":"delete","id":3},
			{"op":"create","body":{"name":"kiwi"}}
		]`)
		if res.status != 200 {
			t.Fatalf("batch: %d %s", res.status, res.body)
		}
		results := decode[[]result](t, res.body)
		want := []struct {
			op     string
			status int
			body   string
		}{
			{"create", 201, `{"id":6,"name":"fig","price":3,"stock":0,"active":false,"note":null}`},
			{"update", 200, `{"id":1,"name":"apple","price":2,"stock":10,"active":true,"note":null}`},
			{"replace", 200, `{"id":2,"name":"banana","price":1,"stock":4,"active":false,"note":null}`},
			{"delete", 200, `{"id":3,"name":"cherry","price":10,"stock":5,"active":true,"note":"50% off"}`},
			{"create", 201, `{"id":7,"name":"kiwi","price":0,"stock":0,"active":false,"note":null}`},
		}
		if len(results) != len(want) {
			t.Fatalf("%d results: %s", len(results), res.body)
		}
		for i, w := range want {
			got := results[i]
			if got.Op != w.op || got.Status != w.status || string(got.Body) != w.body {
				t.Errorf("result %d: %s %d %s, want %s %d %s", i, got.Op, got.Status, got.Body, w.op, w.status, w.body)
			}
			var id struct{ ID uint }
			json.Unmarshal(got.Body, &id)
			if w.op == "delete" {
				if got.ETag != "" {
					t.Errorf("result %d: a delete has ETag %q", i, got.ETag)
				}
			} else if etag := s.do("GET", fmt.Sprintf("/items/%d", id.ID), "").header.Get("ETag"); got.ETag != etag {
				t.Errorf("result %d: ETag %q, a read says %q", i, got.ETag, etag)
			}
		}
		if got, want := ev.take(), []string{"create 6", "update 1", "update 2", "delete 3", "create 7"}; !slices.Equal(got, want) {
			t.Errorf("events %v, want %v", got, want)
		}

		before := s.do("GET", "/items?limit=100", "").body
		// The third of five operations fails, each way one can: nothing is
		// written and no event is sent.
		ops := func(third string) string {
			return `[{"op":"create","body":{"name":"lime"}},{"op":"update","id":1,"body":{"stock":1}},` + third +
				`,{"op":"delete","id":2},{"op":"create","body":{"name":"plum"}}]`
		}
		failures := []struct {
			third  string
			status int
			want   string
		}{
			{`{"op":"update","id":4,"body":{"price":-1}}`, 422,
				`{"detail":[{"type":"greater_than_equal","loc":["body",2,"body","price"],"msg":"Input should be greater than or equal to 0","input":-1,"ctx":{"ge":0}}]}`},
			{`{"op":"update","id":99,"body":{"price":1}}`, 404, `{"detail":"Operation 2: Item not found"}`},
			{`{"op":"create","body":{"name":"apple"}}`, 409, `{"detail":"Operation 2: Item with this name already exists"}`},
			{`{"op":"create","body":{"name":"lime"}}`, 409, `{"detail":"Operation 2: Item with this name already exists"}`}, // the batch's own first row
			{`{"op":"delete","id":3}`, 404, `{"detail":"Operation 2: Item not found"}`},
			{`{"op":"replace","id":4,"body":{"name":"pie Apple"},"if_match":"\"stale\""}`, 412, `{"detail":"Operation 2: Item has changed since the version If-Match names"}`},
			{`{"op":"replace","id":"4","body":{"name":"x"}}`, 422,
				`{"detail":[{"type":"int_type","loc":["body",2,"id"],"msg":"Input should be a valid integer","input":"4"}]}`},
			{`{"op":"upsert","id":4}`, 422,
				`{"detail":[{"type":"enum","loc":["body",2,"op"],"msg":"Input should be 'create', 'replace', 'update' or 'delete'","input":"upsert","ctx":{"expected":"'create', 'replace', 'update' or 'delete'"}}]}`},
			{`{"op":"update","body":{"price":1}}`, 422,
				`{"detail":[{"type":"missing","loc":["body",2,"id"],"msg":"Field required","input":{"body":{"price":1},"op":"update"}}]}`},
			{`{"op":"replace","id":4}`, 422,
				`{"detail":[{"type":"missing","loc":["body",2,"body"],"msg":"Field required","input":{"id":4,"op":"replace"}}]}`},
			{`{"op":"create","body":[1]}`, 422,
				`{"detail":[{"type":"model_attributes_type","loc":["body",2,"body"],"msg":"Input should be a valid dictionary or object to extract fields from","input":[1]}]}`},
			{`{"op":"delete","id":4,"if_match":"no quotes"}`, 422,
				`{"detail":[{"type":"etag_parsing","loc":["body",2,"if_match"],"msg":"Input should be * or a comma-separated list of entity tags, such as \"xyzzy\" or W/\"xyzzy\"","input":"no quotes"}]}`},
			{`"create"`, 422,
				`{"detail":[{"type":"model_attributes_type","loc":["body",2],"msg":"Input should be a valid dictionary or object to extract fields from","input":"create"}]}`},
			{`{"op":"create","body":{"name":"a\u0000b","price":"x"}}`, 422,
				`{"detail":[{"type":"float_type","loc":["body",2,"body","price"],"msg":"Input should be a valid number","input":"x"}]}`},
			{`{"op":"create","body":{"name":"a\u0000b"}}`, 422,
				`{"detail":[{"type":"string_type","loc":["body",2,"body","name"],"msg":"Input should be a valid string without NUL characters","input":"a\u0000b"}]}`},
		}
		for _, f := range failures {
			s.expect("POST", "/items/batch", ops(f.third), f.status, f.want)
			if got := ev.take(); len(got) > 0 {
				t.Errorf("%s: events %v", f.third, got)
			}
		}
		// Creates in a row go in one statement; when it fails, the failing
		// one is still named.
		for _, third := range []string{"apple", "x0"} {
			s.expect("POST", "/items/batch", `[{"op":"create","body":{"name":"x0"}},{"op":"create","body":{"name":"x1"}},`+
				`{"op":"create","body":{"name":"`+third+`"}},{"op":"create","body":{"name":"x3"}},{"op":"create","body":{"name":"x4"}}]`,
				409, `{"detail":"Operation 2: Item with this name already exists"}`)
			if got := ev.take(); len(got) > 0 {
				t.Errorf("creates with %s: events %v", third, got)
			}
		}
		if after := s.do("GET", "/items?limit=100", "").body; after != before {
			t.Errorf("failed batches wrote:\n%s\nwas\n%s", after, before)
		}
		res = s.do("POST", "/items/batch", `[{"op":"create","body":{"name":"y0"}},{"op":"create","body":{"name":"y1","note":"n"}},`+
			`{"op":"create","body":{"name":"y2","price":2}},{"op":"update","id":7,"body":{"stock":1}},{"op":"create","body":{"name":"y3"}}]`)
		results = decode[[]result](t, res.body)
		if res.status != 200 || len(results) != 5 {
			t.Fatalf("creates in a row: %d %s", res.status, res.body)
		}
		// PostgreSQL's sequence went on through the failed batches: ids are
		// read from the answer.
		var wantEvents []string
		for i, r := range results {
			var row Item
			json.Unmarshal(r.Body, &row)
			if name := []string{"y0", "y1", "y2", "kiwi", "y3"}[i]; row.Name != name {
				t.Errorf("result %d is %s, want %s", i, r.Body, name)
			}
			wantEvents = append(wantEvents, fmt.Sprintf("%s %d", r.Op, row.ID))
		}
		if string(results[2].Body) != fmt.Sprintf(`{"id":%d,"name":"y2","price":2,"stock":0,"active":false,"note":null}`, decode[Item](t, string(results[1].Body)).ID+1) {
			t.Errorf("third create: %s", results[2].Body)
		}
		if got := ev.take(); !slices.Equal(got, wantEvents) {
			t.Errorf("events %v, want %v", got, wantEvents)
		}

		// Every problem of every operation at once, and the shape of the
		// body.
		s.expect("POST", "/items/batch", `[{"op":"create","body":{}},{"op":"update","id":-1,"body":{"name":""}},{"id":1}]`, 422,
			`{"detail":[{"type":"missing","loc":["body",0,"body","name"],"msg":"Field required","input":{}},`+
				`{"type":"greater_than_equal","loc":["body",1,"id"],"msg":"Input should be greater than or equal to 0","input":-1,"ctx":{"ge":0}},`+
				`{"type":"string_too_short","loc":["body",1,"body","name"],"msg":"String should have at least 1 character","input":"","ctx":{"min_length":1}},`+
				`{"type":"missing","loc":["body",2,"op"],"msg":"Field required","input":{"id":1}}]}`)
		s.expect("POST", "/items/batch", `{"op":"create"}`, 422,
			`{"detail":[{"type":"list_type","loc":["body"],"msg":"Input should be a valid list","input":{"op":"create"}}]}`)
		s.expect("POST", "/items/batch", ``, 422, `{"detail":[{"type":"missing","loc":["body"],"msg":"Field required","input":null}]}`)
		s.expect("POST", "/items/batch", `[`, 422,
			`{"detail":[{"type":"json_invalid","loc":["body",1],"msg":"JSON decode error","input":{},"ctx":{"error":"unexpected end of JSON input"}}]}`)
		s.expect("POST", "/items/batch", `[]`, 200, `[]`)
		if got := ev.take(); len(got) > 0 {
			t.Errorf("events %v", got)
		}
	})
}

// TestBatchCreatesFailLate sends a run of creates whose last one breaks
// the unique name: after the run's INSERT fails, the rows go one at a
// time, so the database is asked for about twice the rows, not once per
// row for every row after it.
func TestBatchCreatesFailLate(t *testing.T) {
	testkit.Each(t, nil, func(t *testing.T, db *gorm.DB) {
		s := serve(t, db, easy.CRUDRouter[Item](crud.Batch()))
		var rows int
		err := db.Callback().Create().Before("gorm:create").Register("test:rows", func(tx *gorm.DB) {
			if v := tx.Statement.ReflectValue; v.Kind() == reflect.Slice {
				rows += v.Len()
			} else {
				rows++
			}
		})
		if err != nil {
			t.Fatal(err)
		}
		const n = 300
		ops := make([]string, n)
		for i := range ops {
			ops[i] = fmt.Sprintf(`{"op":"create","body":{"name":"n%d"}}`, i)
		}
		ops[n-1] = `{"op":"create","body":{"name":"n0"}}`
		s.expect("POST", "/items/batch", "["+strings.Join(ops, ",")+"]",
			409, fmt.Sprintf(`{"detail":"Operation %d: Item with this name already exists"}`, n-1))
		if rows > 2*n {
			t.Errorf("inserted %d rows for %d creates, want at most %d", rows, n, 2*n)
		}
		if got := count(t, db, &Item{}); got != 0 {
			t.Errorf("failed batch left %d rows", got)
		}
	})
}

// TestBatchOptions checks that a batch is off unless asked for, takes
// the operations whose routes are mounted, and at most MaxBatch of them.
func TestBatchOptions(t *testing.T) {
	db := testkit.SQLite(t, nil)
	s := serve(t, db, easy.CRUDRouter[Item](), crud.New[Item](crud.Prefix("/few"), crud.Name("few", "fews"), crud.Batch(),
		crud.Exclude(crud.DeleteRoute), crud.MaxBatch(2)))
	s.expect("POST", "/items/batch", `[]`, 405, `{"detail":"Method Not Allowed"}`)
	s.expect("POST", "/few/batch", `[{"op":"delete","id":1}]`, 422,
		`{"detail":[{"type":"enum","loc":["body",0,"op"],"msg":"Input should be 'create', 'replace' or 'update'","input":"delete","ctx":{"expected":"'create', 'replace' or 'update'"}}]}`)
	s.expect("POST", "/few/batch", `[{},{},{}]`, 422,
		`{"detail":[{"type":"too_long","loc":["body"],"msg":"List should have at most 2 items after validation, not 3","input":null,"ctx":{"actual_length":3,"max_length":2}}]}`)
	res := s.do("POST", "/few/batch", `[{"op":"create","body":{"name":"a"}},{"op":"create","body":{"name":"b"}}]`)
	if want := `[{"op":"create","status":201,"etag":` + etagOf(t, s, "/few/1") + `,"body":{"id":1,"name":"a","price":0,"stock":0,"active":false,"note":null}},` +
		`{"op":"create","status":201,"etag":` + etagOf(t, s, "/few/2") + `,"body":{"id":2,"name":"b","price":0,"stock":0,"active":false,"note":null}}]`; res.status != 200 || res.body != want {
		t.Errorf("batch of two:\n got %d %s\nwant 200 %s", res.status, res.body, want)
	}
	t.Run("no write route", func(t *testing.T) {
		defer func() {
			if got, _ := recover().(string); !strings.Contains(got, "crud: Batch: the Router mounts none of the routes a batch does (create, replace, update, delete)") {
				t.Errorf("panic %q", got)
			}
		}()
		app := easy.New(easy.DB(db), easy.Logger(quietLogger()))
		app.Include(crud.New[Item](crud.Batch(), crud.Only(crud.ListRoute, crud.BatchRoute), crud.Prefix("/none")))
	})
	defer func() {
		if got, _ := recover().(string); got != "crud: MaxBatch(0): want at least 1" {
			t.Errorf("panic %q", got)
		}
	}()
	crud.New[Item](crud.MaxBatch(0))
}

// etagOf is the ETag a read of path gives, as a JSON string.
func etagOf(t *testing.T, s *server, path string) string {
	t.Helper()
	b, _ := json.Marshal(s.do("GET", path, "").header.Get("ETag"))
	return string(b)
}

// Note is a row owned by the user who made it.
type Note struct {
	ID    uint   `json:"id" gorm:"primaryKey"`
	Owner string `json:"owner" easy:"readonly"`
	Text  string `json:"text" required:"true" minLength:"1"`
}

// TestBatchPolicy runs batches of two users under a row policy, on each
// database: each operation sees only the user's rows, creates are the
// user's whatever they send, a batch that touches another user's row
// fails whole, and hooks run for every operation.
func TestBatchPolicy(t *testing.T) {
	testkit.Each(t, nil, func(t *testing.T, db *gorm.DB) {
		ev := watch(t, db, &Note{})
		user := security.APIKeyHeader("X-User", func(ctx context.Context, key string) (*string, error) {
			if key == "alice" || key == "bob" {
				return &key, nil
			}
			return nil, security.ErrInvalidCredentials
		})
		var hooked []string
		var mu sync.Mutex
		hook := func(kind string) func(context.Context, *gorm.DB, *Note) error {
			return func(ctx context.Context, tx *gorm.DB, n *Note) error {
				mu.Lock()
				defer mu.Unlock()
				hooked = append(hooked, fmt.Sprintf("%s %s %q", kind, *user.From(ctx), n.Text))
				if n.Text == "forbidden" {
					return easy.Forbidden("No forbidden notes")
				}
				return nil
			}
		}
		notes := easy.CRUDRouter[Note](crud.Batch(), crud.Uses(user), crud.Errors(403),
			crud.Policy(query.Rows("owner", func(ctx context.Context) (any, error) { return *user.From(ctx), nil }))).
			BeforeCreate(hook("create")).BeforeUpdate(hook("update")).BeforeDelete(hook("delete"))
		s := serve(t, db, notes)
		as := func(name string) http.Header { return http.Header{"X-User": {name}} }
		post := func(who, body string) response {
			return s.doHeader("POST", "/notes/batch", body, as(who))
		}
		if res := post("alice", `[{"op":"create","body":{"text":"a1","owner":"bob"}},{"op":"create","body":{"text":"a2"}}]`); res.status != 200 {
			t.Fatalf("alice: %d %s", res.status, res.body)
		}
		if res := post("bob", `[{"op":"create","body":{"text":"b1"}}]`); res.status != 200 {
			t.Fatalf("bob: %d %s", res.status, res.body)
		}
		ev.take()
		mu.Lock()
		hooked = nil
		mu.Unlock()

		// Alice's batch mixes her rows (1, 2) with Bob's (3): it fails at
		// Bob's row as if it did not exist, and nothing is written.
		mixed := `[{"op":"update","id":1,"body":{"text":"a1!"}},{"op":"update","id":3,"body":{"text":"mine now"}},{"op":"delete","id":2}]`
		res := post("alice", mixed)
		if res.status != 404 || res.body != `{"detail":"Operation 1: Note not found"}` {
			t.Errorf("mixed batch: %d %s", res.status, res.body)
		}
		res = post("alice", `[{"op":"delete","id":3}]`)
		if res.status != 404 || res.body != `{"detail":"Operation 0: Note not found"}` {
			t.Errorf("delete of Bob's row: %d %s", res.status, res.body)
		}
		// The same batch by Bob fails at Alice's first row.
		res = post("bob", mixed)
		if res.status != 404 || res.body != `{"detail":"Operation 0: Note not found"}` {
			t.Errorf("Bob's mixed batch: %d %s", res.status, res.body)
		}
		// A hook's error is the failing operation's.
		res = post("alice", `[{"op":"update","id":1,"body":{"text":"ok"}},{"op":"create","body":{"text":"forbidden"}}]`)
		if res.status != 403 || res.body != `{"detail":"Operation 1: No forbidden notes"}` {
			t.Errorf("hook: %d %s", res.status, res.body)
		}
		if got := ev.take(); len(got) > 0 {
			t.Errorf("failed batches published %v", got)
		}
		want := `[{"id":1,"owner":"alice","text":"a1"},{"id":2,"owner":"alice","text":"a2"},{"id":3,"owner":"bob","text":"b1"}]`
		var all []Note
		db.Order("id").Find(&all)
		if b, _ := json.Marshal(all); string(b) != want {
			t.Errorf("rows %s, want %s", b, want)
		}

		// Alice's batch of her own rows runs every hook, as the user.
		mu.Lock()
		hooked = nil
		mu.Unlock()
		res = post("alice", `[{"op":"update","id":1,"body":{"text":"a1!"}},{"op":"replace","id":2,"body":{"text":"a2!","owner":"bob"}},`+
			`{"op":"create","body":{"text":"a3"}},{"op":"delete","id":1}]`)
		if res.status != 200 {
			t.Fatalf("alice's batch: %d %s", res.status, res.body)
		}
		mu.Lock()
		wantHooks := []string{`update alice "a1!"`, `update alice "a2!"`, `create alice "a3"`, `delete alice "a1!"`}
		if !slices.Equal(hooked, wantHooks) {
			t.Errorf("hooks %q, want %q", hooked, wantHooks)
		}
		mu.Unlock()
		if got, want := ev.take(), []string{"update 1", "update 2", "create 4", "delete 1"}; !slices.Equal(got, want) {
			t.Errorf("events %v, want %v", got, want)
		}
		db.Order("id").Find(&all)
		b, _ := json.Marshal(all)
		if want := `[{"id":2,"owner":"alice","text":"a2!"},{"id":3,"owner":"bob","text":"b1"},{"id":4,"owner":"alice","text":"a3"}]`; string(b) != want {
			t.Errorf("rows %s, want %s", b, want)
		}
		if res := s.do("POST", "/notes/batch", `[]`); res.status != 401 || !strings.Contains(res.body, "detail") {
			t.Errorf("without a user: %d %s", res.status, res.body)
		}
	})
}
