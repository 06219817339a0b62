package query

import (
	"cmp"
	"fmt"
	"maps"
	"math"
	"net/url"
	"reflect"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/fastapi-easy/easy-go/easy/problem"
	"github.com/fastapi-easy/easy-go/internal/binding"
	"github.com/fastapi-easy/easy-go/internal/model"
)

// The reserved query parameters of a list.
const (
	paramSkip    = "skip"
	paramLimit   = "limit"
	paramSort    = "sort"
	paramDeleted = "include_deleted"
)

// Condition is one filter: the rows whose Field (a JSON name) compares to
// Value by Op. Value is a string, int64, uint64, float64, bool or
// time.Time, as the field's type is; for In and NotIn it is a []any of
// those, for IsNull a bool.
//
// Conditions with the same Group (or[name__like]=a&or[note__like]=a puts
// both in group "or") pass when one of them does; conditions outside a
// group, and the groups, are AND-combined.
type Condition struct {
	Field string
	Op    Op
	Value any
	Group string
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
	// Cursor is the cursor the page continues from (keyset pages), or "".
	// A hook may clear it, not change it.
	Cursor string
	// Fields are the JSON names of the fields the response keeps; nil for
	// every field.
	Fields []string
	// Sort is the order asked for; the primary key always breaks ties.
	Sort []Sort
	// Filters are AND-combined, but for those of one Group, which are
	// OR-combined. A hook may add conditions on any column field,
	// filterable or not.
	Filters []Condition
	// IncludeDeleted lists soft-deleted rows too.
	IncludeDeleted bool
	// Scopes are applied to the query (and to its count), after the
	// filters: a hook's own conditions, in GORM's terms.
	Scopes []func(*gorm.DB) *gorm.DB
}

// cond is a Condition resolved against the model.
type cond struct {
	f     *model.Field
	op    Op
	val   any    // canonical: string, int64, uint64, float64, bool, time.Time
	vals  []any  // for In and NotIn
	group string // "": AND-combined; else OR-combined with its group
}

type sortKey struct {
	f    *model.Field
	desc bool
}

// List is a parsed list request: its page, order and filters, ready to
// run (Where, Page) or to hand to a hook (Query).
type List struct {
	skip, limit int
	sort        []sortKey
	conds       []cond
	deleted     bool
	scopes      []func(*gorm.DB) *gorm.DB
	fields      []*model.Field // nil: every field
	cursor      string         // the cursor the page continues from
	after       []any          // its values of the order's keys
	p           *Parser
}

// The defaults of the CRUD list: a page of 100 rows, at most 1,000; at
// most 500 values in an in filter, 100 conditions and 1,000 values in all
// in one query (the most that SQLite and PostgreSQL both take with room to
// spare).
const (
	DefaultLimit         = 100
	DefaultMaxLimit      = 1000
	DefaultMaxIn         = 500
	DefaultMaxConditions = 100
	DefaultMaxValues     = 1000
)

// MaxText is the most characters a text value of a filter may have.
// SQLite refuses a LIKE pattern longer than 50,000 bytes; a value this
// long stays under it with every character escaped, and no real search
// needs more.
const MaxText = 10000

// Config says what a Parser accepts.
type Config struct {
	// DefaultLimit is the limit of a list that names none; MaxLimit the
	// largest limit a client may ask for.
	DefaultLimit, MaxLimit int
	// MaxIn is the most values an in filter may list; MaxConditions the
	// most conditions a query may hold, MaxValues the most values they
	// may compare with in all (an in filter counts each of its values).
	// Zero means the default.
	MaxIn, MaxConditions, MaxValues int
	// Filterable and Sortable, when not nil, name the only fields (by
	// JSON name) a client may filter or sort by; nil allows every column
	// of a scalar type.
	Filterable, Sortable []string
	// IncludeDeleted accepts include_deleted=true on a model with
	// gorm.DeletedAt.
	IncludeDeleted bool
	// CursorKey signs the cursors of keyset pages; the same key must
	// serve every instance. Empty means DefaultCursorKey of the table.
	CursorKey []byte
}

// Parser parses the query language of one model. It is safe for
// concurrent use.
type Parser struct {
	m     *model.Model
	def   int // default limit
	max   int // largest limit
	maxIn int
	// maxConds and maxValues bound a query's conditions and the values
	// they bind in all.
	maxConds, maxValues int
	deleted             bool // include_deleted is accepted
	parse               map[*model.Field]func(string, reflect.Value) *problem.FieldError
	byKey               clause.OrderBy
	others              map[string]bool // query parameters a route's dependencies read (Accept)
	cursorKey           []byte
}

