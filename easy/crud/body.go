package crud

import (
	"math"
	"reflect"
	"strings"

	"github.com/fastapi-easy/easy-go/easy/problem"
)

// creatable and updatable pick the fields a client may write.
func creatable(f *field) bool { return f.create }
func updatable(f *field) bool { return f.update }

// columns lists the columns of the fields for which ok is true.
func (m *model) columns(ok func(*field) bool) []string {
	cols := []string{}
	for _, f := range m.fields {
		if f.gorm != nil && ok(f) {
			cols = append(cols, f.gorm.DBName)
		}
	}
	return cols
}

// copy sets the fields of dst for which ok is true from src.
func (m *model) copy(dst, src any, ok func(*field) bool) {
	d, s := reflect.ValueOf(dst).Elem(), reflect.ValueOf(src).Elem()
	for _, f := range m.fields {
		if ok(f) {
			d.FieldByIndex(f.index).Set(s.FieldByIndex(f.index))
		}
	}
}

// changed adds to cols the columns (but the key) whose values differ
// between old and item.
func (m *model) changed(old, item any, cols []string) []string {
	o, n := reflect.ValueOf(old).Elem(), reflect.ValueOf(item).Elem()
	have := map[string]bool{}
	for _, c := range cols {
		have[c] = true
	}
	out := append([]string{}, cols...)
	for _, f := range m.fields {
		if f.gorm == nil || f.pk || have[f.gorm.DBName] || !f.gorm.Updatable {
			continue
		}
		if !reflect.DeepEqual(o.FieldByIndex(f.index).Interface(), n.FieldByIndex(f.index).Interface()) {
			out = append(out, f.gorm.DBName)
		}
	}
	return out
}

// check refuses values of the fields for which ok is true that no
// database of easy stores alike, each at ["body", name]: text with NUL
// characters (PostgreSQL refuses them) and unsigned integers past the
// largest signed 64-bit one (drivers refuse them).
func (m *model) check(item any, ok func(*field) bool) error {
	v := reflect.ValueOf(item).Elem()
	var errs problem.ValidationError
	for _, f := range m.fields {
		if (f.kind != kindString && f.kind != kindUint) || !ok(f) {
			continue
		}
		fv := v.FieldByIndex(f.index)
		if fv.Kind() == reflect.Pointer {
			if fv.IsNil() {
				continue
			}
			fv = fv.Elem()
		}
		switch {
		case f.kind == kindString && strings.IndexByte(fv.String(), 0) >= 0:
			errs.Errors = append(errs.Errors, problem.FieldError{Type: "string_type", Loc: []any{"body", f.name},
				Input: fv.String(), Msg: "Input should be a valid string without NUL characters"})
		case f.kind == kindUint && fv.Uint() > math.MaxInt64:
			errs.Errors = append(errs.Errors, problem.FieldError{Type: "less_than_equal", Loc: []any{"body", f.name}, Input: fv.Uint(),
				Msg: "Input should be less than or equal to 9223372036854775807", Ctx: map[string]any{"le": uint64(math.MaxInt64)}})
		}
	}
	return errs.Err()
}
