package crud_test

import (
	"errors"
	"slices"
	"testing"

	"gorm.io/gorm"

	"github.com/fastapi-easy/easy-go/easy/problem"
	"github.com/fastapi-easy/easy-go/easy/query"
	"github.com/fastapi-easy/easy-go/internal/testkit"
)

// TestFilterMatchesSQL checks that a parsed filter selects the same rows
// in SQL (Apply) as in memory (Match), on each database, for every
// operator.
func TestFilterMatchesSQL(t *testing.T) {
	filters := []map[string]string{
		{},
		{"name": "apple"},
		{"name__ne": "apple"},
		{"price__gt": "1.5", "active": "true"},
		{"price__gte": "1.5"},
		{"price__lt": "10"},
		{"price__lte": "10", "stock__gt": "0"},
		{"stock__in": "0,1,2"},
		{"name__in": "apple,date,nothing"},
		{"name__like": "Appl"},
		{"name__ilike": "APPL"},
		{"note__like": "%"},
		{"note__like": "_"},
		{"note__like": `\`},
		{"note__ilike": "DaTe"},
		{"note": "red"},
		{"note__ne": "red"},
		{"active__ne": "true"},
		{"id__in": "1,3,5", "price": "10"},
	}
	testkit.Each(t, nil, func(t *testing.T, db *gorm.DB) {
		if err := db.AutoMigrate(&Item{}); err != nil {
			t.Fatal(err)
		}
		seedItems(t, db)
		var all []Item
		db.Order("id").Find(&all)
		for _, values := range filters {
			f, err := query.ParseFilter[Item](values)
			if err != nil {
				t.Fatalf("%v: %v", values, err)
			}
			var rows []Item
			if err := f.Apply(db.Order("id")).Find(&rows).Error; err != nil {
				t.Fatalf("%v: %v", values, err)
			}
			var sqlIDs, memIDs []uint
			for _, r := range rows {
				sqlIDs = append(sqlIDs, r.ID)
			}
			for i := range all {
				if f.Match(&all[i]) {
					memIDs = append(memIDs, all[i].ID)
				}
			}
			if !slices.Equal(sqlIDs, memIDs) {
				t.Errorf("%v: SQL %v, Match %v", values, sqlIDs, memIDs)
			}
		}
	})
}

// TestParseFilter checks what ParseFilter returns: its conditions, typed,
// and 422 errors located at the parameter.
func TestParseFilter(t *testing.T) {
	f, err := query.ParseFilter[Item](map[string]string{"price__gt": "2", "name__in": "a,b", "active": "yes"})
	if err != nil {
		t.Fatal(err)
	}
	want := []query.Condition{
		{Field: "active", Op: query.Eq, Value: true},
		{Field: "name", Op: query.In, Value: []any{"a", "b"}},
		{Field: "price", Op: query.Gt, Value: 2.0},
	}
	if got := f.Conditions(); !slices.EqualFunc(got, want, func(a, b query.Condition) bool {
		return a.Field == b.Field && a.Op == b.Op && fmtValue(a.Value) == fmtValue(b.Value)
	}) {
		t.Errorf("conditions %+v, want %+v", got, want)
	}
	if f.Match(nil) {
		t.Error("nil matches")
	}
	if !f.Match(&Item{Name: "a", Price: 3, Active: true}) || f.Match(&Item{Name: "a", Price: 2, Active: true}) {
		t.Error("Match is wrong")
	}

	_, err = query.ParseFilter[Item](map[string]string{"price__gt": "x", "limit": "5"})
	var ve *problem.ValidationError
	if !errors.As(err, &ve) || len(ve.Errors) != 2 {
		t.Fatalf("error %v", err)
	}
	if loc := ve.Errors[0].Loc; !slices.Equal(loc, []any{"query", "limit"}) || ve.Errors[0].Type != "extra_forbidden" {
		t.Errorf("first error %+v", ve.Errors[0])
	}
	if loc := ve.Errors[1].Loc; !slices.Equal(loc, []any{"query", "price__gt"}) || ve.Errors[1].Type != "float_parsing" {
		t.Errorf("second error %+v", ve.Errors[1])
	}
	if _, err := query.ParseFilter[struct{ X int }](nil); err == nil {
		t.Error("a model without a key parsed")
	}
	var nilNote Item
	nf, _ := query.ParseFilter[Item](map[string]string{"note__ne": "x"})
	if nf.Match(&nilNote) {
		t.Error("a NULL note passes note__ne, unlike in SQL")
	}
}

func fmtValue(v any) string {
	b, _ := jsonMarshal(v)
	return string(b)
}

// TestFilterOfAModelKnownAtRunTime checks the filter of a model known at run time: it
// matches values and pointers of the model alone, and applies in SQL.
func TestFilterOfAModelKnownAtRunTime(t *testing.T) {
	p, err := query.New(Item{}, nil, query.Config{})
	if err != nil {
		t.Fatal(err)
	}
	f, err := p.Filter(map[string]string{"name__like": "appl"})
	if err != nil {
		t.Fatal(err)
	}
	apple := Item{Name: "apple"}
	for _, c := range []struct {
		row  any
		want bool
	}{
		{apple, true}, {&apple, true}, {Item{Name: "pear"}, false}, {(*Item)(nil), false}, {Task{Title: "apple"}, false}, {nil, false},
	} {
		if got := f.Match(c.row); got != c.want {
			t.Errorf("Match(%#v) = %v", c.row, got)
		}
	}
	db := testkit.SQLite(t, nil)
	db.AutoMigrate(&Item{})
	seedItems(t, db)
	var rows []Item
	if err := f.Apply(db.Model(&Item{})).Find(&rows).Error; err != nil || len(rows) != 1 || rows[0].Name != "apple" {
		t.Errorf("Apply: %v %+v", err, rows)
	}
	pp, err := query.New(&Item{}, nil, query.Config{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := pp.Filter(map[string]string{"nope": "1"}); err == nil {
		t.Error("an unknown field parsed")
	}
	if _, err := query.New(nil, nil, query.Config{}); err == nil {
		t.Error("a nil model parsed")
	}
}
