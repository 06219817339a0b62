package crud_test

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"testing"

	"gorm.io/gorm"

	"github.com/fastapi-easy/easy-go/easy"
	"github.com/fastapi-easy/easy-go/easy/crud"
	"github.com/fastapi-easy/easy-go/easy/problem"
	"github.com/fastapi-easy/easy-go/easy/query"
	"github.com/fastapi-easy/easy-go/internal/testkit"
)

// TestListOperators runs the text, list and null operators and OR groups
// over the seed rows, on each database:
//
//	1 apple      note "red"
//	2 banana     note null
//	3 cherry     note "50% off"
//	4 pie Apple  note `a_b\c`
//	5 date       note "DATE"
func TestListOperators(t *testing.T) {
	q := url.QueryEscape
	cases := []struct {
		query string
		ids   []uint
	}{
		{"name__startswith=app", []uint{1}},
		{"name__startswith=App", []uint{}},
		{"name__startswith=" + q("pie A"), []uint{4}},
		{"name__istartswith=APP", []uint{1}},
		{"name__istartswith=PIE", []uint{4}},
		{"name__endswith=e", []uint{1, 4, 5}},
		{"name__endswith=Apple", []uint{4}},
		{"name__endswith=apple", []uint{1}},
		{"name__iendswith=APPLE", []uint{1, 4}},
		{"name__contains=an", []uint{2}},
		{"name__contains=Appl", []uint{4}},
		{"name__icontains=APP", []uint{1, 4}},
		{"name__startswith=", []uint{1, 2, 3, 4, 5}},
		{"note__endswith=", []uint{1, 3, 4, 5}}, // NULL passes no text filter
		{"note__contains=" + q("%"), []uint{3}},
		{"note__startswith=" + q("%"), []uint{}},
		{"note__startswith=" + q("50%"), []uint{3}},
		{"note__startswith=_", []uint{}},
		{"note__startswith=a_", []uint{4}},
		{"note__endswith=" + q(`\c`), []uint{4}},
		{"note__endswith=" + q(`_b\c`), []uint{4}},
		{"note__endswith=" + q("%"), []uint{}},
		{"note__iendswith=date", []uint{5}},
		{"note__istartswith=" + q("A_B"), []uint{4}},
		{"name__startswith=" + q("' OR 1=1 --"), []uint{}},
		{"name__iendswith=" + q("' OR ''='"), []uint{}},
		{"note__isnull=true", []uint{2}},
		{"note__isnull=yes", []uint{2}},
		{"note__isnull=false", []uint{1, 3, 4, 5}},
		{"id__nin=1,2", []uint{3, 4, 5}},
		{"name__nin=apple,date", []uint{2, 3, 4}},
		{"note__nin=red", []uint{3, 4, 5}}, // NULL is not "none of", as in SQL
		{"active__nin=true", []uint{2, 4}},
		{"price__nin=10,7&stock__nin=0", []uint{1}},
		{"or[name]=apple&or[name]=date", []uint{1, 5}},
		{"or[name]=apple", []uint{1}},
		{"or[name]=apple&name=date", []uint{}},
		{"or[name__startswith]=b&or[price__gt]=5", []uint{2, 3, 4, 5}},
		{"active=true&or[name__startswith]=a&or[note__isnull]=true", []uint{1}},
		{"or[name__startswith]=c&or[name__startswith]=d&or1[price]=10&or1[stock]=0", []uint{3, 5}},
		{"or[note__ne]=red&or[note__isnull]=true", []uint{2, 3, 4, 5}},
		{"or[note__icontains]=date&or[name__icontains]=date&or[id__in]=1,2", []uint{1, 2, 5}},
		{"or" + q("[name]") + "=cherry&or" + q("[stock]") + "=2", []uint{3, 4}},
		{"or[name__startswith]=" + q("' OR 1=1 --") + "&or[name__endswith]=" + q("%"), []uint{}},
	}
	testkit.Each(t, nil, func(t *testing.T, db *gorm.DB) {
		s := serve(t, db, easy.CRUDRouter[Item]())
		seedItems(t, db)
		for _, c := range cases {
			res := s.do("GET", "/items?"+c.query, "")
			if res.status != 200 {
				t.Errorf("%s: %d %s", c.query, res.status, res.body)
				continue
			}
			if got := ids(t, res.body); !slices.Equal(got, c.ids) {
				t.Errorf("%s: ids %v, want %v", c.query, got, c.ids)
			}
			if got := res.header.Get("X-Total-Count"); got != fmt.Sprint(len(c.ids)) {
				t.Errorf("%s: X-Total-Count %s, want %d", c.query, got, len(c.ids))
			}
		}
		if n := count(t, db, &Item{}); n != int64(len(seed)) {
			t.Errorf("rows = %d, want %d", n, len(seed))
		}
	})
}