// New returns the Parser of model (a struct or a pointer to one), its
// columns named as db names them (GORM's default naming when db is nil).
// A model that is not a GORM model with one primary key, or a Config that
// names a field that cannot be filtered or sorted, is an error.
func New(model any, db *gorm.DB, cfg Config) (*Parser, error) {
	t := reflect.TypeOf(model)
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t == nil || t.Kind() != reflect.Struct {
		return nil, fmt.Errorf("the model must be a struct, not %T", model)
	}
	m, err := readModel(t, db, cfg.Filterable, cfg.Sortable)
	if err != nil {
		return nil, err
	}
	return newParser(m, cfg)
}

// readModel reads t's schema with db's naming.
func readModel(t reflect.Type, db *gorm.DB, filter, sort []string) (*model.Model, error) {
	sch, err := model.Parse(t, db)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", t, err)
	}
	m, err := model.New(t, sch, filter, sort)
	if err != nil {
		return nil, err
	}
	if db != nil {
		m.Dialect = db.Dialector.Name()
	}
	return m, nil
}

func newParser(m *model.Model, cfg Config) (*Parser, error) {
	p := &Parser{m: m, def: cfg.DefaultLimit, max: cfg.MaxLimit, deleted: cfg.IncludeDeleted && m.Soft,
		maxIn: cmp.Or(cfg.MaxIn, DefaultMaxIn), maxConds: cmp.Or(cfg.MaxConditions, DefaultMaxConditions), maxValues: cmp.Or(cfg.MaxValues, DefaultMaxValues),
		parse:     map[*model.Field]func(string, reflect.Value) *problem.FieldError{},
		byKey:     clause.OrderBy{Columns: []clause.OrderByColumn{{Column: m.PK.Column}}},
		cursorKey: cfg.CursorKey}
	if len(p.cursorKey) == 0 {
		p.cursorKey = DefaultCursorKey(m.Table)
	}
	for _, f := range m.Fields {
		if f.Kind == model.KindOther || f.Kind == model.KindTime || f.GORM == nil {
			continue
		}
		fn, err := binding.Parser(f.Base)
		if err != nil {
			return nil, fmt.Errorf("field %s: %w", f.Name, err)
		}
		p.parse[f] = fn
	}
	return p, nil
}

// Accept makes List leave the query parameters names to others: the
// dependencies of a route read them (a credential in the query, say), so
// they are neither filters nor unknown. Call it before the parser is used.
func (p *Parser) Accept(names ...string) {
	if p.others == nil && len(names) > 0 {
		p.others = map[string]bool{}
	}
	for _, n := range names {
		p.others[n] = true
	}
}

// IncludeDeleted reports whether the parser accepts include_deleted.
func (p *Parser) IncludeDeleted() bool { return p.deleted }

// Deleted reads include_deleted from the query of a read, which takes no
// other parameter of the language: whether it asks for soft-deleted rows
// too. A value that is not a boolean, or include_deleted where the parser
// does not accept it, is a 422, as in a list.
func (p *Parser) Deleted(values url.Values) (bool, error) {
	if len(values[paramDeleted]) == 0 || p.others[paramDeleted] {
		return false, nil
	}
	v := binding.QueryValue(values, paramDeleted)
	if !p.deleted {
		return false, &problem.ValidationError{Errors: []problem.FieldError{unknownParam(paramDeleted, v)}}
	}
	b, fe := parseBool(paramDeleted, v)
	if fe != nil {
		return false, &problem.ValidationError{Errors: []problem.FieldError{*fe}}
	}
	return b, nil
}

