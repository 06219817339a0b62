package crud_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/fastapi-easy/easy-go/easy"
	"github.com/fastapi-easy/easy-go/easy/crud"
	"github.com/fastapi-easy/easy-go/internal/testkit"
)

// Task has read-only fields: its key, timestamps, soft delete and an
// owner only the server sets.
type Task struct {
	ID        uint           `json:"id" gorm:"primaryKey"`
	Title     string         `json:"title" required:"true" minLength:"1"`
	Done      bool           `json:"done"`
	Owner     string         `json:"owner" easy:"readonly"`
	CreatedAt time.Time      `json:"created_at"`
	UpdatedAt time.Time      `json:"updated_at"`
	DeletedAt gorm.DeletedAt `json:"deleted_at"`
}

// TestBodiesInvalid sends bodies of wrong types and shapes: each is a 422
// (or 415) at the right place, and nothing is written.
func TestBodiesInvalid(t *testing.T) {
	cases := []struct {
		method, path, body string
		status             int
		want               string
	}{
		{"POST", "/items", `{"name":1}`, 422, `{"detail":[{"type":"string_type","loc":["body","name"],"msg":"Input should be a valid string","input":1}]}`},
		{"POST", "/items", `{"name":"x","price":"abc"}`, 422, `{"detail":[{"type":"float_type","loc":["body","price"],"msg":"Input should be a valid number","input":"abc"}]}`},
		{"POST", "/items", `{"name":"x","stock":1.5}`, 422, `{"detail":[{"type":"int_from_float","loc":["body","stock"],"msg":"Input should be a valid integer, got a number with a fractional part","input":1.5}]}`},
		{"POST", "/items", `{"name":"x","stock":99999999999999999999}`, 422, `{"detail":[{"type":"less_than_equal","loc":["body","stock"],"msg":"Input should be less than or equal to 9223372036854775807","input":99999999999999999999,"ctx":{"le":9223372036854775807}}]}`},
		{"POST", "/items", `{"name":"x","active":"yes"}`, 422, `{"detail":[{"type":"bool_type","loc":["body","active"],"msg":"Input should be a valid boolean","input":"yes"}]}`},
		{"POST", "/items", `{"name":null}`, 422, `{"detail":[{"type":"string_type","loc":["body","name"],"msg":"Input should be a valid string","input":null}]}`},
		{"POST", "/items", `[{"name":"x"}]`, 422, `{"detail":[{"type":"model_attributes_type","loc":["body"],"msg":"Input should be a valid dictionary or object to extract fields from","input":[{"name":"x"}]}]}`},
		{"POST", "/items", `"x"`, 422, `{"detail":[{"type":"model_attributes_type","loc":["body"],"msg":"Input should be a valid dictionary or object to extract fields from","input":"x"}]}`},
		{"POST", "/items", `{"name":`, 422, `{"detail":[{"type":"json_invalid","loc":["body",8],"msg":"JSON decode error","input":{},"ctx":{"error":"unexpected end of JSON input"}}]}`},
		{"POST", "/items", ``, 422, `{"detail":[{"type":"missing","loc":["body"],"msg":"Field required","input":null}]}`},
		{"POST", "/items", `{"name":"a\u0000b"}`, 422, `{"detail":[{"type":"string_type","loc":["body","name"],"msg":"Input should be a valid string without NUL characters","input":"a\u0000b"}]}`},
		{"POST", "/items", `{"name":"` + strings.Repeat("x", 51) + `"}`, 422, `{"detail":[{"type":"string_too_long","loc":["body","name"],"msg":"String should have at most 50 characters","input":"` + strings.Repeat("x", 51) + `","ctx":{"max_length":50}}]}`},
		{"PUT", "/items/1", `{"name":"x","price":-1,"stock":"2"}`, 422, `{"detail":[{"type":"greater_than_equal","loc":["body","price"],"msg":"Input should be greater than or equal to 0","input":-1,"ctx":{"ge":0}},{"type":"int_type","loc":["body","stock"],"msg":"Input should be a valid integer","input":"2"}]}`},
		{"PATCH", "/items/1", `{"price":null}`, 422, `{"detail":[{"type":"float_type","loc":["body","price"],"msg":"Input should be a valid number","input":null}]}`},
		{"PATCH", "/items/1", `[]`, 422, `{"detail":[{"type":"model_attributes_type","loc":["body"],"msg":"Input should be a valid dictionary or object to extract fields from","input":[]}]}`},
	}
	testkit.Each(t, nil, func(t *testing.T, db *gorm.DB) {
		s := serve(t, db, easy.CRUDRouter[Item]())
		s.expect("POST", "/items", `{"name":"keep"}`, 201, `{"id":1,"name":"keep","price":0,"stock":0,"active":false,"note":null}`)
		for _, c := range cases {
			s.expect(c.method, c.path, c.body, c.status, c.want)
		}
		req, _ := http.NewRequest("POST", s.srv.URL+"/items", strings.NewReader(`{"name":"x"}`))
		req.Header.Set("Content-Type", "text/plain")
		res, err := s.srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusUnsupportedMediaType {
			t.Errorf("text/plain body: %d, want 415", res.StatusCode)
		}
		s.expect("GET", "/items", "", 200, `[{"id":1,"name":"keep","price":0,"stock":0,"active":false,"note":null}]`)
	})
}