// TestListOperatorsInvalid sends hostile and mistaken uses of the new
// operators and of OR groups: each is a 422 naming the parameter.
func TestListOperatorsInvalid(t *testing.T) {
	long := strings.TrimSuffix(strings.Repeat("1,", 501), ",")
	huge := strings.Repeat("a", 50001) // past SQLite's longest LIKE pattern
	var many []string
	for i := range 101 {
		many = append(many, fmt.Sprintf("or[name__ne]=a%d", i))
	}
	cases := []struct {
		query string
		want  string
	}{
		{"name__startswith=a%00", `{"detail":[{"type":"string_type","loc":["query","name__startswith"],"msg":"Input should be a valid UTF-8 string without NUL characters","input":"a\u0000"}]}`},
		{"name__iendswith=%ff", `{"detail":[{"type":"string_type","loc":["query","name__iendswith"],"msg":"Input should be a valid UTF-8 string without NUL characters","input":"` + "\uFFFD" + `"}]}`},
		{"price__startswith=1", `{"detail":[{"type":"filter_operator","loc":["query","price__startswith"],"msg":"Operator \"startswith\" does not apply to price, a number","input":"1"}]}`},
		{"active__icontains=t", `{"detail":[{"type":"filter_operator","loc":["query","active__icontains"],"msg":"Operator \"icontains\" does not apply to active, a boolean","input":"t"}]}`},
		{"name__isnull=true", `{"detail":[{"type":"filter_operator","loc":["query","name__isnull"],"msg":"Operator \"isnull\" does not apply to name, which cannot be null","input":"true"}]}`},
		{"note__isnull=maybe", `{"detail":[{"type":"bool_parsing","loc":["query","note__isnull"],"msg":"Input should be a valid boolean, unable to interpret input","input":"maybe"}]}`},
		{"note__isnull=" + url.QueryEscape("1 OR 1=1"), `{"detail":[{"type":"bool_parsing","loc":["query","note__isnull"],"msg":"Input should be a valid boolean, unable to interpret input","input":"1 OR 1=1"}]}`},
		{"id__nin=1,x", `{"detail":[{"type":"int_parsing","loc":["query","id__nin",1],"msg":"Input should be a valid integer, unable to parse string as an integer","input":"x"}]}`},
		{"id__nin=" + long, `{"detail":[{"type":"too_long","loc":["query","id__nin"],"msg":"List should have at most 500 items after validation, not 501","input":"` + long[:200] + `…","ctx":{"actual_length":501,"max_length":500}}]}`},
		{"or[foo]=1", `{"detail":[{"type":"extra_forbidden","loc":["query","or[foo]"],"msg":"Unknown query parameter: not skip, limit, sort or a filterable field","input":"1"}]}`},
		{"or[]=1", `{"detail":[{"type":"extra_forbidden","loc":["query","or[]"],"msg":"Unknown query parameter: not skip, limit, sort or a filterable field","input":"1"}]}`},
		{"orx[name]=1", `{"detail":[{"type":"extra_forbidden","loc":["query","orx[name]"],"msg":"Unknown query parameter: not skip, limit, sort or a filterable field","input":"1"}]}`},
		{"or[or[name]]=1", `{"detail":[{"type":"extra_forbidden","loc":["query","or[or[name]]"],"msg":"Unknown query parameter: not skip, limit, sort or a filterable field","input":"1"}]}`},
		{"or[price__gt]=x", `{"detail":[{"type":"float_parsing","loc":["query","or[price__gt]"],"msg":"Input should be a valid number, unable to parse string as a number","input":"x"}]}`},
		{"or[id__in]=1,x", `{"detail":[{"type":"int_parsing","loc":["query","or[id__in]",1],"msg":"Input should be a valid integer, unable to parse string as an integer","input":"x"}]}`},
		{"or[price__like]=1", `{"detail":[{"type":"filter_operator","loc":["query","or[price__like]"],"msg":"Operator \"like\" does not apply to price, a number","input":"1"}]}`},
		{"note__ilike=" + huge, `{"detail":[{"type":"string_too_long","loc":["query","note__ilike"],"msg":"String should have at most 10000 characters","input":"` + huge[:200] + `…","ctx":{"max_length":10000}}]}`},
		{"or[note]=" + huge[:10001], `{"detail":[{"type":"string_too_long","loc":["query","or[note]"],"msg":"String should have at most 10000 characters","input":"` + huge[:200] + `…","ctx":{"max_length":10000}}]}`},
		{strings.Join(many, "&"), `{"detail":[{"type":"too_many_conditions","loc":["query"],"msg":"A query may have at most 100 filter conditions, not 101","input":101,"ctx":{"max_conditions":100}}]}`},
		{"or[id__in]=" + long[:999] + "&id__nin=" + long[:999] + "&name=a", `{"detail":[{"type":"too_many_values","loc":["query"],"msg":"A query may compare with at most 1000 values in all, not 1001","input":1001,"ctx":{"max_values":1000}}]}`},
	}
	testkit.Each(t, nil, func(t *testing.T, db *gorm.DB) {
		s := serve(t, db, easy.CRUDRouter[Item]())
		seedItems(t, db)
		for _, c := range cases {
			s.expect("GET", "/items?"+c.query, "", 422, c.want)
		}
		if n := count(t, db, &Item{}); n != int64(len(seed)) {
			t.Errorf("rows = %d after hostile queries, want %d", n, len(seed))
		}
		// The longest text value, every byte escaped, is a pattern SQLite takes.
		s.expect("GET", "/items?note__ilike="+url.QueryEscape(strings.Repeat("%", 10000)), "", 200, "[]")
	})
}

