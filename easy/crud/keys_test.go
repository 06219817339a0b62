package crud_test

import (
	"crypto/rand"
	"fmt"
	"strings"
	"testing"

	"gorm.io/gorm"

	"github.com/fastapi-easy/easy-go/easy"
	"github.com/fastapi-easy/easy-go/easy/crud"
	"github.com/fastapi-easy/easy-go/internal/testkit"
)

// Paper has a UUID key its own gorm hook sets.
type Paper struct {
	ID    string `json:"id" gorm:"primaryKey;size:36" format:"uuid"`
	Title string `json:"title" required:"true"`
}

func (p *Paper) BeforeCreate(*gorm.DB) error {
	if p.ID == "" {
		p.ID = randomUUID()
	}
	return nil
}

// randomUUID returns a version 4 UUID.
func randomUUID() string {
	var b [16]byte
	rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}

// Receipt has its key in a uuid column (text on SQLite), with no format
// tag: the column's type alone says what the key is.
type Receipt struct {
	ID    string `json:"id" gorm:"primaryKey;type:uuid"`
	Total int    `json:"total"`
}

func (r *Receipt) BeforeCreate(*gorm.DB) error {
	if r.ID == "" {
		r.ID = randomUUID()
	}
	return nil
}

// Tag has a natural string key, free text.
type Tag struct {
	Code  string `json:"code" gorm:"primaryKey"`
	Label string `json:"label"`
}

func (t *Tag) BeforeCreate(*gorm.DB) error {
	if t.Code == "" {
		t.Code = "tag-" + t.Label
	}
	return nil
}

// Event has a signed key.
type Event struct {
	ID   int64  `json:"id" gorm:"primaryKey"`
	Kind string `json:"kind"`
}

// TestKeys checks string, UUID and signed integer keys: the {id}
// parameter is parsed and checked as the key's type.
func TestKeys(t *testing.T) {
	testkit.Each(t, nil, func(t *testing.T, db *gorm.DB) {
		s := serve(t, db, easy.CRUDRouter[Paper](), easy.CRUDRouter[Tag](), easy.CRUDRouter[Event]())

		res := s.do("POST", "/papers", `{"id":"00000000-0000-4000-8000-000000000000","title":"spec"}`)
		paper := decode[Paper](t, res.body)
		if res.status != 201 || len(paper.ID) != 36 || paper.ID == "00000000-0000-4000-8000-000000000000" {
			t.Fatalf("create paper: %d %s", res.status, res.body)
		}
		s.expect("GET", "/papers/"+paper.ID, "", 200, `{"id":"`+paper.ID+`","title":"spec"}`)
		s.expect("PATCH", "/papers/"+paper.ID, `{"title":"spec 2"}`, 200, `{"id":"`+paper.ID+`","title":"spec 2"}`)
		s.expect("GET", "/papers/00000000-0000-4000-8000-000000000000", "", 404, `{"detail":"Paper not found"}`)
		s.expect("GET", "/papers/not-a-uuid", "", 422, `{"detail":[{"type":"uuid_parsing","loc":["path","id"],"msg":"Input should be a valid UUID","input":"not-a-uuid"}]}`)
		s.expect("GET", "/papers?id="+paper.ID, "", 200, `[{"id":"`+paper.ID+`","title":"spec 2"}]`)
		s.expect("DELETE", "/papers/"+paper.ID, "", 200, `{"id":"`+paper.ID+`","title":"spec 2"}`)

		s.expect("POST", "/tags", `{"label":"red"}`, 201, `{"code":"tag-red","label":"red"}`)
		s.expect("POST", "/tags", `{"label":"red"}`, 409, `{"detail":"Tag with this code already exists"}`)
		s.expect("GET", "/tags/tag-red", "", 200, `{"code":"tag-red","label":"red"}`)
		s.expect("GET", "/tags/tag%20blue", "", 404, `{"detail":"Tag not found"}`)
		s.expect("GET", "/tags/a%00b", "", 422, `{"detail":[{"type":"string_type","loc":["path","id"],"msg":"Input should be a valid UTF-8 string without NUL characters","input":"a\u0000b"}]}`)
		s.expect("PUT", "/tags/tag-red", `{"label":"crimson"}`, 200, `{"code":"tag-red","label":"crimson"}`)
		s.expect("POST", "/tags", `{"label":"a/b c%"}`, 201, `{"code":"tag-a/b c%","label":"a/b c%"}`)
		s.expect("GET", "/tags/tag-a%2Fb%20c%25", "", 200, `{"code":"tag-a/b c%","label":"a/b c%"}`)
		s.expect("DELETE", "/tags/tag-a%2Fb%20c%25", "", 200, `{"code":"tag-a/b c%","label":"a/b c%"}`)

		s.expect("POST", "/events", `{"kind":"start"}`, 201, `{"id":1,"kind":"start"}`)
		s.expect("GET", "/events/-5", "", 404, `{"detail":"Event not found"}`)
		s.expect("GET", "/events/9223372036854775808", "", 422, `{"detail":[{"type":"less_than_equal","loc":["path","id"],"msg":"Input should be less than or equal to 9223372036854775807","input":"9223372036854775808","ctx":{"le":9223372036854775807}}]}`)
		s.expect("GET", "/events?id__lt=0", "", 200, `[]`)
	})
}