// TestReadOnlyFields checks that a client cannot set the key, the
// timestamps, the soft-delete mark or a field tagged easy:"readonly": they
// are ignored by default, and rejected when the App forbids unknown fields.
func TestReadOnlyFields(t *testing.T) {
	testkit.Each(t, nil, func(t *testing.T, db *gorm.DB) {
		s := serve(t, db, easy.CRUDRouter[Task]())
		res := s.do("POST", "/tasks", `{"id":42,"title":"write","owner":"mallory","created_at":"2000-01-01T00:00:00Z","deleted_at":"2000-01-01T00:00:00Z"}`)
		if res.status != 201 {
			t.Fatalf("create: %d %s", res.status, res.body)
		}
		task := decode[Task](t, res.body)
		if task.ID != 1 || task.Owner != "" || task.CreatedAt.Year() < 2020 || task.DeletedAt.Valid {
			t.Errorf("read-only fields were written: %+v", task)
		}
		res = s.do("PUT", "/tasks/1", `{"id":7,"title":"rewrite","owner":"mallory","created_at":"2000-01-01T00:00:00Z"}`)
		got := decode[Task](t, res.body)
		// PostgreSQL keeps microseconds of the nanoseconds gorm wrote.
		if res.status != 200 || got.ID != 1 || got.Owner != "" || got.CreatedAt.Sub(task.CreatedAt).Abs() >= time.Microsecond || got.Title != "rewrite" {
			t.Errorf("replace: %d %s", res.status, res.body)
		}
		if got.UpdatedAt.Before(task.UpdatedAt) {
			t.Errorf("updated_at went back: %v < %v", got.UpdatedAt, task.UpdatedAt)
		}
		res = s.do("PATCH", "/tasks/1", `{"owner":"mallory","done":true}`)
		got = decode[Task](t, res.body)
		if res.status != 200 || got.Owner != "" || !got.Done {
			t.Errorf("update: %d %s", res.status, res.body)
		}
		var stored Task
		db.First(&stored, 1)
		if stored.Owner != "" || stored.ID != 1 || !stored.Done || stored.Title != "rewrite" {
			t.Errorf("stored: %+v", stored)
		}
		if n := count(t, db, &Task{}); n != 1 {
			t.Errorf("rows = %d, want 1", n)
		}
	})
	t.Run("forbidden", func(t *testing.T) {
		db := testkit.SQLite(t, nil)
		s := serveWith(t, db, []easy.Option{easy.ForbidUnknownFields()}, easy.CRUDRouter[Task]())
		s.expect("POST", "/tasks", `{"id":42,"title":"write","owner":"mallory","color":"red"}`, 422,
			`{"detail":[{"type":"extra_forbidden","loc":["body","color"],"msg":"Extra inputs are not permitted","input":"red"},{"type":"extra_forbidden","loc":["body","id"],"msg":"Extra inputs are not permitted","input":42},{"type":"extra_forbidden","loc":["body","owner"],"msg":"Extra inputs are not permitted","input":"mallory"}]}`)
		s.expect("PATCH", "/tasks/1", `{"created_at":"2000-01-01T00:00:00Z"}`, 422,
			`{"detail":[{"type":"extra_forbidden","loc":["body","created_at"],"msg":"Extra inputs are not permitted","input":"2000-01-01T00:00:00Z"}]}`)
		if n := count(t, db, &Task{}); n != 0 {
			t.Errorf("rows = %d, want 0", n)
		}
	})
	t.Run("router option", func(t *testing.T) {
		s := serve(t, testkit.SQLite(t, nil), easy.CRUDRouter[Task](crud.ForbidUnknownFields()))
		s.expect("POST", "/tasks", `{"title":"write","owner":"mallory"}`, 422,
			`{"detail":[{"type":"extra_forbidden","loc":["body","owner"],"msg":"Extra inputs are not permitted","input":"mallory"}]}`)
	})
}

