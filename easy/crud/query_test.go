package crud_test

import (
	"fmt"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/fastapi-easy/easy-go/easy"
	"github.com/fastapi-easy/easy-go/easy/crud"
	"github.com/fastapi-easy/easy-go/internal/testkit"
)

// seed are the rows of the list tests. Names sort alike in every
// collation (no capital first letters), so that one table of expected
// orders holds on SQLite and PostgreSQL.
var seed = []Item{
	{Name: "apple", Price: 1.5, Stock: 10, Active: true, Note: ptr("red")},
	{Name: "banana", Price: 0.25, Stock: 0, Active: false},
	{Name: "cherry", Price: 10, Stock: 5, Active: true, Note: ptr("50% off")},
	{Name: "pie Apple", Price: 7, Stock: 2, Active: false, Note: ptr(`a_b\c`)},
	{Name: "date", Price: 10, Stock: 1, Active: true, Note: ptr("DATE")},
}

func seedItems(t testing.TB, db *gorm.DB) {
	t.Helper()
	items := slices.Clone(seed)
	if err := db.Create(&items).Error; err != nil {
		t.Fatal(err)
	}
}

func ids(t testing.TB, body string) []uint {
	t.Helper()
	out := []uint{}
	for _, it := range decode[[]Item](t, body) {
		out = append(out, it.ID)
	}
	return out
}