// A key in a uuid column that is not a UUID is a 422 at its place in the
// request before the database is asked, on every database: PostgreSQL
// refused it with a data exception, a 422 at ["body"] even for a read,
// and SQLite looked for it and answered 404.
func TestUUIDColumnKeys(t *testing.T) {
	testkit.Each(t, nil, func(t *testing.T, db *gorm.DB) {
		s := serve(t, db, easy.CRUDRouter[Receipt](crud.Batch()))
		res := s.do("POST", "/receipts", `{"total":1}`)
		id := decode[Receipt](t, res.body).ID
		if res.status != 201 {
			t.Fatalf("create: %d %s", res.status, res.body)
		}
		row := `{"id":"` + id + `","total":1}`
		bad := func(loc, input string) string {
			return `{"detail":[{"type":"uuid_parsing","loc":` + loc + `,"msg":"Input should be a valid UUID","input":"` + input + `"}]}`
		}
		for _, c := range []struct{ method, body string }{{"GET", ""}, {"PUT", `{"total":2}`}, {"PATCH", `{"total":2}`}, {"DELETE", ""}} {
			s.expect(c.method, "/receipts/not-a-uuid", c.body, 422, bad(`["path","id"]`, "not-a-uuid"))
			s.expect(c.method, "/receipts/"+id+"0", c.body, 422, bad(`["path","id"]`, id+"0"))
		}
		s.expect("GET", "/receipts/00000000-0000-4000-8000-000000000000", "", 404, `{"detail":"Receipt not found"}`)
		s.expect("GET", "/receipts/"+strings.ToUpper(id), "", 200, row) // PostgreSQL's canonical form, on SQLite too
		if res := s.do("POST", "/receipts/batch", `[{"op":"update","id":"`+strings.ReplaceAll(id, "-", "")+`","body":{"total":1}}]`); res.status != 200 ||
			!strings.Contains(res.body, `"status":200,`) || !strings.HasSuffix(res.body, `"body":`+row+`}]`) {
			t.Errorf("a batch update of a key without its hyphens: %d %s", res.status, res.body)
		}
		s.expect("POST", "/receipts/batch", `[{"op":"update","id":"`+id+`","body":{"total":3}},{"op":"delete","id":"x"}]`, 422,
			bad(`["body",1,"id"]`, "x"))
		s.expect("GET", "/receipts?id=x", "", 422, bad(`["query","id"]`, "x"))
		s.expect("GET", "/receipts/"+id, "", 200, row)

		d := s.spec()
		for _, p := range d.Paths["/receipts/{id}"]["get"].Parameters {
			if p.Name == "id" && p.Schema["format"] != "uuid" {
				t.Errorf("the id parameter's schema is %v, want format uuid", p.Schema)
			}
		}
	})
}
