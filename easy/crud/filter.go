package crud

import (
	"cmp"
	"fmt"
	"math"
	"reflect"
	"strings"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// Filter is a set of conditions on T, parsed from the list query language
// (name=apple, price__gt=10, id__in=1,2,3, name__ilike=app, ...). It
// selects rows in SQL (Apply) and matches values in memory (Match) with
// the same meaning, so a realtime subscription can filter events as the
// list filters rows. It is safe for concurrent use.
type Filter[T any] struct {
	filter
}

// AnyFilter is a Filter over a model known only at run time, as
// ws.Setup(app, Item{}) knows it.
type AnyFilter struct {
	filter
}

// filter is a Filter without its type.
type filter struct {
	m     *model
	conds []cond
}

// ParseFilter parses filters on T: each key is a field's JSON name, alone
// for equality or followed by __ and an operator, each value is parsed as
// the field's type. A bad key, operator or value is an
// *problem.ValidationError (422) that locates each problem at ["query",
// key]. Every column field of a scalar type can be filtered; a Router's
// ParseFilter keeps to its Filterable fields.
//
// ParseFilter parses T's schema at each call: parse a filter once and keep
// it.
func ParseFilter[T any](values map[string]string) (*Filter[T], error) {
	f, err := parseFilter(reflect.TypeFor[T](), values)
	if err != nil {
		return nil, err
	}
	return &Filter[T]{f}, nil
}

// ParseAnyFilter is ParseFilter for the type of model, a struct or a
// pointer to one.
func ParseAnyFilter(model any, values map[string]string) (*AnyFilter, error) {
	t := reflect.TypeOf(model)
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t == nil {
		return nil, fmt.Errorf("crud: ParseAnyFilter: nil model")
	}
	f, err := parseFilter(t, values)
	if err != nil {
		return nil, err
	}
	return &AnyFilter{f}, nil
}

func parseFilter(t reflect.Type, values map[string]string) (filter, error) {
	if t.Kind() != reflect.Struct {
		return filter{}, fmt.Errorf("crud: the model must be a struct, not %s", t)
	}
	sch, err := parseSchema(t, nil)
	if err != nil {
		return filter{}, fmt.Errorf("crud: %s: %w", t, err)
	}
	m, err := newModel(t, sch, nil, nil)
	if err != nil {
		return filter{}, err
	}
	p, err := newParser(m, 0, 0, defaultConfig().maxIn, false)
	if err != nil {
		return filter{}, err
	}
	return p.filter(values)
}

// filter parses filters alone.
func (p *parser) filter(values map[string]string) (filter, error) {
	conds, err := p.filters(values)
	if err != nil {
		return filter{}, err
	}
	return filter{m: p.m, conds: conds}, nil
}

// Conditions returns the filter's conditions, ordered by field and
// operator.
func (f *filter) Conditions() []Condition {
	out := make([]Condition, len(f.conds))
	for i, c := range f.conds {
		out[i] = c.export()
	}
	return out
}

// Match reports whether item passes every condition. A nil pointer field
// passes none, as NULL compares to nothing in SQL.
func (f *Filter[T]) Match(item *T) bool {
	if item == nil {
		return false
	}
	return f.match(reflect.ValueOf(item).Elem())
}

// Match reports whether row, a value of the model or a pointer to one,
// passes every condition; a value of another type passes none.
func (f *AnyFilter) Match(row any) bool {
	v := reflect.ValueOf(row)
	for v.Kind() == reflect.Pointer {
		if v.IsNil() {
			return false
		}
		v = v.Elem()
	}
	if !v.IsValid() || v.Type() != f.m.typ {
		return false
	}
	return f.match(v)
}

func (f *filter) match(v reflect.Value) bool {
	for i := range f.conds {
		if !f.conds[i].match(v) {
			return false
		}
	}
	return true
}

// Apply adds the filter's conditions to db, as bound parameters on
// columns named by db's naming strategy.
func (f *filter) Apply(db *gorm.DB) *gorm.DB {
	if len(f.conds) == 0 {
		return db
	}
	sch, err := parseSchema(f.m.typ, db)
	if err != nil {
		db.AddError(err)
		return db
	}
	dialect := db.Dialector.Name()
	exprs := make([]clause.Expression, 0, len(f.conds))
	for i := range f.conds {
		c := &f.conds[i]
		gf := sch.FieldsByBindName[c.f.bind]
		if gf == nil || gf.DBName == "" {
			db.AddError(fmt.Errorf("crud: %s has no column %s", f.m.typ, c.f.name))
			return db
		}
		exprs = append(exprs, c.expr(clause.Column{Name: gf.DBName}, dialect))
	}
	return db.Where(clause.And(exprs...))
}

// expr is the condition in SQL, on column col, its value a bound parameter.
func (c *cond) expr(col clause.Column, dialect string) clause.Expression {
	switch c.op {
	case Ne:
		return clause.Neq{Column: col, Value: c.sqlValue(dialect, c.val)}
	case Gt:
		return clause.Gt{Column: col, Value: c.sqlValue(dialect, c.val)}
	case Gte:
		return clause.Gte{Column: col, Value: c.sqlValue(dialect, c.val)}
	case Lt:
		return clause.Lt{Column: col, Value: c.sqlValue(dialect, c.val)}
	case Lte:
		return clause.Lte{Column: col, Value: c.sqlValue(dialect, c.val)}
	case In:
		vals := c.vals
		if c.f.kind == kindTime && dialect == "sqlite" {
			vals = make([]any, len(c.vals))
			for i, v := range c.vals {
				vals[i] = c.sqlValue(dialect, v)
			}
		}
		return clause.IN{Column: col, Values: vals}
	case Like:
		if dialect == "sqlite" {
			// SQLite's LIKE ignores the case of ASCII letters; instr
			// finds the substring exactly, and has no wildcards.
			return clause.Expr{SQL: "instr(?, ?) > 0", Vars: []any{col, c.val}}
		}
		return clause.Expr{SQL: `? LIKE ? ESCAPE '\'`, Vars: []any{col, likePattern(c.val.(string))}}
	case ILike:
		if dialect == "postgres" {
			return clause.Expr{SQL: `? ILIKE ? ESCAPE '\'`, Vars: []any{col, likePattern(c.val.(string))}}
		}
		return clause.Expr{SQL: `LOWER(?) LIKE LOWER(?) ESCAPE '\'`, Vars: []any{col, likePattern(c.val.(string))}}
	}
	return clause.Eq{Column: col, Value: c.sqlValue(dialect, c.val)}
}

// sqlValue is v as bound for the dialect. SQLite stores times as text, in
// the zone they were written in: gorm writes CreatedAt and UpdatedAt in
// local time, so a time is compared in local time.
func (c *cond) sqlValue(dialect string, v any) any {
	if t, ok := v.(time.Time); ok && dialect == "sqlite" {
		return t.Local()
	}
	return v
}

// likePattern makes s a LIKE pattern that matches s as a substring, with
// %, _ and \ in s taken literally (ESCAPE '\').
func likePattern(s string) string {
	var b strings.Builder
	b.Grow(len(s) + 2)
	b.WriteByte('%')
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '%', '_', '\\':
			b.WriteByte('\\')
		}
		b.WriteByte(s[i])
	}
	b.WriteByte('%')
	return b.String()
}