// TestListQuery runs every operator, sort direction and page edge of the
// list query language, and checks the rows and X-Total-Count.
func TestListQuery(t *testing.T) {
	cases := []struct {
		query string
		ids   []uint
		total int
	}{
		{"", []uint{1, 2, 3, 4, 5}, 5},
		{"name=apple", []uint{1}, 1},
		{"name__ne=apple", []uint{2, 3, 4, 5}, 4},
		{"price=10", []uint{3, 5}, 2},
		{"price__gt=1.5", []uint{3, 4, 5}, 3},
		{"price__gte=1.5", []uint{1, 3, 4, 5}, 4},
		{"price__lt=1.5", []uint{2}, 1},
		{"price__lte=1.5", []uint{1, 2}, 2},
		{"stock__in=0,5,99", []uint{2, 3}, 2},
		{"name__in=apple,date", []uint{1, 5}, 2},
		{"id__in=3", []uint{3}, 1},
		{"name__like=Appl", []uint{4}, 1},
		{"name__like=appl", []uint{1}, 1},
		{"name__ilike=APPL", []uint{1, 4}, 2},
		{"note__like=" + url.QueryEscape("%"), []uint{3}, 1},
		{"note__like=_", []uint{4}, 1},
		{"note__like=" + url.QueryEscape(`\`), []uint{4}, 1},
		{"note__like=" + url.QueryEscape(`b\c`), []uint{4}, 1},
		{"note__like=date", []uint{}, 0},
		{"note__ilike=date", []uint{5}, 1},
		{"note=red", []uint{1}, 1},
		{"note__ne=red", []uint{3, 4, 5}, 3}, // NULL is not "not red", as in SQL
		{"active=true", []uint{1, 3, 5}, 3},
		{"active=false&price__gt=1", []uint{4}, 1},
		{"active__ne=true", []uint{2, 4}, 2},
		{"price__gt=1&price__lt=10", []uint{1, 4}, 2},
		{"name__like=a&name__like=e", []uint{1, 5}, 2}, // a key given twice: both hold
		{"sort=price", []uint{2, 1, 4, 3, 5}, 5},
		{"sort=-price", []uint{3, 5, 4, 1, 2}, 5}, // ties in pk order
		{"sort=-price,name", []uint{3, 5, 4, 1, 2}, 5},
		{"sort=-price,-name", []uint{5, 3, 4, 1, 2}, 5},
		{"sort=active,-stock", []uint{4, 2, 1, 3, 5}, 5},
		{"sort=-id", []uint{5, 4, 3, 2, 1}, 5},
		{"skip=2&limit=2", []uint{3, 4}, 5},
		{"skip=4&limit=2", []uint{5}, 5},
		{"skip=5", []uint{}, 5},
		{"skip=1000000", []uint{}, 5},
		{"limit=0", []uint{}, 5},
		{"limit=1000", []uint{1, 2, 3, 4, 5}, 5},
		{"skip=1&limit=1&sort=-id", []uint{4}, 5},
		{"price__gt=5&sort=-name&limit=2", []uint{4, 5}, 3},
		{"name__like=" + url.QueryEscape("%' OR 1=1 --"), []uint{}, 0},
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
			if got := res.header.Get("X-Total-Count"); got != fmt.Sprint(c.total) {
				t.Errorf("%s: X-Total-Count %s, want %d", c.query, got, c.total)
			}
		}
	})
}

// TestListQueryInvalid sends hostile and mistaken queries: each is a 422
// that names the parameter, no SQL runs with them, and the table is intact.
func TestListQueryInvalid(t *testing.T) {
	long := strings.TrimSuffix(strings.Repeat("1,", 501), ",")
	cases := []struct {
		query string
		want  string
	}{
		{"limit=1001", `{"detail":[{"type":"less_than_equal","loc":["query","limit"],"msg":"Input should be less than or equal to 1000","input":"1001","ctx":{"le":1000}}]}`},
		{"limit=-1", `{"detail":[{"type":"greater_than_equal","loc":["query","limit"],"msg":"Input should be greater than or equal to 0","input":"-1","ctx":{"ge":0}}]}`},
		{"skip=-5", `{"detail":[{"type":"greater_than_equal","loc":["query","skip"],"msg":"Input should be greater than or equal to 0","input":"-5","ctx":{"ge":0}}]}`},
		{"skip=abc", `{"detail":[{"type":"int_parsing","loc":["query","skip"],"msg":"Input should be a valid integer, unable to parse string as an integer","input":"abc"}]}`},
		{"skip=99999999999999999999", `{"detail":[{"type":"less_than_equal","loc":["query","skip"],"msg":"Input should be less than or equal to 2147483647","input":"99999999999999999999","ctx":{"le":2147483647}}]}`},
		{"skip=2147483648", `{"detail":[{"type":"less_than_equal","loc":["query","skip"],"msg":"Input should be less than or equal to 2147483647","input":"2147483648","ctx":{"le":2147483647}}]}`},
		{"skip=-99999999999999999999", `{"detail":[{"type":"greater_than_equal","loc":["query","skip"],"msg":"Input should be greater than or equal to 0","input":"-99999999999999999999","ctx":{"ge":0}}]}`},
		{"sort=" + url.QueryEscape("name;DROP TABLE items"), `{"detail":[{"type":"sort_field","loc":["query","sort"],"msg":"Cannot sort by \"name;DROP TABLE items\": use a comma-separated list of id, name, price, stock, active, note, each with - in front to sort descending","input":"name;DROP TABLE items"}]}`},
		{"sort=" + url.QueryEscape("price desc"), `{"detail":[{"type":"sort_field","loc":["query","sort"],"msg":"Cannot sort by \"price desc\": use a comma-separated list of id, name, price, stock, active, note, each with - in front to sort descending","input":"price desc"}]}`},
		{"sort=name,", `{"detail":[{"type":"sort_field","loc":["query","sort"],"msg":"Cannot sort by \"\": use a comma-separated list of id, name, price, stock, active, note, each with - in front to sort descending","input":"name,"}]}`},
		{"foo=1", `{"detail":[{"type":"extra_forbidden","loc":["query","foo"],"msg":"Unknown query parameter: not skip, limit, sort or a filterable field","input":"1"}]}`},
		{"include_deleted=true", `{"detail":[{"type":"extra_forbidden","loc":["query","include_deleted"],"msg":"Unknown query parameter: not skip, limit, sort or a filterable field","input":"true"}]}`},
		{"price__foo=1", `{"detail":[{"type":"filter_operator","loc":["query","price__foo"],"msg":"Unknown operator \"foo\": use one of ne, gt, gte, lt, lte, in, like, ilike, nin, contains, icontains, startswith, istartswith, endswith, iendswith, isnull","input":"1"}]}`},
		{"price__like=1", `{"detail":[{"type":"filter_operator","loc":["query","price__like"],"msg":"Operator \"like\" does not apply to price, a number","input":"1"}]}`},
		{"name__gt=a", `{"detail":[{"type":"filter_operator","loc":["query","name__gt"],"msg":"Operator \"gt\" does not apply to name, a string","input":"a"}]}`},
		{"price__gt=abc", `{"detail":[{"type":"float_parsing","loc":["query","price__gt"],"msg":"Input should be a valid number, unable to parse string as a number","input":"abc"}]}`},
		{"price=NaN", `{"detail":[{"type":"float_parsing","loc":["query","price"],"msg":"Input should be a valid number, unable to parse string as a number","input":"NaN"}]}`},
		{"id=" + url.QueryEscape("1 OR 1=1"), `{"detail":[{"type":"int_parsing","loc":["query","id"],"msg":"Input should be a valid integer, unable to parse string as an integer","input":"1 OR 1=1"}]}`},
		{"id=18446744073709551615", `{"detail":[{"type":"less_than_equal","loc":["query","id"],"msg":"Input should be less than or equal to 9223372036854775807","input":"18446744073709551615","ctx":{"le":9223372036854775807}}]}`},
		{"id__in=1,x,3", `{"detail":[{"type":"int_parsing","loc":["query","id__in",1],"msg":"Input should be a valid integer, unable to parse string as an integer","input":"x"}]}`},
		{"id__in=" + long, `{"detail":[{"type":"too_long","loc":["query","id__in"],"msg":"List should have at most 500 items after validation, not 501","input":"` + long[:200] + `…","ctx":{"actual_length":501,"max_length":500}}]}`},
		{"active=maybe", `{"detail":[{"type":"bool_parsing","loc":["query","active"],"msg":"Input should be a valid boolean, unable to interpret input","input":"maybe"}]}`},
		{"name=a%00b", `{"detail":[{"type":"string_type","loc":["query","name"],"msg":"Input should be a valid UTF-8 string without NUL characters","input":"a\u0000b"}]}`},
		{"name=%ff", `{"detail":[{"type":"string_type","loc":["query","name"],"msg":"Input should be a valid UTF-8 string without NUL characters","input":"` + "\uFFFD" + `"}]}`},
		{"name__ilike=" + url.QueryEscape("' OR ''='"), ``},
		{"foo=1&limit=5000&price__gt=x", `{"detail":[{"type":"extra_forbidden","loc":["query","foo"],"msg":"Unknown query parameter: not skip, limit, sort or a filterable field","input":"1"},{"type":"less_than_equal","loc":["query","limit"],"msg":"Input should be less than or equal to 1000","input":"5000","ctx":{"le":1000}},{"type":"float_parsing","loc":["query","price__gt"],"msg":"Input should be a valid number, unable to parse string as a number","input":"x"}]}`},
	}
	testkit.Each(t, nil, func(t *testing.T, db *gorm.DB) {
		s := serve(t, db, easy.CRUDRouter[Item]())
		seedItems(t, db)
		for _, c := range cases {
			if c.want == "" {
				s.expect("GET", "/items?"+c.query, "", 200, `[]`)
				continue
			}
			s.expect("GET", "/items?"+c.query, "", 422, c.want)
		}
		if n := count(t, db, &Item{}); n != int64(len(seed)) {
			t.Errorf("rows = %d after hostile queries, want %d", n, len(seed))
		}
	})
}

// TestPageSize checks the PageSize option: the default limit and the
// largest one.
func TestPageSize(t *testing.T) {
	db := testkit.SQLite(t, nil)
	s := serve(t, db, easy.CRUDRouter[Item](crud.PageSize(2, 3)))
	seedItems(t, db)
	if got := ids(t, s.do("GET", "/items", "").body); !slices.Equal(got, []uint{1, 2}) {
		t.Errorf("default page: %v", got)
	}
	if got := ids(t, s.do("GET", "/items?limit=3", "").body); !slices.Equal(got, []uint{1, 2, 3}) {
		t.Errorf("limit=3: %v", got)
	}
	s.expect("GET", "/items?limit=4", "", 422, `{"detail":[{"type":"less_than_equal","loc":["query","limit"],"msg":"Input should be less than or equal to 3","input":"4","ctx":{"le":3}}]}`)
}

// TestFilterableSortable checks that only the chosen fields filter and sort.
func TestFilterableSortable(t *testing.T) {
	db := testkit.SQLite(t, nil)
	s := serve(t, db, easy.CRUDRouter[Item](crud.Filterable("name"), crud.Sortable("price")))
	seedItems(t, db)
	s.expect("GET", "/items?name=apple&sort=-price", "", 200, `[{"id":1,"name":"apple","price":1.5,"stock":10,"active":true,"note":"red"}]`)
	s.expect("GET", "/items?price=1", "", 422, `{"detail":[{"type":"filter_field","loc":["query","price"],"msg":"Cannot filter by price","input":"1"}]}`)
	s.expect("GET", "/items?sort=name", "", 422, `{"detail":[{"type":"sort_field","loc":["query","sort"],"msg":"Cannot sort by \"name\": use a comma-separated list of price, each with - in front to sort descending","input":"name"}]}`)
}

// TestTimeFilters filters by the timestamps GORM writes, on each database.
func TestTimeFilters(t *testing.T) {
	testkit.Each(t, nil, func(t *testing.T, db *gorm.DB) {
		s := serve(t, db, easy.CRUDRouter[Task]())
		s.do("POST", "/tasks", `{"title":"a"}`)
		s.do("POST", "/tasks", `{"title":"b"}`)
		var first Task
		db.First(&first, 1)
		yesterday := time.Now().Add(-24 * time.Hour).UTC().Format(time.RFC3339)
		tomorrow := time.Now().Add(24 * time.Hour).Format(time.RFC3339Nano)
		cases := []struct {
			query string
			n     int
		}{
			{"created_at__gte=" + url.QueryEscape(yesterday), 2},
			{"created_at__gt=" + url.QueryEscape(tomorrow), 0},
			{"created_at__lt=2000-01-01", 0},
			{"created_at__gt=2000-01-01", 2},
			{"updated_at__lte=" + url.QueryEscape(tomorrow), 2},
			{"created_at=" + url.QueryEscape(first.CreatedAt.Format(time.RFC3339Nano)), 1},
			{"created_at__in=" + url.QueryEscape(first.CreatedAt.Format(time.RFC3339Nano)+",2000-01-01"), 1},
		}
		for _, c := range cases {
			res := s.do("GET", "/tasks?"+c.query, "")
			if got := len(ids2(t, res.body)); res.status != 200 || got != c.n {
				t.Errorf("%s: %d %s, want %d rows", c.query, res.status, res.body, c.n)
			}
		}
		s.expect("GET", "/tasks?created_at__gt=yesterday", "", 422, `{"detail":[{"type":"datetime_parsing","loc":["query","created_at__gt"],"msg":"Input should be a valid datetime or date (RFC 3339, or YYYY-MM-DD)","input":"yesterday"}]}`)
		s.expect("GET", "/tasks?created_at__like=2024", "", 422, `{"detail":[{"type":"filter_operator","loc":["query","created_at__like"],"msg":"Operator \"like\" does not apply to created_at, a date-time","input":"2024"}]}`)
	})
}

// TestQueryBounds checks that a list with more conditions, or more values
// in all, than the database takes is a 422 naming the limit, on each
// database, where it was a 500; the options move the limits, and the
// table is intact after each.
func TestQueryBounds(t *testing.T) {
	testkit.Each(t, nil, func(t *testing.T, db *gorm.DB) {
		s := serve(t, db, easy.CRUDRouter[Item](), easy.CRUDRouter[Task](crud.MaxConditions(2), crud.MaxValues(3)))
		seedItems(t, db)
		var ne, in []string
		for i := range 1000 {
			ne = append(ne, fmt.Sprintf("name__ne=a%d", i))
		}
		vals := make([]string, 500)
		for i := range vals {
			vals[i] = fmt.Sprint(i + 1)
		}
		for range 66 {
			in = append(in, "id__in="+strings.Join(vals, ","))
		}
		s.expect("GET", "/items?"+strings.Join(ne, "&"), "", 422,
			`{"detail":[{"type":"too_many_conditions","loc":["query"],"msg":"A query may have at most 100 filter conditions, not 1000","input":1000,"ctx":{"max_conditions":100}}]}`)
		s.expect("GET", "/items?"+strings.Join(in, "&"), "", 422,
			`{"detail":[{"type":"too_many_values","loc":["query"],"msg":"A query may compare with at most 1000 values in all, not 33000","input":33000,"ctx":{"max_values":1000}}]}`)
		s.expect("GET", "/items?"+strings.Repeat("price__gte=0&", 1000)+"limit=1", "", 422,
			`{"detail":[{"type":"too_many_parameters","loc":["query"],"msg":"Query string should have at most 1000 parameters, not 1001","input":"`+
				strings.ReplaceAll(strings.Repeat("price__gte=0&", 16)[:200], "&", `\u0026`)+`…","ctx":{"max_parameters":1000}}]}`)
		// At the bounds, a query runs.
		if res := s.do("GET", "/items?"+strings.Join(ne[:100], "&"), ""); res.status != 200 || len(ids(t, res.body)) != len(seed) {
			t.Errorf("100 conditions: %d %s", res.status, res.body)
		}
		if res := s.do("GET", "/items?id__in="+strings.Join(vals, ",")+"&id__in="+strings.Join(vals, ","), ""); res.status != 200 {
			t.Errorf("1,000 values: %d %s", res.status, res.body)
		}
		s.expect("GET", "/tasks?title__ne=a&title__ne=b&title__ne=c", "", 422,
			`{"detail":[{"type":"too_many_conditions","loc":["query"],"msg":"A query may have at most 2 filter conditions, not 3","input":3,"ctx":{"max_conditions":2}}]}`)
		s.expect("GET", "/tasks?id__in=1,2,3&title=a", "", 422,
			`{"detail":[{"type":"too_many_values","loc":["query"],"msg":"A query may compare with at most 3 values in all, not 4","input":4,"ctx":{"max_values":3}}]}`)
		if n := count(t, db, &Item{}); n != int64(len(seed)) {
			t.Errorf("the table has %d rows", n)
		}
	})
}