// TestSoftDelete checks that DELETE on a model with gorm.DeletedAt marks
// the row, that lists and reads skip it, and that include_deleted shows it
// only where the router allows it.
func TestSoftDelete(t *testing.T) {
	testkit.Each(t, nil, func(t *testing.T, db *gorm.DB) {
		s := serve(t, db,
			easy.CRUDRouter[Task](),
			easy.CRUDRouter[Task](crud.Prefix("/all-tasks"), crud.Name("any_task", "any_tasks"), crud.IncludeDeleted()),
		)
		s.do("POST", "/tasks", `{"title":"a"}`)
		s.do("POST", "/tasks", `{"title":"b"}`)
		res := s.do("DELETE", "/tasks/1", "")
		if del := decode[Task](t, res.body); res.status != 200 || del.ID != 1 || !del.DeletedAt.Valid {
			t.Fatalf("delete: %d %s", res.status, res.body)
		}
		s.expect("GET", "/tasks/1", "", 404, `{"detail":"Task not found"}`)
		s.expect("DELETE", "/tasks/1", "", 404, `{"detail":"Task not found"}`)
		s.expect("PUT", "/tasks/1", `{"title":"z"}`, 404, `{"detail":"Task not found"}`)
		s.expect("PATCH", "/tasks/1", `{"title":"z"}`, 404, `{"detail":"Task not found"}`)
		if res := s.do("GET", "/tasks", ""); len(ids2(t, res.body)) != 1 || res.header.Get("X-Total-Count") != "1" {
			t.Errorf("list: %s %v", res.body, res.header)
		}
		s.expect("GET", "/tasks?include_deleted=true", "", 422, `{"detail":[{"type":"extra_forbidden","loc":["query","include_deleted"],"msg":"Unknown query parameter: not skip, limit, sort or a filterable field","input":"true"}]}`)
		s.expect("GET", "/tasks/1?include_deleted=true", "", 422, `{"detail":[{"type":"extra_forbidden","loc":["query","include_deleted"],"msg":"Unknown query parameter: not skip, limit, sort or a filterable field","input":"true"}]}`)
		s.expect("GET", "/tasks/2?include_deleted=false", "", 422, `{"detail":[{"type":"extra_forbidden","loc":["query","include_deleted"],"msg":"Unknown query parameter: not skip, limit, sort or a filterable field","input":"false"}]}`)
		if got := ids2(t, s.do("GET", "/all-tasks?include_deleted=true", "").body); len(got) != 2 {
			t.Errorf("include_deleted list: %v", got)
		}
		if got := ids2(t, s.do("GET", "/all-tasks?include_deleted=false", "").body); len(got) != 1 {
			t.Errorf("include_deleted=false list: %v", got)
		}
		s.expect("GET", "/all-tasks/1", "", 404, `{"detail":"Task not found"}`)
		if res := s.do("GET", "/all-tasks/1?include_deleted=true", ""); res.status != 200 {
			t.Errorf("include_deleted read: %d %s", res.status, res.body)
		}
		s.expect("GET", "/all-tasks/1?include_deleted=perhaps", "", 422, `{"detail":[{"type":"bool_parsing","loc":["query","include_deleted"],"msg":"Input should be a valid boolean, unable to interpret input","input":"perhaps"}]}`)
		if n := count(t, db, &Task{}); n != 2 {
			t.Errorf("rows = %d, want 2 (one soft-deleted)", n)
		}
	})
}

func ids2(t testing.TB, body string) []uint {
	t.Helper()
	var out []uint
	for _, it := range decode[[]Task](t, body) {
		out = append(out, it.ID)
	}
	return out
}

