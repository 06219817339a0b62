package model

import (
	"math"
	"reflect"
	"regexp"
	"strings"
	"unicode/utf8"

	"github.com/fastapi-easy/easy-go/easy/problem"
)

// Creatable and Updatable pick the fields a client may write.
func Creatable(f *Field) bool { return f.Create }
func Updatable(f *Field) bool { return f.Update }

// Created and Updated pick the fields whose columns a create and an
// update store, whoever set them: a conversion (crud.Convert) may fill a
// column no client writes, and Check must see it before the database does.
func Created(f *Field) bool { return f.GORM != nil && f.GORM.Creatable }
func Updated(f *Field) bool { return f.GORM != nil && f.GORM.Updatable && !f.PK }

// Columns lists the columns of the fields for which ok is true.
func (m *Model) Columns(ok func(*Field) bool) []string {
	cols := []string{}
	for _, f := range m.Fields {
		if f.GORM != nil && ok(f) {
			cols = append(cols, f.GORM.DBName)
		}
	}
	return cols
}

// Copy sets the fields of dst for which ok is true from src.
func (m *Model) Copy(dst, src any, ok func(*Field) bool) {
	d, s := reflect.ValueOf(dst).Elem(), reflect.ValueOf(src).Elem()
	for _, f := range m.Fields {
		if ok(f) {
			d.FieldByIndex(f.Index).Set(s.FieldByIndex(f.Index))
		}
	}
}

// Changed adds to cols the columns (but the key) whose values differ
// between old and item.
func (m *Model) Changed(old, item any, cols []string) []string {
	o, n := reflect.ValueOf(old).Elem(), reflect.ValueOf(item).Elem()
	have := map[string]bool{}
	for _, c := range cols {
		have[c] = true
	}
	out := append([]string{}, cols...)
	for _, f := range m.Fields {
		if !Updated(f) || have[f.GORM.DBName] {
			continue
		}
		if !reflect.DeepEqual(o.FieldByIndex(f.Index).Interface(), n.FieldByIndex(f.Index).Interface()) {
			out = append(out, f.GORM.DBName)
		}
	}
	return out
}

// Check refuses values of the fields for which ok is true that no
// database of easy stores alike, each at ["body", name]: text with NUL
// characters (PostgreSQL refuses them), text in a uuid column that is not
// a UUID (PostgreSQL refuses it, SQLite stores it) and unsigned integers
// past the largest signed 64-bit one (drivers refuse them). A UUID it
// writes in its canonical form (StoredText).
func (m *Model) Check(item any, ok func(*Field) bool) error {
	v := reflect.ValueOf(item).Elem()
	var errs problem.ValidationError
	for _, f := range m.Fields {
		if (f.Kind != KindString && f.Kind != KindUint) || !ok(f) {
			continue
		}
		fv := v.FieldByIndex(f.Index)
		ptr := fv.Kind() == reflect.Pointer
		if ptr {
			if fv.IsNil() {
				continue
			}
			fv = fv.Elem()
		}
		switch {
		case f.Kind == KindString && strings.IndexByte(fv.String(), 0) >= 0:
			errs.Errors = append(errs.Errors, problem.FieldError{Type: "string_type", Loc: []any{"body", f.Name},
				Input: fv.String(), Msg: "Input should be a valid string without NUL characters"})
		case f.UUID() && (fv.String() != "" || ptr): // "" is left to a hook or the column's default; a pointer to it is not
			if s, fe := f.StoredText(fv.String()); fe != nil {
				fe.Loc = []any{"body", f.Name}
				errs.Errors = append(errs.Errors, *fe)
			} else {
				fv.SetString(s)
			}
		case f.Kind == KindUint && fv.Uint() > math.MaxInt64:
			errs.Errors = append(errs.Errors, problem.FieldError{Type: "less_than_equal", Loc: []any{"body", f.Name}, Input: fv.Uint(),
				Msg: "Input should be less than or equal to 9223372036854775807", Ctx: map[string]any{"le": uint64(math.MaxInt64)}})
		}
	}
	return errs.Err()
}

// uuidPattern is a UUID in a form PostgreSQL reads: 32 hexadecimal digits,
// in either case, with or without the hyphens of the 8-4-4-4-12 form.
var uuidPattern = regexp.MustCompile(`^[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}$`)

// ValidUUID reports whether s is a UUID: what format:"uuid" accepts, and
// what a uuid column takes on every database.
func ValidUUID(s string) bool { return uuidPattern.MatchString(s) }

// CheckUUID refuses s unless it is a UUID, as pydantic does, with the
// error of every place that reads one: a uuid column's value and key, a
// filter on it, a parameter with format:"uuid". The caller gives the
// error its Loc.
func CheckUUID(s string) *problem.FieldError {
	if ValidUUID(s) {
		return nil
	}
	return &problem.FieldError{Type: "uuid_parsing", Input: s, Msg: "Input should be a valid UUID"}
}

// CanonicalUUID returns the UUID s in the form PostgreSQL stores and
// writes it, lower case in the 8-4-4-4-12 groups, or false when s is not
// a UUID.
func CanonicalUUID(s string) (string, bool) {
	if !ValidUUID(s) {
		return "", false
	}
	if len(s) == 36 && strings.ToLower(s) == s {
		return s, true
	}
	hex := strings.ToLower(strings.ReplaceAll(s, "-", ""))
	return hex[:8] + "-" + hex[8:12] + "-" + hex[12:16] + "-" + hex[16:20] + "-" + hex[20:], true
}

// StoredText returns s as f's column stores it on every database, or the
// error of text it cannot store: text that CheckText refuses, and in a
// uuid column text that is not a UUID; a UUID in its canonical form,
// which PostgreSQL stores whatever form it is given, so that SQLite
// stores and compares the same text.
func (f *Field) StoredText(s string) (string, *problem.FieldError) {
	if fe := CheckText(s); fe != nil {
		return "", fe
	}
	if !f.UUID() {
		return s, nil
	}
	if c, ok := CanonicalUUID(s); ok {
		return c, nil
	}
	return "", CheckUUID(s)
}

// CheckText refuses text no database of easy stores alike: PostgreSQL
// takes neither invalid UTF-8 nor NUL characters.
func CheckText(s string) *problem.FieldError {
	if !utf8.ValidString(s) || strings.IndexByte(s, 0) >= 0 {
		return &problem.FieldError{Type: "string_type", Input: strings.ToValidUTF8(s, "\ufffd"),
			Msg: "Input should be a valid UTF-8 string without NUL characters"}
	}
	return nil
}
