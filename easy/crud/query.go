package crud

import (
	"cmp"
	"errors"
	"fmt"
	"math"
	"net/url"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"gorm.io/gorm"

	"github.com/fastapi-easy/easy-go/easy/problem"
	"github.com/fastapi-easy/easy-go/internal/binding"
)

// Op is a filter operator. In a query it follows the field name after two
// underscores (price__gt=10); equality has no suffix (name=apple).
type Op string

// The filter operators.
const (
	Eq    Op = "eq"    // equal: name=apple
	Ne    Op = "ne"    // not equal: name__ne=apple
	Gt    Op = "gt"    // greater than (numbers and times): price__gt=10
	Gte   Op = "gte"   // greater than or equal
	Lt    Op = "lt"    // less than
	Lte   Op = "lte"   // less than or equal
	In    Op = "in"    // one of a comma-separated list: id__in=1,2,3
	Like  Op = "like"  // contains, case-sensitive (strings): name__like=app
	ILike Op = "ilike" // contains, ignoring case (strings): name__ilike=APP
)

// ops are the operators that may follow "__", in the order the docs list them.
var ops = [...]Op{Ne, Gt, Gte, Lt, Lte, In, Like, ILike}

func opOf(s string) (Op, bool) {
	for _, o := range ops {
		if string(o) == s {
			return o, true
		}
	}
	return "", false
}

// applies reports whether o can filter a field of kind k.
func (o Op) applies(k kind) bool {
	switch o {
	case Eq, Ne, In:
		return k != kindOther
	case Gt, Gte, Lt, Lte:
		return k == kindInt || k == kindUint || k == kindFloat || k == kindTime
	case Like, ILike:
		return k == kindString
	}
	return false
}

// The reserved query parameters of a list.
const (
	paramSkip    = "skip"
	paramLimit   = "limit"
	paramSort    = "sort"
	paramDeleted = "include_deleted"
)

// Condition is one filter: the rows whose Field (a JSON name) compares to
// Value by Op. Value is a string, int64, uint64, float64, bool or
// time.Time, as the field's type is; for In it is a []any of those.
type Condition struct {
	Field string
	Op    Op
	Value any
}

// Sort is one key of a list's order.
type Sort struct {
	Field string // JSON name
	Desc  bool
}

// Query is a parsed list request, which a BeforeList hook may change.
type Query struct {
	Skip  int
	Limit int
	// Sort is the order asked for; the primary key always breaks ties.
	Sort []Sort
	// Filters are AND-combined. A hook may add conditions on any column
	// field, filterable or not.
	Filters []Condition
	// IncludeDeleted lists soft-deleted rows too.
	IncludeDeleted bool
	// Scopes are applied to the query (and to its count), after the
	// filters: a hook's own conditions, in GORM's terms.
	Scopes []func(*gorm.DB) *gorm.DB
}

// cond is a Condition resolved against the model.
type cond struct {
	f    *field
	op   Op
	val  any   // canonical: string, int64, uint64, float64, bool, time.Time
	vals []any // for In
}

type sortKey struct {
	f    *field
	desc bool
}

// listQuery is a parsed list request.
type listQuery struct {
	skip, limit int
	sort        []sortKey
	conds       []cond
	deleted     bool
}

// parser parses the query language of one model.
type parser struct {
	m       *model
	def     int // default limit
	max     int // largest limit
	maxIn   int
	deleted bool // include_deleted is accepted
	parse   map[*field]func(string, reflect.Value) *problem.FieldError
}

func newParser(m *model, def, max, maxIn int, deleted bool) (*parser, error) {
	p := &parser{m: m, def: def, max: max, maxIn: maxIn, deleted: deleted && m.soft,
		parse: map[*field]func(string, reflect.Value) *problem.FieldError{}}
	for _, f := range m.fields {
		if f.kind == kindOther || f.kind == kindTime || f.gorm == nil {
			continue
		}
		fn, err := binding.Parser(f.base)
		if err != nil {
			return nil, fmt.Errorf("crud: field %s: %w", f.name, err)
		}
		p.parse[f] = fn
	}
	return p, nil
}