// List parses the query of a list request. Every problem is reported, at
// ["query", name].
func (p *Parser) List(values url.Values) (*List, error) {
	// Each value of a parameter the language does not reserve is a
	// condition, or an error: more of them than a query may hold is
	// refused before any is parsed.
	n := 0
	for key, vals := range values {
		switch key {
		case paramSkip, paramLimit, paramSort, paramDeleted, paramFields, paramCursor:
		default:
			if !p.others[key] {
				n += len(vals)
			}
		}
	}
	if n > p.maxConds {
		return nil, &problem.ValidationError{Errors: []problem.FieldError{p.tooManyConditions(n)}}
	}
	q := &List{limit: p.def, p: p}
	var errs problem.ValidationError
	// Keys in order, so that the errors kept when they reach the most a
	// 422 lists are the same for the same query.
	for _, key := range slices.Sorted(maps.Keys(values)) {
		vals := values[key]
		if len(vals) == 0 {
			continue
		}
		if errs.Full() {
			break
		}
		last := binding.QueryValue(values, key)
		switch {
		case p.others[key]:
			continue
		case key == paramSkip:
			if n, fe := parseCount(key, last, maxSkip); fe != nil {
				errs.Errors = append(errs.Errors, *fe)
			} else {
				q.skip = n
			}
		case key == paramLimit:
			if n, fe := parseCount(key, last, p.max); fe != nil {
				errs.Errors = append(errs.Errors, *fe)
			} else {
				q.limit = n
			}
		case key == paramSort:
			q.sort = p.sortKeys(last, &errs)
		case key == paramFields:
			q.fields = p.fieldList(last, &errs)
		case key == paramCursor:
			q.cursor = last
		case key == paramDeleted:
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
				if errs.Full() {
					break
				}
				if c, ok := p.cond(key, v, &errs); ok {
					q.conds = append(q.conds, c)
				}
			}
		}
	}
	p.bound(q.conds, &errs)
	if q.cursor != "" && len(errs.Errors) == 0 {
		if _, ok := values[paramSkip]; ok {
			errs.Errors = append(errs.Errors, problem.FieldError{Type: "value_error", Loc: []any{"query", paramSkip}, Input: values.Get(paramSkip),
				Msg: "Value error, skip and cursor exclude each other: a cursor page starts after the last row of the page before"})
		} else if vals, fe := p.continueAt(q.cursor, p.keys(q.sort)); fe != nil {
			errs.Errors = append(errs.Errors, *fe)
		} else {
			q.after = vals
		}
	}
	if err := errs.Err(); err != nil {
		sortErrors(errs.Errors)
		return nil, err
	}
	sortConds(q.conds)
	return q, nil
}

func (p *Parser) tooManyConditions(n int) problem.FieldError {
	return problem.FieldError{Type: "too_many_conditions", Loc: []any{"query"}, Input: n,
		Msg: fmt.Sprintf("A query may have at most %d filter conditions, not %d", p.maxConds, n), Ctx: map[string]any{"max_conditions": p.maxConds}}
}

// bound refuses more conditions, or more values bound in SQL, than the
// parser allows: past a few hundred, SQLite refuses the statement
// ("Expression tree is too large", "too many SQL variables"), and a
// client must not turn its mistake into a 500.
func (p *Parser) bound(conds []cond, errs *problem.ValidationError) {
	if n := len(conds); n > p.maxConds {
		errs.Errors = append(errs.Errors, p.tooManyConditions(n))
		return
	}
	n := 0
	for _, c := range conds {
		n += max(1, len(c.vals))
	}
	if n > p.maxValues {
		errs.Errors = append(errs.Errors, problem.FieldError{Type: "too_many_values", Loc: []any{"query"}, Input: n,
			Msg: fmt.Sprintf("A query may compare with at most %d values in all, not %d", p.maxValues, n), Ctx: map[string]any{"max_values": p.maxValues}})
	}
}

// sortConds puts conditions in a stable order, so that one query is one
// SQL text whatever the order of the map it was parsed from.
func sortConds(conds []cond) {
	if len(conds) > 1 {
		slices.SortStableFunc(conds, func(a, b cond) int {
			return cmp.Or(cmp.Compare(a.group, b.group), cmp.Compare(a.f.Name, b.f.Name), cmp.Compare(a.op, b.op))
		})
	}
}

// filters parses filters alone, as ParseFilter does.
func (p *Parser) filters(values map[string]string) ([]cond, error) {
	var errs problem.ValidationError
	var conds []cond
	for _, key := range slices.Sorted(maps.Keys(values)) {
		if errs.Full() {
			break
		}
		if c, ok := p.cond(key, values[key], &errs); ok {
			conds = append(conds, c)
		}
	}
	p.bound(conds, &errs)
	if err := errs.Err(); err != nil {
		sortErrors(errs.Errors)
		return nil, err
	}
	sortConds(conds)
	return conds, nil
}