// TestListManyBadValues sends 100 in filters of 500 bad values each: the
// parser stops at the errors a 422 lists, and the answer, those errors in
// order of location, is the same each time.
func TestListManyBadValues(t *testing.T) {
	bad := strings.TrimSuffix(strings.Repeat("x,", query.DefaultMaxIn), ",")
	values := url.Values{}
	for i := range query.DefaultMaxConditions {
		values.Set(fmt.Sprintf("or%d[id__in]", i), bad)
	}
	db := testkit.SQLite(t, nil)
	p, err := query.New(Item{}, db, query.Config{})
	if err != nil {
		t.Fatal(err)
	}
	_, err = p.List(values)
	var ve *problem.ValidationError
	if !errors.As(err, &ve) || len(ve.Errors) == 0 || len(ve.Errors) > problem.MaxErrors {
		t.Fatalf("List: %v errors, want 1 to %d", err, problem.MaxErrors)
	}
	s := serve(t, db, easy.CRUDRouter[Item]())
	first := s.do("GET", "/items?"+values.Encode(), "")
	if n := strings.Count(first.body, `"type":"int_parsing"`); first.status != 422 || n != problem.MaxErrors {
		t.Fatalf("got %d with %d errors, want 422 with %d", first.status, n, problem.MaxErrors)
	}
	s.expect("GET", "/items?"+values.Encode(), "", 422, first.body)
}