// list parses the query of a list request. Every problem is reported, at
// ["query", name].
func (p *parser) list(values url.Values) (*listQuery, error) {
	q := &listQuery{limit: p.def}
	var errs problem.ValidationError
	for key, vals := range values {
		if len(vals) == 0 {
			continue
		}
		last := vals[len(vals)-1]
		switch key {
		case paramSkip:
			if n, fe := parseCount(key, last, -1); fe != nil {
				errs.Errors = append(errs.Errors, *fe)
			} else {
				q.skip = n
			}
		case paramLimit:
			if n, fe := parseCount(key, last, p.max); fe != nil {
				errs.Errors = append(errs.Errors, *fe)
			} else {
				q.limit = n
			}
		case paramSort:
			q.sort = p.sortKeys(last, &errs)
		case paramDeleted:
			if !p.deleted {
				errs.Errors = append(errs.Errors, unknownParam(key, last))
				continue
			}
			b, fe := parseBool(key, last)
			if fe != nil {
				errs.Errors = append(errs.Errors, *fe)
			}
			q.deleted = b
		default:
			for _, v := range vals {
				if c, ok := p.cond(key, v, &errs); ok {
					q.conds = append(q.conds, c)
				}
			}
		}
	}
	if err := errs.Err(); err != nil {
		sortErrors(errs.Errors)
		return nil, err
	}
	sortConds(q.conds)
	return q, nil
}

// sortConds puts conditions in a stable order, so that one query is one
// SQL text whatever the order of the map it was parsed from.
func sortConds(conds []cond) {
	if len(conds) > 1 {
		slices.SortStableFunc(conds, func(a, b cond) int {
			return cmp.Or(cmp.Compare(a.f.name, b.f.name), cmp.Compare(a.op, b.op))
		})
	}
}

// filters parses filters alone, as ParseFilter does.
func (p *parser) filters(values map[string]string) ([]cond, error) {
	var errs problem.ValidationError
	var conds []cond
	for key, v := range values {
		if c, ok := p.cond(key, v, &errs); ok {
			conds = append(conds, c)
		}
	}
	if err := errs.Err(); err != nil {
		sortErrors(errs.Errors)
		return nil, err
	}
	sortConds(conds)
	return conds, nil
}

// sortErrors orders errors by location, as a map of parameters has none.
func sortErrors(errs []problem.FieldError) {
	if len(errs) < 2 {
		return
	}
	slices.SortStableFunc(errs, func(a, b problem.FieldError) int {
		return cmp.Compare(fmt.Sprint(a.Loc), fmt.Sprint(b.Loc))
	})
}

// cond parses one filter, key=value.
func (p *parser) cond(key, value string, errs *problem.ValidationError) (cond, bool) {
	f, op := p.m.byName[key], Eq
	if f == nil {
		name, suffix, found := cutLast(key, "__")
		if !found || p.m.byName[name] == nil {
			errs.Errors = append(errs.Errors, unknownParam(key, value))
			return cond{}, false
		}
		f = p.m.byName[name]
		var ok bool
		if op, ok = opOf(suffix); !ok {
			errs.Errors = append(errs.Errors, problem.FieldError{Type: "filter_operator", Loc: []any{"query", key}, Input: value,
				Msg: fmt.Sprintf("Unknown operator %q: use one of ne, gt, gte, lt, lte, in, like, ilike", suffix)})
			return cond{}, false
		}
	}
	if !f.filter {
		errs.Errors = append(errs.Errors, problem.FieldError{Type: "filter_field", Loc: []any{"query", key}, Input: value,
			Msg: fmt.Sprintf("Cannot filter by %s", f.name)})
		return cond{}, false
	}
	if !op.applies(f.kind) {
		errs.Errors = append(errs.Errors, problem.FieldError{Type: "filter_operator", Loc: []any{"query", key}, Input: value,
			Msg: fmt.Sprintf("Operator %q does not apply to %s, a %s", op, f.name, f.kind)})
		return cond{}, false
	}
	c := cond{f: f, op: op}
	if op != In {
		v, fe := p.value(f, value)
		if fe != nil {
			fe.Loc = []any{"query", key}
			errs.Errors = append(errs.Errors, *fe)
			return cond{}, false
		}
		c.val = v
		return c, true
	}
	n := strings.Count(value, ",") + 1
	if n > p.maxIn {
		errs.Errors = append(errs.Errors, problem.FieldError{Type: "too_long", Loc: []any{"query", key}, Input: problem.Truncate(value),
			Msg: fmt.Sprintf("List should have at most %d items after validation, not %d", p.maxIn, n),
			Ctx: map[string]any{"max_length": p.maxIn, "actual_length": n}})
		return cond{}, false
	}
	c.vals = make([]any, 0, n)
	ok := true
	for i := 0; i < n; i++ {
		item, rest, _ := strings.Cut(value, ",")
		value = rest
		v, fe := p.value(f, item)
		if fe != nil {
			fe.Loc = []any{"query", key, i}
			errs.Errors = append(errs.Errors, *fe)
			ok = false
			continue
		}
		c.vals = append(c.vals, v)
	}
	return c, ok
}

