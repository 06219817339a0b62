package query

import (
	"cmp"
	"fmt"
	"math"
	"reflect"
	"slices"
	"strings"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/fastapi-easy/easy-go/internal/model"
)

// Filter is a set of conditions on a model's rows, in the list query
// language (name=apple, price__gt=10, id__in=1,2,3, name__ilike=app, ...).
// It selects rows in SQL (Apply) and matches rows in memory (Match) with
// the same meaning, so that a realtime subscription filters events as the
// list filters rows. It is safe for concurrent use.
type Filter struct {
	m     *model.Model
	conds []cond
}

// ParseFilter parses filters on T, on every column field of a scalar
// type: each key is a field's JSON name, alone for equality or followed
// by __ and an operator, and each value is parsed as the field's type. A
// bad key, operator or value is a *problem.ValidationError (422) that
// locates each problem at ["query", key]. It reads T's schema at each
// call: parse a filter once and keep it, or keep a Parser.
func ParseFilter[T any](values map[string]string) (*Filter, error) {
	p, err := New(new(T), nil, Config{})
	if err != nil {
		return nil, err
	}
	return p.Filter(values)
}

// Filter parses filters alone, on the fields the parser may filter by.
func (p *Parser) Filter(values map[string]string) (*Filter, error) {
	conds, err := p.filters(values)
	if err != nil {
		return nil, err
	}
	return &Filter{m: p.m, conds: conds}, nil
}

// And returns the filter of the rows that pass both f and g, a filter of
// the same model or nil.
func (f *Filter) And(g *Filter) *Filter {
	if g == nil || len(g.conds) == 0 {
		return f
	}
	if g.m.Type != f.m.Type {
		panic(fmt.Sprintf("query: And of a filter of %s and one of %s", f.m.Type, g.m.Type))
	}
	return &Filter{m: f.m, conds: append(slices.Clip(f.conds), regroup(g.conds, f.conds)...)}
}

// Conditions returns the filter's conditions, ordered by field and
// operator.
func (f *Filter) Conditions() []Condition {
	out := make([]Condition, len(f.conds))
	for i, c := range f.conds {
		out[i] = c.export()
	}
	return out
}

// Match reports whether row, a value of the model or a pointer to one,
// passes every condition (and one of each OR group); a value of another
// type passes none. A nil pointer field passes no condition but isnull,
// as NULL compares to nothing in SQL. Text that ignores case is folded
// as the parser's database folds it: ASCII letters alone on SQLite,
// every letter on PostgreSQL and without a database.
func (f *Filter) Match(row any) bool {
	v := reflect.ValueOf(row)
	for v.Kind() == reflect.Pointer {
		if v.IsNil() {
			return false
		}
		v = v.Elem()
	}
	if !v.IsValid() || v.Type() != f.m.Type {
		return false
	}
	return matchAll(f.conds, v, f.m.Dialect)
}

// Apply adds the filter's conditions to db, as bound parameters on
// columns named by db's naming strategy.
func (f *Filter) Apply(db *gorm.DB) *gorm.DB {
	if len(f.conds) == 0 {
		return db
	}
	if f.m.Dialect != "" { // the parser had a database: its columns are named
		return db.Where(where(f.conds, f.m.Dialect, func(c *cond) clause.Column { return c.f.Column }))
	}
	sch, err := model.Parse(f.m.Type, db)
	if err != nil {
		db.AddError(err)
		return db
	}
	for i := range f.conds {
		if gf := sch.FieldsByBindName[f.conds[i].f.Bind]; gf == nil || gf.DBName == "" {
			db.AddError(fmt.Errorf("query: %s has no column %s", f.m.Type, f.conds[i].f.Name))
			return db
		}
	}
	return db.Where(where(f.conds, db.Dialector.Name(), func(c *cond) clause.Column {
		return clause.Column{Name: sch.FieldsByBindName[c.f.Bind].DBName}
	}))
}