// match reports whether the struct v passes c.
func (c *cond) match(v reflect.Value) bool {
	fv, err := v.FieldByIndexErr(c.f.index)
	if err != nil {
		return false
	}
	if fv.Kind() == reflect.Pointer {
		if fv.IsNil() {
			return false
		}
		fv = fv.Elem()
	}
	switch c.op {
	case Eq:
		return compare(c.f.kind, fv, c.val) == 0
	case Ne:
		return compare(c.f.kind, fv, c.val) != 0
	case Gt:
		return compare(c.f.kind, fv, c.val) > 0
	case Gte:
		return compare(c.f.kind, fv, c.val) >= 0
	case Lt:
		return compare(c.f.kind, fv, c.val) < 0
	case Lte:
		return compare(c.f.kind, fv, c.val) <= 0
	case In:
		for _, x := range c.vals {
			if compare(c.f.kind, fv, x) == 0 {
				return true
			}
		}
		return false
	case Like:
		return strings.Contains(fv.String(), c.val.(string))
	case ILike:
		return strings.Contains(strings.ToLower(fv.String()), strings.ToLower(c.val.(string)))
	}
	return false
}

// compare compares the field value fv of kind k with a canonical value.
func compare(k kind, fv reflect.Value, x any) int {
	switch k {
	case kindString:
		return strings.Compare(fv.String(), x.(string))
	case kindInt:
		return cmp.Compare(fv.Int(), x.(int64))
	case kindUint:
		return cmp.Compare(fv.Uint(), x.(uint64))
	case kindFloat:
		return cmp.Compare(fv.Float(), x.(float64))
	case kindBool:
		a, b := fv.Bool(), x.(bool)
		switch {
		case a == b:
			return 0
		case b:
			return -1
		}
		return 1
	case kindTime:
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
func (m *model) resolve(c Condition) (cond, error) {
	f := m.byName[c.Field]
	if f == nil || f.gorm == nil {
		return cond{}, fmt.Errorf("no column field %q", c.Field)
	}
	op := c.Op
	if op == "" {
		op = Eq
	}
	if !op.applies(f.kind) {
		return cond{}, fmt.Errorf("operator %q does not apply to %s, a %s", op, f.name, f.kind)
	}
	out := cond{f: f, op: op}
	if op != In {
		v, err := canonical(f.kind, c.Value)
		if err != nil {
			return cond{}, fmt.Errorf("%s: %w", f.name, err)
		}
		out.val = v
		return out, nil
	}
	rv := reflect.ValueOf(c.Value)
	if rv.Kind() != reflect.Slice && rv.Kind() != reflect.Array {
		return cond{}, fmt.Errorf("%s: the value of in must be a slice, not %T", f.name, c.Value)
	}
	out.vals = make([]any, rv.Len())
	for i := range out.vals {
		v, err := canonical(f.kind, rv.Index(i).Interface())
		if err != nil {
			return cond{}, fmt.Errorf("%s[%d]: %w", f.name, i, err)
		}
		out.vals[i] = v
	}
	return out, nil
}

// canonical converts a Go value to the canonical value of kind k.
func canonical(k kind, v any) (any, error) {
	if t, ok := v.(time.Time); ok && k == kindTime {
		return t, nil
	}
	if t, ok := v.(*time.Time); ok && t != nil && k == kindTime {
		return *t, nil
	}
	rv := reflect.ValueOf(v)
	for rv.Kind() == reflect.Pointer && !rv.IsNil() {
		rv = rv.Elem()
	}
	switch {
	case k == kindString && rv.Kind() == reflect.String:
		return rv.String(), nil
	case k == kindBool && rv.Kind() == reflect.Bool:
		return rv.Bool(), nil
	case k == kindInt && rv.CanInt():
		return rv.Int(), nil
	case k == kindInt && rv.CanUint() && rv.Uint() <= math.MaxInt64:
		return int64(rv.Uint()), nil
	case k == kindUint && rv.CanUint() && rv.Uint() <= math.MaxInt64:
		return rv.Uint(), nil
	case k == kindUint && rv.CanInt() && rv.Int() >= 0:
		return uint64(rv.Int()), nil
	case k == kindFloat && rv.CanFloat():
		return rv.Float(), nil
	case k == kindFloat && rv.CanInt():
		return float64(rv.Int()), nil
	case k == kindFloat && rv.CanUint():
		return float64(rv.Uint()), nil
	}
	return nil, fmt.Errorf("%T is not a %s", v, k)
}