// value parses s as a value of f, in canonical form.
func (p *parser) value(f *field, s string) (any, *problem.FieldError) {
	if f.kind == kindTime {
		return parseTime(s)
	}
	rv := reflect.New(f.base).Elem()
	if fe := p.parse[f](s, rv); fe != nil {
		return nil, fe
	}
	switch f.kind {
	case kindString:
		if fe := checkText(rv.String()); fe != nil {
			return nil, fe
		}
		return rv.String(), nil
	case kindInt:
		return rv.Int(), nil
	case kindUint:
		u := rv.Uint()
		if u > math.MaxInt64 {
			// No database easy supports stores it, and drivers refuse it.
			return nil, &problem.FieldError{Type: "less_than_equal", Input: s,
				Msg: "Input should be less than or equal to 9223372036854775807", Ctx: map[string]any{"le": uint64(math.MaxInt64)}}
		}
		return u, nil
	case kindFloat:
		return rv.Float(), nil
	case kindBool:
		return rv.Bool(), nil
	}
	return nil, &problem.FieldError{Type: "value_error", Input: s, Msg: "Value error, cannot filter by this field"}
}

// checkText refuses text no database of easy stores alike: PostgreSQL
// takes neither invalid UTF-8 nor NUL characters.
func checkText(s string) *problem.FieldError {
	if !utf8.ValidString(s) || strings.IndexByte(s, 0) >= 0 {
		return &problem.FieldError{Type: "string_type", Input: strings.ToValidUTF8(s, "\ufffd"),
			Msg: "Input should be a valid UTF-8 string without NUL characters"}
	}
	return nil
}

func parseTime(s string) (any, *problem.FieldError) {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		t, err = time.Parse(time.DateOnly, s)
	}
	// Year 0 parses, but PostgreSQL has no year 0.
	if err == nil && t.UTC().Year() >= 1 {
		return t, nil
	}
	return nil, &problem.FieldError{Type: "datetime_parsing", Input: s,
		Msg: "Input should be a valid datetime or date (RFC 3339, or YYYY-MM-DD)"}
}

// sortKeys parses sort=name,-price.
func (p *parser) sortKeys(s string, errs *problem.ValidationError) []sortKey {
	if s == "" {
		return nil
	}
	n := strings.Count(s, ",") + 1
	if n > len(p.m.fields) {
		errs.Errors = append(errs.Errors, problem.FieldError{Type: "too_long", Loc: []any{"query", paramSort}, Input: problem.Truncate(s),
			Msg: fmt.Sprintf("Sort by at most %d fields", len(p.m.fields))})
		return nil
	}
	keys := make([]sortKey, 0, n)
	for part := range strings.SplitSeq(s, ",") {
		name, desc := strings.CutPrefix(part, "-")
		f := p.m.byName[name]
		if f == nil || !f.sort {
			errs.Errors = append(errs.Errors, problem.FieldError{Type: "sort_field", Loc: []any{"query", paramSort}, Input: s,
				Msg: fmt.Sprintf("Cannot sort by %q: use a comma-separated list of %s, each with - in front to sort descending",
					part, strings.Join(p.m.names(func(f *field) bool { return f.sort }), ", "))})
			return nil
		}
		keys = append(keys, sortKey{f: f, desc: desc})
	}
	return keys
}