// compare compares the field value fv of kind k with a canonical value.
func compare(k model.Kind, fv reflect.Value, x any) int {
	switch k {
	case model.KindString:
		return strings.Compare(fv.String(), x.(string))
	case model.KindInt:
		return cmp.Compare(fv.Int(), x.(int64))
	case model.KindUint:
		return cmp.Compare(fv.Uint(), x.(uint64))
	case model.KindFloat:
		return cmp.Compare(fv.Float(), x.(float64))
	case model.KindBool:
		a, b := fv.Bool(), x.(bool)
		switch {
		case a == b:
			return 0
		case b:
			return -1
		}
		return 1
	case model.KindTime:
		var t time.Time
		if fv.CanAddr() {
			t = *fv.Addr().Interface().(*time.Time)
		} else {
			t = fv.Interface().(time.Time)
		}
		return t.Compare(x.(time.Time))
	}
	return -1
}

// resolve checks a Condition built in Go (by a hook) and puts its value in
// canonical form.
func resolve(m *model.Model, c Condition) (cond, error) {
	f := m.ByName[c.Field]
	if f == nil || f.GORM == nil {
		return cond{}, fmt.Errorf("no column field %q", c.Field)
	}
	op := c.Op
	if op == "" {
		op = Eq
	}
	if !op.applies(f) {
		return cond{}, fmt.Errorf("operator %q does not apply to %s", op, f.Name)
	}
	out := cond{f: f, op: op, group: c.Group}
	if op == IsNull {
		b, ok := c.Value.(bool)
		if !ok {
			return cond{}, fmt.Errorf("%s: the value of isnull must be a bool, not %T", f.Name, c.Value)
		}
		out.val = b
		return out, nil
	}
	if !op.list() {
		v, err := canonical(f, c.Value)
		if err != nil {
			return cond{}, fmt.Errorf("%s: %w", f.Name, err)
		}
		out.val = v
		return out, nil
	}
	rv := reflect.ValueOf(c.Value)
	if rv.Kind() != reflect.Slice && rv.Kind() != reflect.Array {
		return cond{}, fmt.Errorf("%s: the value of %s must be a slice, not %T", f.Name, op, c.Value)
	}
	out.vals = make([]any, rv.Len())
	for i := range out.vals {
		v, err := canonical(f, rv.Index(i).Interface())
		if err != nil {
			return cond{}, fmt.Errorf("%s[%d]: %w", f.Name, i, err)
		}
		out.vals[i] = v
	}
	return out, nil
}

// canonical converts a Go value to the canonical value of f's kind: text
// as f's column stores it (model.Field.StoredText: a UUID in its
// canonical form).
func canonical(f *model.Field, v any) (any, error) {
	k := f.Kind
	if t, ok := v.(time.Time); ok && k == model.KindTime {
		return t, nil
	}
	if t, ok := v.(*time.Time); ok && t != nil && k == model.KindTime {
		return *t, nil
	}
	rv := reflect.ValueOf(v)
	for rv.Kind() == reflect.Pointer && !rv.IsNil() {
		rv = rv.Elem()
	}
	switch {
	case k == model.KindString && rv.Kind() == reflect.String:
		s, fe := f.StoredText(rv.String())
		if fe != nil {
			return nil, fmt.Errorf("%q: %s", rv.String(), fe.Msg)
		}
		return s, nil
	case k == model.KindBool && rv.Kind() == reflect.Bool:
		return rv.Bool(), nil
	case k == model.KindInt && rv.CanInt():
		return rv.Int(), nil
	case k == model.KindInt && rv.CanUint() && rv.Uint() <= math.MaxInt64:
		return int64(rv.Uint()), nil
	case k == model.KindUint && rv.CanUint() && rv.Uint() <= math.MaxInt64:
		return rv.Uint(), nil
	case k == model.KindUint && rv.CanInt() && rv.Int() >= 0:
		return uint64(rv.Int()), nil
	case k == model.KindFloat && rv.CanFloat():
		return rv.Float(), nil
	case k == model.KindFloat && rv.CanInt():
		return float64(rv.Int()), nil
	case k == model.KindFloat && rv.CanUint():
		return float64(rv.Uint()), nil
	}
	return nil, fmt.Errorf("%T is not a %s", v, k)
}