// sortErrors orders errors by location, as a map of parameters has none.
// Each location is written out once, not at each comparison.
func sortErrors(errs []problem.FieldError) {
	if len(errs) < 2 {
		return
	}
	type keyed struct {
		loc string
		err problem.FieldError
	}
	ks := make([]keyed, len(errs))
	for i, e := range errs {
		ks[i] = keyed{fmt.Sprint(e.Loc), e}
	}
	slices.SortStableFunc(ks, func(a, b keyed) int { return strings.Compare(a.loc, b.loc) })
	for i, k := range ks {
		errs[i] = k.err
	}
}

// cond parses one filter, key=value, or one condition of an OR group,
// or[key]=value.
func (p *Parser) cond(key, value string, errs *problem.ValidationError) (cond, bool) {
	group, inner := groupOf(key, p.m)
	c, ok := p.condOf(key, inner, value, errs)
	c.group = group
	return c, ok
}

// groupOf splits the key of a condition in an OR group, or[name__like]
// or or2[name__like], into the group and the condition's own key. Any
// other key is in no group.
func groupOf(key string, m *model.Model) (group, inner string) {
	open := strings.IndexByte(key, '[')
	if open < 2 || key[len(key)-1] != ']' || m.ByName[key] != nil || key[:2] != "or" {
		return "", key
	}
	for _, r := range key[2:open] {
		if r < '0' || r > '9' {
			return "", key
		}
	}
	return key[:open], key[open+1 : len(key)-1]
}

// condOf parses a condition whose key, within the parameter named param,
// is key.
func (p *Parser) condOf(param, key, value string, errs *problem.ValidationError) (cond, bool) {
	f, op := p.m.ByName[key], Eq
	if f == nil {
		name, suffix, found := cutLast(key, "__")
		if !found || p.m.ByName[name] == nil {
			errs.Errors = append(errs.Errors, unknownParam(param, value))
			return cond{}, false
		}
		f = p.m.ByName[name]
		var ok bool
		if op, ok = opOf(suffix); !ok {
			errs.Errors = append(errs.Errors, problem.FieldError{Type: "filter_operator", Loc: []any{"query", param}, Input: value,
				Msg: fmt.Sprintf("Unknown operator %q: use one of %s", suffix, opNames)})
			return cond{}, false
		}
	}
	if !f.Filter {
		msg := "Cannot filter by " + f.Name
		if !f.Comparable() {
			msg += ", a column of type " + f.ColumnType()
		}
		errs.Errors = append(errs.Errors, problem.FieldError{Type: "filter_field", Loc: []any{"query", param}, Input: value, Msg: msg})
		return cond{}, false
	}
	if !op.applies(f) {
		what := "a " + f.Kind.String()
		switch {
		case op == IsNull:
			what = "which cannot be null"
		case !f.Comparable() || f.Kind == model.KindString && !f.Text():
			what = "a column of type " + f.ColumnType()
		}
		errs.Errors = append(errs.Errors, problem.FieldError{Type: "filter_operator", Loc: []any{"query", param}, Input: value,
			Msg: fmt.Sprintf("Operator %q does not apply to %s, %s", op, f.Name, what)})
		return cond{}, false
	}
	c := cond{f: f, op: op}
	if op == IsNull {
		b, fe := parseBool(param, value)
		if fe != nil {
			errs.Errors = append(errs.Errors, *fe)
			return cond{}, false
		}
		c.val = b
		return c, true
	}
	if !op.list() {
		v, fe := p.value(f, value)
		if fe != nil {
			fe.Loc = []any{"query", param}
			errs.Errors = append(errs.Errors, *fe)
			return cond{}, false
		}
		c.val = v
		return c, true
	}
	n := strings.Count(value, ",") + 1
	if n > p.maxIn {
		errs.Errors = append(errs.Errors, problem.FieldError{Type: "too_long", Loc: []any{"query", param}, Input: problem.Truncate(value),
			Msg: fmt.Sprintf("List should have at most %d items after validation, not %d", p.maxIn, n),
			Ctx: map[string]any{"max_length": p.maxIn, "actual_length": n}})
		return cond{}, false
	}
	c.vals = make([]any, 0, n)
	ok := true
	for i := 0; i < n && !errs.Full(); i++ {
		item, rest, _ := strings.Cut(value, ",")
		value = rest
		v, fe := p.value(f, item)
		if fe != nil {
			fe.Loc = []any{"query", param, i}
			errs.Errors = append(errs.Errors, *fe)
			ok = false
			continue
		}
		c.vals = append(c.vals, v)
	}
	return c, ok
}

