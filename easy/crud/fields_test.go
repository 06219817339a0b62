package crud_test

import (
	"strings"
	"testing"

	"gorm.io/gorm"

	"github.com/fastapi-easy/easy-go/easy"
	"github.com/fastapi-easy/easy-go/internal/testkit"
)

// TestFields checks fields=: reads and lists keep the fields named, in
// the model's order, and an unknown field is a 422, on each database.
func TestFields(t *testing.T) {
	many := strings.TrimSuffix(strings.Repeat("id,", 7), ",")
	cases := []struct {
		path   string
		status int
		want   string
	}{
		{"/items/1?fields=name", 200, `{"name":"apple"}`},
		{"/items/1?fields=note,id", 200, `{"id":1,"note":"red"}`},
		{"/items/1?fields=name,name", 200, `{"name":"apple"}`},
		{"/items/2?fields=note", 200, `{"note":null}`},
		{"/items?fields=id,price&limit=2", 200, `[{"id":1,"price":1.5},{"id":2,"price":0.25}]`},
		{"/items?fields=name&sort=-price&price__gte=7", 200, `[{"name":"cherry"},{"name":"date"},{"name":"pie Apple"}]`},
		{"/items?fields=id&limit=0", 200, `[]`},
		{"/items/1?fields=nope", 422, `{"detail":[{"type":"fields_field","loc":["query","fields"],"msg":"Unknown field \"nope\": use a comma-separated list of id, name, price, stock, active, note","input":"nope"}]}`},
		{"/items?fields=id,", 422, `{"detail":[{"type":"fields_field","loc":["query","fields"],"msg":"Unknown field \"\": use a comma-separated list of id, name, price, stock, active, note","input":"id,"}]}`},
		{"/items?fields=", 422, `{"detail":[{"type":"fields_field","loc":["query","fields"],"msg":"Unknown field \"\": use a comma-separated list of id, name, price, stock, active, note","input":""}]}`},
		{"/items?fields=" + many, 422, `{"detail":[{"type":"too_long","loc":["query","fields"],"msg":"Select at most 6 fields","input":"` + many + `"}]}`},
		{"/items/1?fields=" + "id%27%20OR%201%3D1", 422, `{"detail":[{"type":"fields_field","loc":["query","fields"],"msg":"Unknown field \"id' OR 1=1\": use a comma-separated list of id, name, price, stock, active, note","input":"id' OR 1=1"}]}`},
		{"/items/9?fields=id", 404, `{"detail":"Item not found"}`},
	}
	testkit.Each(t, nil, func(t *testing.T, db *gorm.DB) {
		s := serve(t, db, easy.CRUDRouter[Item]())
		seedItems(t, db)
		for _, c := range cases {
			s.expect("GET", c.path, "", c.status, c.want)
		}
		// A read's ETag is the row's, whatever fields it keeps, so that
		// it serves If-Match.
		if full, part := s.do("GET", "/items/1", ""), s.do("GET", "/items/1?fields=id", ""); full.header.Get("ETag") != part.header.Get("ETag") {
			t.Errorf("ETag %q with fields, %q without", part.header.Get("ETag"), full.header.Get("ETag"))
		}
	})
}