// TestOperatorsMatchSQL checks that each operator selects the same rows
// in SQL (Apply) as in memory (Match) with the parser of a database, over
// text meant to trip escaping and case folding, on each database: what a
// realtime subscription lets through is what the list shows.
func TestOperatorsMatchSQL(t *testing.T) {
	texts := []string{"apple", "Apple", "APPLE pie", "a%b", "a_b", `a\b`, "100%", "Élan", "élan", "ÉLAN", "straße",
		"it's", `"quoted"`, "", "x' OR '1'='1", "%", "_", `\`, "日本語", "ǅungla", "İstanbul", "KELVIN"}
	var values []string
	for _, s := range texts {
		values = append(values, s)
		if r := []rune(s); len(r) > 1 {
			values = append(values, string(r[:1]), string(r[len(r)-1:]), strings.ToUpper(s), strings.ToLower(s))
		}
	}
	ops := []string{"", "ne", "in", "nin", "like", "ilike", "contains", "icontains", "startswith", "istartswith", "endswith", "iendswith"}
	testkit.Each(t, nil, func(t *testing.T, db *gorm.DB) {
		if err := db.AutoMigrate(&Item{}); err != nil {
			t.Fatal(err)
		}
		rows := make([]Item, len(texts))
		for i, s := range texts {
			rows[i] = Item{Name: fmt.Sprintf("n%d", i), Note: ptr(s)}
		}
		rows = append(rows, Item{Name: "null note"})
		if err := db.Create(&rows).Error; err != nil {
			t.Fatal(err)
		}
		p, err := query.New(Item{}, db, query.Config{})
		if err != nil {
			t.Fatal(err)
		}
		check := func(filter map[string]string) {
			t.Helper()
			f, err := p.Filter(filter)
			if err != nil {
				t.Fatalf("%v: %v", filter, err)
			}
			var got []Item
			if err := f.Apply(db.Order("id")).Find(&got).Error; err != nil {
				t.Fatalf("%v: %v", filter, err)
			}
			var sqlIDs, memIDs []uint
			for _, r := range got {
				sqlIDs = append(sqlIDs, r.ID)
			}
			for i := range rows {
				if f.Match(&rows[i]) {
					memIDs = append(memIDs, rows[i].ID)
				}
			}
			if !slices.Equal(sqlIDs, memIDs) {
				t.Errorf("%q: SQL %v, Match %v", filter, sqlIDs, memIDs)
			}
		}
		for _, op := range ops {
			key := "note"
			if op != "" {
				key += "__" + op
			}
			for _, v := range values {
				check(map[string]string{key: v})
			}
		}
		check(map[string]string{"note__isnull": "true"})
		check(map[string]string{"note__isnull": "false"})
		check(map[string]string{"or[note__istartswith]": "é", "or[note__endswith]": "%", "or[note__isnull]": "true"})
		check(map[string]string{"or[note__icontains]": "É", "or1[note__iendswith]": "N", "or1[note]": "%"})
		check(map[string]string{"or[note__nin]": "apple,%", "name__ne": "n3", "or[name__in]": "n1,n2"})
	})
}

// Voucher has a string field stored in a uuid column (on PostgreSQL; text
// on SQLite), which the pattern operators cannot read on PostgreSQL.
type Voucher struct {
	ID  uint   `json:"id" gorm:"primaryKey"`
	Ref string `json:"ref" gorm:"type:uuid"`
}

// Memo has a nullable string field stored in a uuid column.
type Memo struct {
	ID  uint    `json:"id" gorm:"primaryKey"`
	Ref *string `json:"ref" gorm:"type:uuid"`
}

// The text operators apply to a string field only where its column holds
// text: on a uuid column PostgreSQL has no LIKE, and the error was a 500.
// The rule is the column's type, so it holds on SQLite too.
func TestTextOperatorsNeedATextColumn(t *testing.T) {
	ref := "0b7c7f2e-5d3a-4f7e-9a39-2f4d1c6b8e10"
	testkit.Each(t, nil, func(t *testing.T, db *gorm.DB) {
		s := serve(t, db, easy.CRUDRouter[Voucher]())
		s.expect("POST", "/vouchers", `{"ref":"`+ref+`"}`, 201, `{"id":1,"ref":"`+ref+`"}`)
		s.expect("GET", "/vouchers?ref="+ref, "", 200, `[{"id":1,"ref":"`+ref+`"}]`)
		for _, op := range []string{"startswith", "icontains", "like"} {
			s.expect("GET", "/vouchers?ref__"+op+"=0b7c", "", 422,
				`{"detail":[{"type":"filter_operator","loc":["query","ref__`+op+`"],"msg":"Operator \"`+op+`\" does not apply to ref, a column of type uuid","input":"0b7c"}]}`)
		}
	})
}

// A filter value for a uuid column that is not a UUID is a 422 at its
// parameter, on every database: PostgreSQL refused it when the list ran,
// a 422 at ["query"] that named no parameter, and SQLite found no row.
func TestUUIDColumnFilters(t *testing.T) {
	ref := "0b7c7f2e-5d3a-4f7e-9a39-2f4d1c6b8e10"
	testkit.Each(t, nil, func(t *testing.T, db *gorm.DB) {
		s := serve(t, db, easy.CRUDRouter[Voucher]())
		s.expect("POST", "/vouchers", `{"ref":"`+ref+`"}`, 201, `{"id":1,"ref":"`+ref+`"}`)
		bad := func(loc, input string) string {
			return `{"type":"uuid_parsing","loc":` + loc + `,"msg":"Input should be a valid UUID","input":"` + input + `"}`
		}
		s.expect("GET", "/vouchers?ref=not-a-uuid", "", 422, `{"detail":[`+bad(`["query","ref"]`, "not-a-uuid")+`]}`)
		s.expect("GET", "/vouchers?ref__ne=", "", 422, `{"detail":[`+bad(`["query","ref__ne"]`, "")+`]}`)
		s.expect("GET", "/vouchers?ref__in="+ref+",x,"+ref+"-", "", 422,
			`{"detail":[`+bad(`["query","ref__in",1]`, "x")+`,`+bad(`["query","ref__in",2]`, ref+"-")+`]}`)
		s.expect("GET", "/vouchers?ref__nin=x", "", 422, `{"detail":[`+bad(`["query","ref__nin",0]`, "x")+`]}`)
		s.expect("GET", "/vouchers?or[ref]=x&or[id]=1", "", 422, `{"detail":[`+bad(`["query","or[ref]"]`, "x")+`]}`)
		// Every form PostgreSQL reads as this UUID is taken.
		s.expect("GET", "/vouchers?ref__in="+ref+",0b7c7f2e5d3a4f7e9a392f4d1c6b8e10", "", 200, `[{"id":1,"ref":"`+ref+`"}]`)
		s.expect("GET", "/vouchers?ref__nin="+ref, "", 200, `[]`)

		// The document says so of the filters that take one UUID, not of
		// those that take a comma-separated list.
		want := map[string]any{"ref": "uuid", "ref__ne": "uuid", "ref__in": nil, "ref__nin": nil}
		for _, p := range s.spec().Paths["/vouchers"]["get"].Parameters {
			if f, ok := want[p.Name]; ok && p.Schema["format"] != f {
				t.Errorf("parameter %s: schema %v, want format %v", p.Name, p.Schema, f)
			}
		}
	})
}

// A body's value for a uuid column that is not a UUID is a 422 at its
// field, on every database: PostgreSQL refused the write, a 422 at
// ["body"] that named no field, and SQLite stored it.
func TestUUIDColumnBodies(t *testing.T) {
	ref := "0b7c7f2e-5d3a-4f7e-9a39-2f4d1c6b8e10"
	testkit.Each(t, nil, func(t *testing.T, db *gorm.DB) {
		s := serve(t, db, easy.CRUDRouter[Voucher](crud.Batch()), easy.CRUDRouter[Memo]())
		bad := func(loc, input string) string {
			return `{"detail":[{"type":"uuid_parsing","loc":` + loc + `,"msg":"Input should be a valid UUID","input":"` + input + `"}]}`
		}
		s.expect("POST", "/vouchers", `{"ref":"x"}`, 422, bad(`["body","ref"]`, "x"))
		s.expect("POST", "/vouchers", `{"ref":"`+ref+`"}`, 201, `{"id":1,"ref":"`+ref+`"}`)
		s.expect("PUT", "/vouchers/1", `{"ref":"`+ref+`0"}`, 422, bad(`["body","ref"]`, ref+"0"))
		s.expect("PATCH", "/vouchers/1", `{"ref":"not-a-uuid"}`, 422, bad(`["body","ref"]`, "not-a-uuid"))
		s.expect("POST", "/vouchers/batch", `[{"op":"create","body":{"ref":"`+ref+`"}},{"op":"update","id":1,"body":{"ref":"y"}}]`, 422,
			bad(`["body",1,"body","ref"]`, "y"))
		s.expect("GET", "/vouchers", "", 200, `[{"id":1,"ref":"`+ref+`"}]`)

		// A UUID is stored, compared and answered in its canonical form on
		// every database, as PostgreSQL stores it; SQLite stored it as sent.
		upper := strings.ToUpper(strings.ReplaceAll(ref, "-", ""))
		s.expect("PATCH", "/vouchers/1", `{"ref":"`+upper+`"}`, 200, `{"id":1,"ref":"`+ref+`"}`)
		s.expect("GET", "/vouchers?ref="+strings.ToUpper(ref), "", 200, `[{"id":1,"ref":"`+ref+`"}]`)
		s.expect("GET", "/vouchers?ref__in=x"+","+upper, "", 422, bad(`["query","ref__in",0]`, "x"))
		s.expect("GET", "/vouchers?ref__in="+upper, "", 200, `[{"id":1,"ref":"`+ref+`"}]`)
		// A pointer to "" is a value, not an absent one.
		s.expect("POST", "/memos", `{"ref":""}`, 422, bad(`["body","ref"]`, ""))
		s.expect("POST", "/memos", `{"ref":null}`, 201, `{"id":1,"ref":null}`)
	})
}

// expectNotSorted checks that sorting the list at path by each of keys
// is a 422 that names the fields it can be sorted by, sortable.
func (s *server) expectNotSorted(path, sortable string, keys ...string) {
	s.t.Helper()
	for _, key := range keys {
		s.expect("GET", path+"?sort="+key, "", 422,
			`{"detail":[{"type":"sort_field","loc":["query","sort"],"msg":"Cannot sort by \"`+key+`\": use a comma-separated list of `+sortable+`, each with - in front to sort descending","input":"`+key+`"}]}`)
	}
}

// Sheet has text stored as json, which PostgreSQL can neither compare
// nor order, and the same as jsonb, which it can.
type Sheet struct {
	ID    uint    `json:"id" gorm:"primaryKey"`
	Data  string  `json:"data" gorm:"type:json"`
	Extra *string `json:"extra" gorm:"type:json"`
	Doc   string  `json:"doc" gorm:"type:jsonb"`
}

// A json column is never compared nor sorted, on every database: =, ne,
// in, nin and sort reached PostgreSQL, which has no operator for them,
// and the list was a 500. A nullable one can be asked whether it is null.
func TestJSONColumnsAreNotCompared(t *testing.T) {
	testkit.Each(t, nil, func(t *testing.T, db *gorm.DB) {
		s := serve(t, db, easy.CRUDRouter[Sheet]())
		row := `{"id":1,"data":"{}","extra":null,"doc":"{}"}`
		s.expect("POST", "/sheets", `{"data":"{}","doc":"{}"}`, 201, row)
		s.expect("GET", "/sheets?data=%7B%7D", "", 422,
			`{"detail":[{"type":"filter_field","loc":["query","data"],"msg":"Cannot filter by data, a column of type json","input":"{}"}]}`)
		for _, op := range []string{"", "__ne", "__in", "__nin"} {
			name := strings.TrimPrefix(op, "__")
			if name == "" {
				name = "eq"
			}
			s.expect("GET", "/sheets?extra"+op+"=1", "", 422,
				`{"detail":[{"type":"filter_operator","loc":["query","extra`+op+`"],"msg":"Operator \"`+name+`\" does not apply to extra, a column of type json","input":"1"}]}`)
		}
		s.expect("GET", "/sheets?extra__isnull=true", "", 200, `[`+row+`]`)
		s.expectNotSorted("/sheets", "id, doc", "data", "-extra")
		s.expect("GET", "/sheets?doc=%7B%7D&sort=-doc", "", 200, `[`+row+`]`)
		// The column may be named where only isnull applies; a hook's own
		// order by it is its program's mistake, found on SQLite too.
		hooked := serve(t, db, crud.New[Sheet](crud.Filterable("extra")).
			BeforeList(func(ctx context.Context, q *query.Query) error {
				q.Sort = append(q.Sort, query.Sort{Field: "data"})
				return nil
			}))
		hooked.expect("GET", "/sheets?extra__isnull=false", "", 500, `{"detail":"Internal Server Error"}`)

		var params []string
		for _, p := range s.spec().Paths["/sheets"]["get"].Parameters {
			params = append(params, p.Name)
		}
		if want := "skip limit sort cursor fields id id__ne id__gt id__gte id__lt id__lte id__in id__nin extra__isnull doc doc__ne doc__in doc__nin or If-None-Match"; strings.Join(params, " ") != want {
			t.Errorf("the list's parameters are\n%s, want\n%s", strings.Join(params, " "), want)
		}
	})
}

// Place has columns of types that PostgreSQL, as for json, can neither
// compare nor order: a geometric one and an xml one.
type Place struct {
	ID   uint    `json:"id" gorm:"primaryKey"`
	Spot string  `json:"spot" gorm:"type:point"`
	Note *string `json:"note" gorm:"type:xml"`
}

// A filter or a sort by an xml or a geometric column is a 422 on every
// database, as for json: on PostgreSQL, which has no = and no order for
// them, the list was a 500.
func TestXMLAndGeometricColumnsAreNotCompared(t *testing.T) {
	testkit.Each(t, nil, func(t *testing.T, db *gorm.DB) {
		s := serve(t, db, easy.CRUDRouter[Place]())
		row := `{"id":1,"spot":"(1,2)","note":"\u003ca/\u003e"}` // encoding/json escapes < and >
		s.expect("POST", "/places", `{"spot":"(1,2)","note":"<a/>"}`, 201, row)
		s.expect("GET", "/places", "", 200, `[`+row+`]`)
		s.expect("GET", "/places?spot=(1,2)", "", 422,
			`{"detail":[{"type":"filter_field","loc":["query","spot"],"msg":"Cannot filter by spot, a column of type point","input":"(1,2)"}]}`)
		s.expect("GET", "/places?note=%3Ca%2F%3E", "", 422,
			`{"detail":[{"type":"filter_operator","loc":["query","note"],"msg":"Operator \"eq\" does not apply to note, a column of type xml","input":"\u003ca/\u003e"}]}`)
		s.expect("GET", "/places?note__isnull=false", "", 200, `[`+row+`]`)
		s.expectNotSorted("/places", "id", "spot", "-note")
	})
}

// Track has such columns written as gorm takes them too: with spaces
// around the type, and as an array.
type Track struct {
	ID    uint    `json:"id" gorm:"primaryKey"`
	Start string  `json:"start" gorm:"type: point"`
	Stops *string `json:"stops" gorm:"type:point[]"`
}

// The type is read as PostgreSQL reads it: " point" is a point, and an
// array of points can be neither compared nor ordered either. Both were
// 500s on PostgreSQL.
func TestIncomparableColumnsAsGORMWritesThem(t *testing.T) {
	testkit.Each(t, nil, func(t *testing.T, db *gorm.DB) {
		s := serve(t, db, easy.CRUDRouter[Track]())
		s.expect("POST", "/tracks", `{"start":"(0,0)"}`, 201, `{"id":1,"start":"(0,0)","stops":null}`)
		s.expect("GET", "/tracks?start=(0,0)", "", 422,
			`{"detail":[{"type":"filter_field","loc":["query","start"],"msg":"Cannot filter by start, a column of type point","input":"(0,0)"}]}`)
		s.expect("GET", "/tracks?stops=x", "", 422,
			`{"detail":[{"type":"filter_operator","loc":["query","stops"],"msg":"Operator \"eq\" does not apply to stops, a column of type point[]","input":"x"}]}`)
		s.expect("GET", "/tracks?stops__isnull=true", "", 200, `[{"id":1,"start":"(0,0)","stops":null}]`)
		s.expectNotSorted("/tracks", "id", "start", "stops")
	})
}

// A row policy's value for a uuid column is a UUID as the column stores
// it: in canonical form, whatever form the program gives, so that the
// rows it fills and the rows it finds agree on both databases. It was
// stored as given on SQLite, and echoed as given on PostgreSQL, which
// stored it otherwise.
func TestRowPolicyOnAUUIDColumn(t *testing.T) {
	ref := "0b7c7f2e-5d3a-4f7e-9a39-2f4d1c6b8e10"
	testkit.Each(t, nil, func(t *testing.T, db *gorm.DB) {
		upper := func(context.Context) (any, error) { return strings.ToUpper(ref), nil }
		s := serve(t, db, easy.CRUDRouter[Voucher](crud.Policy(query.Rows("ref", upper))))
		s.expect("POST", "/vouchers", `{}`, 201, `{"id":1,"ref":"`+ref+`"}`)
		s.expect("GET", "/vouchers", "", 200, `[{"id":1,"ref":"`+ref+`"}]`)
		s.expect("GET", "/vouchers/1", "", 200, `{"id":1,"ref":"`+ref+`"}`)
	})
}
