package query

import (
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/fastapi-easy/easy-go/easy/problem"
	"github.com/fastapi-easy/easy-go/internal/binding"
	"github.com/fastapi-easy/easy-go/internal/testkit"
)

// fuzzRow has a field of each kind, and text meant to trip escaping.
type fuzzRow struct {
	ID     uint    `json:"id" gorm:"primaryKey"`
	Name   string  `json:"name"`
	Price  float64 `json:"price"`
	Stock  int8    `json:"stock"`
	Code   uint16  `json:"code"`
	Active bool    `json:"active"`
	Note   *string `json:"note"`
}

var fuzzNames = []string{
	"apple", "Apple", "APPLE pie", "a%b", "a_b", `a\b`, "100%", "Élan", "it's", `"quoted"`, "",
	"semi;colon", "--comment", "x' OR '1'='1", "under_score", "%", "_", `\`, "tab\there", "日本",
	"ÉLAN", "élan", "straße", "KELVIN",
}

// FuzzParseQuery feeds raw query strings to the one query-string parser
// and the list parser and, when one parses, runs it: a malformed query
// string must be a 422 at ["query"], a bad list query a 422 located at one
// of its parameters, a good one must run without a database error and
// select exactly the rows Match selects (every operator and OR group,
// case folded as SQLite folds it), and the table must stay whole.
// The seed corpus is in testdata/fuzz/FuzzParseQuery.
func FuzzParseQuery(f *testing.F) {
	db := testkit.SQLite(f, nil)
	if err := db.AutoMigrate(&fuzzRow{}); err != nil {
		f.Fatal(err)
	}
	p, err := New(fuzzRow{}, db, Config{DefaultLimit: DefaultLimit, MaxLimit: DefaultMaxLimit, MaxIn: DefaultMaxIn})
	if err != nil {
		f.Fatal(err)
	}
	var rows []fuzzRow
	for i, n := range fuzzNames {
		r := fuzzRow{Name: n, Price: float64(i) / 4, Stock: int8(i*13%256 - 128), Code: uint16(i * 3000), Active: i%3 == 0}
		if i%4 != 0 {
			note := fuzzNames[(i*7)%len(fuzzNames)]
			r.Note = &note
		}
		rows = append(rows, r)
	}
	if err := db.Create(&rows).Error; err != nil {
		f.Fatal(err)
	}
	ctx := context.Background()

	f.Fuzz(func(t *testing.T, raw string) {
		values, err := binding.ParseQuery(raw)
		if err != nil {
			var ve *problem.ValidationError
			if !errors.As(err, &ve) || len(ve.Errors) != 1 || len(ve.Errors[0].Loc) != 1 || ve.Errors[0].Loc[0] != "query" {
				t.Fatalf("%q: a malformed query gives %v, want one 422 at [query]", raw, err)
			}
			return
		}
		q, err := p.List(values)
		if err != nil {
			var ve *problem.ValidationError
			if !errors.As(err, &ve) || len(ve.Errors) == 0 {
				t.Fatalf("%q: error %v is not a validation error", raw, err)
			}
			for _, fe := range ve.Errors {
				if len(fe.Loc) < 2 || fe.Loc[0] != "query" {
					t.Fatalf("%q: error at %v", raw, fe.Loc)
				}
				if _, ok := values[fe.Loc[1].(string)]; !ok {
					t.Fatalf("%q: error names %v, not a parameter", raw, fe.Loc[1])
				}
			}
			return
		}
		q.skip, q.limit = 0, len(rows)+1
		var got []fuzzRow
		var total int64
		base := q.Where(db.WithContext(ctx).Model(&fuzzRow{}))
		if err := base.Count(&total).Error; err != nil {
			t.Fatalf("%q: the count failed: %v", raw, err)
		}
		if err := q.Page(q.Where(db.WithContext(ctx))).Find(&got).Error; err != nil {
			t.Fatalf("%q: the query failed: %v", raw, err)
		}
		match := &Filter{m: p.m, conds: q.conds}
		var want []uint
		for i := range rows {
			if match.Match(&rows[i]) {
				want = append(want, rows[i].ID)
			}
		}
		var gotIDs []uint
		for _, r := range got {
			gotIDs = append(gotIDs, r.ID)
		}
		slices.Sort(gotIDs)
		if !slices.Equal(gotIDs, want) || total != int64(len(want)) {
			t.Fatalf("%q: SQL selects %v (total %d), Match %v", raw, gotIDs, total, want)
		}
		var n int64
		if err := db.Model(&fuzzRow{}).Count(&n).Error; err != nil || n != int64(len(rows)) {
			t.Fatalf("%q: the table has %d rows (%v)", raw, n, err)
		}
	})
}