// parseCount parses skip or limit: an integer from 0 to max (no bound
// when max < 0).
func parseCount(key, s string, max int) (int, *problem.FieldError) {
	n, err := strconv.ParseInt(s, 10, 32)
	loc := []any{"query", key}
	switch {
	case errors.Is(err, strconv.ErrRange):
		return 0, &problem.FieldError{Type: "int_parsing_size", Loc: loc, Input: s,
			Msg: "Unable to parse input string as an integer, exceeded maximum size"}
	case err != nil:
		return 0, &problem.FieldError{Type: "int_parsing", Loc: loc, Input: s,
			Msg: "Input should be a valid integer, unable to parse string as an integer"}
	case n < 0:
		return 0, &problem.FieldError{Type: "greater_than_equal", Loc: loc, Input: s,
			Msg: "Input should be greater than or equal to 0", Ctx: map[string]any{"ge": 0}}
	case max >= 0 && n > int64(max):
		return 0, &problem.FieldError{Type: "less_than_equal", Loc: loc, Input: s,
			Msg: fmt.Sprintf("Input should be less than or equal to %d", max), Ctx: map[string]any{"le": max}}
	}
	return int(n), nil
}

func parseBool(key, s string) (bool, *problem.FieldError) {
	switch strings.ToLower(s) {
	case "1", "true", "t", "yes", "y", "on":
		return true, nil
	case "0", "false", "f", "no", "n", "off":
		return false, nil
	}
	return false, &problem.FieldError{Type: "bool_parsing", Loc: []any{"query", key}, Input: s,
		Msg: "Input should be a valid boolean, unable to interpret input"}
}

func unknownParam(key, value string) problem.FieldError {
	return problem.FieldError{Type: "extra_forbidden", Loc: []any{"query", key}, Input: problem.Truncate(value),
		Msg: "Unknown query parameter: not skip, limit, sort or a filterable field"}
}

// cutLast is strings.Cut at the last sep.
func cutLast(s, sep string) (before, after string, found bool) {
	i := strings.LastIndex(s, sep)
	if i < 0 {
		return s, "", false
	}
	return s[:i], s[i+len(sep):], true
}

// export turns a parsed query into a Query, for a BeforeList hook.
func (q *listQuery) export() *Query {
	out := &Query{Skip: q.skip, Limit: q.limit, IncludeDeleted: q.deleted}
	for _, s := range q.sort {
		out.Sort = append(out.Sort, Sort{Field: s.f.name, Desc: s.desc})
	}
	for _, c := range q.conds {
		out.Filters = append(out.Filters, c.export())
	}
	return out
}

func (c cond) export() Condition {
	if c.op == In {
		return Condition{Field: c.f.name, Op: c.op, Value: slices.Clone(c.vals)}
	}
	return Condition{Field: c.f.name, Op: c.op, Value: c.val}
}

// resolve turns a Query a hook changed back into a listQuery. A mistake in
// it is the hook's, so it is an error (a 500), not a 422.
func (p *parser) resolve(q *Query) (*listQuery, error) {
	if q.Skip < 0 || q.Limit < 0 {
		return nil, fmt.Errorf("crud: BeforeList: negative skip or limit (%d, %d)", q.Skip, q.Limit)
	}
	out := &listQuery{skip: q.Skip, limit: q.Limit, deleted: q.IncludeDeleted && p.m.soft}
	for _, s := range q.Sort {
		f := p.m.byName[s.Field]
		if f == nil || f.gorm == nil {
			return nil, fmt.Errorf("crud: BeforeList: cannot sort by %q", s.Field)
		}
		out.sort = append(out.sort, sortKey{f: f, desc: s.Desc})
	}
	for _, c := range q.Filters {
		rc, err := p.m.resolve(c)
		if err != nil {
			return nil, fmt.Errorf("crud: BeforeList: %w", err)
		}
		out.conds = append(out.conds, rc)
	}
	return out, nil
}
