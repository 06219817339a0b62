package crud_test

import (
	"net/http"
	"testing"

	"gorm.io/gorm"

	"github.com/fastapi-easy/easy-go/easy"
	"github.com/fastapi-easy/easy-go/internal/testkit"
)

// TestRoutes walks an item through every route and checks each answer
// exactly, on each database.
func TestRoutes(t *testing.T) {
	testkit.Each(t, nil, func(t *testing.T, db *gorm.DB) {
		s := serve(t, db, easy.CRUDRouter[Item]())
		steps := []struct {
			method, path, body string
			status             int
			want               string
		}{
			{"GET", "/items", "", 200, `[]`},
			{"POST", "/items", `{"name":"apple","price":1.5,"stock":3,"active":true}`, 201,
				`{"id":1,"name":"apple","price":1.5,"stock":3,"active":true,"note":null}`},
			{"POST", "/items", `{"name":"pear","price":2,"note":"green"}`, 201,
				`{"id":2,"name":"pear","price":2,"stock":0,"active":false,"note":"green"}`},
			{"GET", "/items/1", "", 200, `{"id":1,"name":"apple","price":1.5,"stock":3,"active":true,"note":null}`},
			{"GET", "/items/99", "", 404, `{"detail":"Item not found"}`},
			{"GET", "/items/abc", "", 422, `{"detail":[{"type":"int_parsing","loc":["path","id"],"msg":"Input should be a valid integer, unable to parse string as an integer","input":"abc"}]}`},
			{"GET", "/items/-1", "", 422, `{"detail":[{"type":"greater_than_equal","loc":["path","id"],"msg":"Input should be greater than or equal to 0","input":"-1","ctx":{"ge":0}}]}`},
			{"GET", "/items/18446744073709551615", "", 404, `{"detail":"Item not found"}`},
			{"GET", "/items", "", 200, `[{"id":1,"name":"apple","price":1.5,"stock":3,"active":true,"note":null},{"id":2,"name":"pear","price":2,"stock":0,"active":false,"note":"green"}]`},
			{"PUT", "/items/1", `{"name":"apple","price":3}`, 200,
				`{"id":1,"name":"apple","price":3,"stock":0,"active":false,"note":null}`},
			{"PUT", "/items/99", `{"name":"plum","price":3}`, 404, `{"detail":"Item not found"}`},
			{"PUT", "/items/1", `{"price":3}`, 422, `{"detail":[{"type":"missing","loc":["body","name"],"msg":"Field required","input":{"price":3}}]}`},
			{"PUT", "/items/x", `{"price":-1}`, 422, `{"detail":[{"type":"int_parsing","loc":["path","id"],"msg":"Input should be a valid integer, unable to parse string as an integer","input":"x"},{"type":"missing","loc":["body","name"],"msg":"Field required","input":{"price":-1}},{"type":"greater_than_equal","loc":["body","price"],"msg":"Input should be greater than or equal to 0","input":-1,"ctx":{"ge":0}}]}`},
			{"PATCH", "/items/2", `{"price":0,"note":"","active":false}`, 200,
				`{"id":2,"name":"pear","price":0,"stock":0,"active":false,"note":""}`},
			{"PATCH", "/items/2", `{"stock":7}`, 200,
				`{"id":2,"name":"pear","price":0,"stock":7,"active":false,"note":""}`},
			{"PATCH", "/items/2", `{"note":null}`, 200,
				`{"id":2,"name":"pear","price":0,"stock":7,"active":false,"note":null}`},
			{"PATCH", "/items/2", `{}`, 200,
				`{"id":2,"name":"pear","price":0,"stock":7,"active":false,"note":null}`},
			{"PATCH", "/items/2", `{"name":""}`, 422, `{"detail":[{"type":"string_too_short","loc":["body","name"],"msg":"String should have at least 1 character","input":"","ctx":{"min_length":1}}]}`},
			{"PATCH", "/items/99", `{"stock":1}`, 404, `{"detail":"Item not found"}`},
			{"GET", "/items/2", "", 200, `{"id":2,"name":"pear","price":0,"stock":7,"active":false,"note":null}`},
			{"DELETE", "/items/2", "", 200, `{"id":2,"name":"pear","price":0,"stock":7,"active":false,"note":null}`},
			{"DELETE", "/items/2", "", 404, `{"detail":"Item not found"}`},
			{"GET", "/items/2", "", 404, `{"detail":"Item not found"}`},
			{"DELETE", "/items", "", 405, `{"detail":"Method Not Allowed"}`},
			{"GET", "/items", "", 200, `[{"id":1,"name":"apple","price":3,"stock":0,"active":false,"note":null}]`},
		}
		for _, st := range steps {
			s.expect(st.method, st.path, st.body, st.status, st.want)
		}
		if n := count(t, db, &Item{}); n != 1 {
			t.Errorf("rows = %d, want 1", n)
		}
	})
}

// TestListHeaders checks X-Total-Count and the content type of a list.
func TestListHeaders(t *testing.T) {
	s := serve(t, testkit.SQLite(t, nil), easy.CRUDRouter[Item]())
	for _, n := range []string{"a", "b", "c"} {
		s.do("POST", "/items", `{"name":"`+n+`"}`)
	}
	res := s.expect("GET", "/items?limit=1&skip=1", "", http.StatusOK,
		`[{"id":2,"name":"b","price":0,"stock":0,"active":false,"note":null}]`)
	if got := res.header.Get("X-Total-Count"); got != "3" {
		t.Errorf("X-Total-Count = %q, want 3", got)
	}
	if got := res.header.Get("Content-Type"); got != "application/json" {
		t.Errorf("Content-Type = %q", got)
	}
}
