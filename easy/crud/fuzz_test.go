package crud

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"unicode"

	"gorm.io/gorm"

	"github.com/fastapi-easy/easy-go/easy/openapi"
	"github.com/fastapi-easy/easy-go/easy/problem"
	testdb "github.com/fastapi-easy/easy-go/internal/testkit"
)

// registrar mounts a Router without an App.
type registrar struct {
	db   *gorm.DB
	spec *openapi.Spec
	mux  *http.ServeMux
}

func newRegistrar(db *gorm.DB) *registrar {
	return &registrar{db: db, spec: openapi.New(openapi.Info{}), mux: http.NewServeMux()}
}

func (r *registrar) AddOperation(op openapi.Operation, h http.Handler) {
	if err := r.spec.Add(op); err != nil {
		panic(err)
	}
}
func (r *registrar) DB() *gorm.DB         { return r.db }
func (r *registrar) Spec() *openapi.Spec  { return r.spec }
func (r *registrar) Logger() *slog.Logger { return slog.Default() }

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
}

// FuzzParseQuery feeds list queries to the parser and, when one parses,
// runs it: a bad query must be a 422 located at one of its parameters,
// a good one must run without a database error and select exactly the
// rows Match selects, and the table must stay whole. The seed corpus is in
// testdata/fuzz/FuzzParseQuery.
func FuzzParseQuery(f *testing.F) {
	db := testdb.SQLite(f, nil)
	rt := New[fuzzRow]()
	if err := db.AutoMigrate(&fuzzRow{}); err != nil {
		f.Fatal(err)
	}
	if err := rt.Mount(newRegistrar(db)); err != nil {
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
		values, err := url.ParseQuery(raw)
		if err != nil {
			return
		}
		q, err := rt.parser.list(values)
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
		got, total, err := rt.find(ctx, q, nil)
		if err != nil {
			t.Fatalf("%q: the query failed: %v", raw, err)
		}
		if !comparable(q) {
			return
		}
		var want []uint
		for i := range rows {
			if matchAll(q.conds, &rows[i]) {
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

// comparable reports whether SQLite and Match agree by design on q:
// SQLite folds the case of ASCII letters alone.
func comparable(q *listQuery) bool {
	for _, c := range q.conds {
		if c.op == ILike && strings.IndexFunc(c.val.(string), func(r rune) bool { return r > unicode.MaxASCII }) >= 0 {
			return false
		}
	}
	return true
}

func matchAll(conds []cond, row *fuzzRow) bool {
	f := &Filter[fuzzRow]{filter{conds: conds}}
	return f.Match(row)
}
