package query

import (
	"fmt"
	"slices"

	"github.com/fastapi-easy/easy-go/easy/problem"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// Query returns the list as a Query, for a hook to read and change;
// Resolve turns it back into a List.
func (q *List) Query() *Query {
	out := &Query{Skip: q.skip, Limit: q.limit, IncludeDeleted: q.deleted, Scopes: q.scopes, Cursor: q.cursor}
	for _, f := range q.fields {
		out.Fields = append(out.Fields, f.Name)
	}
	for _, s := range q.sort {
		out.Sort = append(out.Sort, Sort{Field: s.f.Name, Desc: s.desc})
	}
	for _, c := range q.conds {
		out.Filters = append(out.Filters, c.export())
	}
	return out
}

func (c cond) export() Condition {
	if c.op.list() {
		return Condition{Field: c.f.Name, Op: c.op, Value: slices.Clone(c.vals), Group: c.group}
	}
	return Condition{Field: c.f.Name, Op: c.op, Value: c.val, Group: c.group}
}

// Resolve turns a Query built or changed in Go (by a hook) back into a
// List. It may filter and sort by any column, filterable or not. A
// mistake in it is the program's, so it is an error, not a 422; but a
// Cursor that does not continue the Query's order is the client's (a
// *problem.ValidationError).
func (p *Parser) Resolve(q *Query) (*List, error) {
	if q.Skip < 0 || q.Limit < 0 {
		return nil, fmt.Errorf("negative skip or limit (%d, %d)", q.Skip, q.Limit)
	}
	if q.Skip > 0 && q.Cursor != "" {
		return nil, fmt.Errorf("skip (%d) with a cursor", q.Skip)
	}
	out := &List{p: p, skip: q.Skip, limit: q.Limit, deleted: q.IncludeDeleted && p.m.Soft, scopes: q.Scopes, cursor: q.Cursor}
	for _, name := range q.Fields {
		f := p.m.ByName[name]
		if f == nil {
			return nil, fmt.Errorf("no field %q", name)
		}
		out.fields = append(out.fields, f)
	}
	for _, s := range q.Sort {
		f := p.m.ByName[s.Field]
		if f == nil || f.GORM == nil {
			return nil, fmt.Errorf("cannot sort by %q", s.Field)
		}
		if !f.Comparable() {
			return nil, fmt.Errorf("cannot sort by %q, a column of type %s, which PostgreSQL cannot order", s.Field, f.ColumnType())
		}
		out.sort = append(out.sort, sortKey{f: f, desc: s.Desc})
	}
	for _, c := range q.Filters {
		rc, err := resolve(p.m, c)
		if err != nil {
			return nil, err
		}
		out.conds = append(out.conds, rc)
	}
	if q.Cursor != "" {
		vals, fe := p.continueAt(q.Cursor, p.keys(out.sort))
		if fe != nil {
			return nil, &problem.ValidationError{Errors: []problem.FieldError{*fe}}
		}
		out.after = vals
	}
	return out, nil
}

// Skip is how many rows the page skips.
func (q *List) Skip() int { return q.skip }

// Limit is the most rows the page holds.
func (q *List) Limit() int { return q.limit }

// Where adds the list's filters and scopes to db (Unscoped when it
// includes soft-deleted rows): the rows of every page, which a count
// counts.
func (q *List) Where(db *gorm.DB) *gorm.DB {
	if q.deleted {
		db = db.Unscoped()
	}
	if len(q.conds) > 0 {
		db = db.Where(q.p.where(q.conds))
	}
	return db.Scopes(q.scopes...)
}

// Cursor is the cursor the page continues from, "" for a page that
// starts at Skip. A cursor page has no count: counting every row is what
// keyset pages spare the database.
func (q *List) Cursor() string { return q.cursor }

// Fields are the JSON names of the fields a response keeps (fields=id,name),
// in the model's order; nil for every field.
func (q *List) Fields() []string {
	if q.fields == nil {
		return nil
	}
	out := make([]string, len(q.fields))
	for i, f := range q.fields {
		out[i] = f.Name
	}
	return out
}

// Page adds the list's order and page to db: the sort keys asked for,
// then the primary key, so that pages are stable; and for a cursor page,
// the rows after the cursor's.
func (q *List) Page(db *gorm.DB) *gorm.DB {
	if q.after != nil {
		db = db.Where(q.p.after(q.p.keys(q.sort), q.after))
	}
	db = db.Order(q.p.order(q.sort)).Limit(q.limit)
	if q.skip > 0 {
		db = db.Offset(q.skip)
	}
	return db
}

// where is the conditions in SQL, on the parser's columns.
func (p *Parser) where(conds []cond) clause.Expression {
	return where(conds, p.m.Dialect, func(c *cond) clause.Column { return c.f.Column })
}

// order is the ORDER BY of keys, then the primary key.
func (p *Parser) order(keys []sortKey) clause.OrderBy {
	if len(keys) == 0 {
		return p.byKey
	}
	cols := make([]clause.OrderByColumn, 0, len(keys)+1)
	pk := false
	for _, k := range keys {
		cols = append(cols, clause.OrderByColumn{Column: k.f.Column, Desc: k.desc})
		pk = pk || k.f == p.m.PK
	}
	if !pk {
		cols = append(cols, clause.OrderByColumn{Column: p.m.PK.Column})
	}
	return clause.OrderBy{Columns: cols}
}

// Order is the order of the primary key, for reads that page through
// every row.
func (p *Parser) Order() clause.OrderBy { return p.byKey }