// value parses s as a value of f, in canonical form.
func (p *Parser) value(f *model.Field, s string) (any, *problem.FieldError) {
	if f.Kind == model.KindTime {
		return parseTime(s)
	}
	rv := reflect.New(f.Base).Elem()
	if fe := p.parse[f](s, rv); fe != nil {
		return nil, fe
	}
	switch f.Kind {
	case model.KindString:
		t, fe := f.StoredText(rv.String()) // a uuid column's: PostgreSQL would refuse another, SQLite find no row
		if fe != nil {
			return nil, fe
		}
		if len(s) > MaxText && utf8.RuneCountInString(s) > MaxText {
			return nil, &problem.FieldError{Type: "string_too_long", Input: s,
				Msg: fmt.Sprintf("String should have at most %d characters", MaxText), Ctx: map[string]any{"max_length": MaxText}}
		}
		return t, nil
	case model.KindInt:
		return rv.Int(), nil
	case model.KindUint:
		u := rv.Uint()
		if u > math.MaxInt64 {
			// No database easy supports stores it, and drivers refuse it.
			return nil, &problem.FieldError{Type: "less_than_equal", Input: s,
				Msg: "Input should be less than or equal to 9223372036854775807", Ctx: map[string]any{"le": uint64(math.MaxInt64)}}
		}
		return u, nil
	case model.KindFloat:
		return rv.Float(), nil
	case model.KindBool:
		return rv.Bool(), nil
	}
	return nil, &problem.FieldError{Type: "value_error", Input: s, Msg: "Value error, cannot filter by this field"}
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
func (p *Parser) sortKeys(s string, errs *problem.ValidationError) []sortKey {
	if s == "" {
		return nil
	}
	n := strings.Count(s, ",") + 1
	if n > len(p.m.Fields) {
		errs.Errors = append(errs.Errors, problem.FieldError{Type: "too_long", Loc: []any{"query", paramSort}, Input: problem.Truncate(s),
			Msg: fmt.Sprintf("Sort by at most %d fields", len(p.m.Fields))})
		return nil
	}
	keys := make([]sortKey, 0, n)
	for part := range strings.SplitSeq(s, ",") {
		name, desc := strings.CutPrefix(part, "-")
		f := p.m.ByName[name]
		if f == nil || !f.Sort {
			errs.Errors = append(errs.Errors, problem.FieldError{Type: "sort_field", Loc: []any{"query", paramSort}, Input: s,
				Msg: fmt.Sprintf("Cannot sort by %q: use a comma-separated list of %s, each with - in front to sort descending",
					part, strings.Join(p.m.Names(func(f *model.Field) bool { return f.Sort }), ", "))})
			return nil
		}
		keys = append(keys, sortKey{f: f, desc: desc})
	}
	return keys
}

// maxSkip is the largest skip of a list, as the document shows it. Both
// databases would take a 64-bit OFFSET, but a page two billion rows in is
// read by scanning every row before it, and an int of 32 bits holds it
// wherever easy runs; past it, a cursor (X-Next-Cursor) pages in constant
// time.
const maxSkip = math.MaxInt32

// parseCount parses skip or limit: an integer from 0 to max.
func parseCount(key, s string, max int) (int, *problem.FieldError) {
	n, fe := binding.IntIn(s, 0, int64(max))
	if fe != nil {
		fe.Loc = []any{"query", key}
		return 0, fe
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
	return extraParam(key, value, "Unknown query parameter: not skip, limit, sort or a filterable field")
}

func extraParam(key, value, msg string) problem.FieldError {
	return problem.FieldError{Type: "extra_forbidden", Loc: []any{"query", key}, Input: problem.Truncate(value), Msg: msg}
}

// Only refuses the parameters of values that are not in takes, each as
// List refuses a parameter it does not know (extra_forbidden at ["query",
// name]), msg saying what the route takes instead. A route that reads
// some of the query and drops the rest would drop a filter the client
// meant: DELETE /items?name=apple would delete every row.
func Only(values url.Values, takes []string, msg string) error {
	var errs problem.ValidationError
	for _, key := range slices.Sorted(maps.Keys(values)) {
		if errs.Full() {
			break
		}
		if !slices.Contains(takes, key) {
			errs.Errors = append(errs.Errors, extraParam(key, binding.QueryValue(values, key), msg))
		}
	}
	return errs.Err()
}

// cutLast is strings.Cut at the last sep.
func cutLast(s, sep string) (before, after string, found bool) {
	i := strings.LastIndex(s, sep)
	if i < 0 {
		return s, "", false
	}
	return s[:i], s[i+len(sep):], true
}