// TestDeleteAllTakesNoFilter checks that DELETE on the collection refuses
// a query parameter, as the list does one it does not know, before it
// deletes anything: a filter it dropped would delete every row. Its
// dependencies' parameters are theirs. A read refuses one too.
func TestDeleteAllTakesNoFilter(t *testing.T) {
	type keyIn struct {
		Key string `query:"api_key"`
	}
	key := easy.Depends(func(ctx context.Context, in *keyIn) (string, error) {
		if in.Key != "k" {
			return "", easy.Forbidden("Bad key")
		}
		return in.Key, nil
	})
	s := serve(t, testkit.SQLite(t, nil), easy.CRUDRouter[Item](crud.DeleteAll(), crud.RouteUses(crud.DeleteAllRoute, key)))
	seedItems(t, s.db)
	const noFilter = `"msg":"Unknown query parameter: deleting all rows takes no filter"`
	for _, c := range []struct{ query, body string }{
		{"?name=apple&api_key=k", `{"detail":[{"type":"extra_forbidden","loc":["query","name"],` + noFilter + `,"input":"apple"}]}`},
		{"?api_key=k&skip=1&limit=2", `{"detail":[{"type":"extra_forbidden","loc":["query","limit"],` + noFilter + `,"input":"2"},` +
			`{"type":"extra_forbidden","loc":["query","skip"],` + noFilter + `,"input":"1"}]}`},
		{"?api_key=k&x=%zz", `{"detail":[{"type":"query_parsing","loc":["query"],"msg":"Invalid query string: a % must start an escape of two hexadecimal digits, such as %25","input":"x=%zz"}]}`},
	} {
		s.expect("DELETE", "/items"+c.query, "", 422, c.body)
	}
	if n := count(t, s.db, &Item{}); n != 5 {
		t.Fatalf("rows = %d after refused deletes, want 5", n)
	}
	s.expect("GET", "/items/1?name=pear", "", 422,
		`{"detail":[{"type":"extra_forbidden","loc":["query","name"],"msg":"Unknown query parameter: a read takes fields","input":"pear"}]}`)
	s.expect("DELETE", "/items?api_key=k", "", 200, `{"deleted":5}`)
}

// TestWritesTakeNoQuery: a write reads no query parameter, and refuses
// one rather than drop it: DELETE /items/1?name=pear deleted row 1,
// whatever its name. Nothing is written.
func TestWritesTakeNoQuery(t *testing.T) {
	s := serve(t, testkit.SQLite(t, nil), easy.CRUDRouter[Item](crud.Batch()))
	seedItems(t, s.db)
	const refused = `{"detail":[{"type":"extra_forbidden","loc":["query","name"],"msg":"Unknown query parameter: a write takes none","input":"pear"}]}`
	for _, c := range []struct{ method, path, body string }{
		{"POST", "/items?name=pear", `{"name":"fig"}`},
		{"PUT", "/items/1?name=pear", `{"name":"fig"}`},
		{"PATCH", "/items/1?name=pear", `{"name":"fig"}`},
		{"DELETE", "/items/1?name=pear", ""},
		{"POST", "/items/batch?name=pear", `[{"op":"delete","id":1}]`},
	} {
		s.expect(c.method, c.path, c.body, 422, refused)
	}
	if n := count(t, s.db, &Item{}); n != 5 {
		t.Errorf("rows = %d after refused writes, want 5", n)
	}
	s.expect("GET", "/items?name=fig", "", 200, `[]`)
}

// TestDeleteAll checks DELETE on the collection: absent by default,
// deleting every row when enabled.
func TestDeleteAll(t *testing.T) {
	testkit.Each(t, nil, func(t *testing.T, db *gorm.DB) {
		s := serve(t, db,
			easy.CRUDRouter[Item](crud.DeleteAll()),
			easy.CRUDRouter[Task](),
		)
		seedItems(t, db)
		s.do("POST", "/tasks", `{"title":"a"}`)
		s.expect("DELETE", "/tasks", "", 405, `{"detail":"Method Not Allowed"}`)
		s.expect("DELETE", "/items", "", 200, `{"deleted":5}`)
		s.expect("GET", "/items", "", 200, `[]`)
		s.expect("DELETE", "/items", "", 200, `{"deleted":0}`)
		if n := count(t, db, &Item{}); n != 0 {
			t.Errorf("rows = %d", n)
		}
	})
}
