package query

import (
	"context"
	"fmt"
	"reflect"

	"github.com/fastapi-easy/easy-go/internal/model"
)

// Policy is the row rule of a resource: which rows a request, or a
// realtime connection, may see and write. It is written once and given to
// the CRUD router (crud.Policy) and to the realtime endpoint (ws.Policy),
// which apply it alike: in SQL for lists, counts, reads, writes and
// snapshots, and in memory for the events of committed writes.
type Policy struct {
	field string
	value func(ctx context.Context) (any, error)
}

// Rows returns the Policy "the rows whose field (a JSON name) holds the
// value that value returns for the request of ctx": the owner of a row,
// or the tenant of FastAPI-Easy's X-Tenant-ID. value reads the principal
// from ctx (a dependency's From); it returns nil for no limit (an admin,
// say), and an error to refuse the request. The field is the model's, so
// a Policy serves any model that has it.
func Rows(field string, value func(ctx context.Context) (any, error)) *Policy {
	if field == "" || value == nil {
		panic("query: Rows needs a field and a value function")
	}
	return &Policy{field: field, value: value}
}

// Field is the JSON name of the field the policy limits.
func (p *Policy) Field() string { return p.field }

// Check reports whether the model of the parser has the policy's field,
// as a column: a mistake found at setup.
func (p *Parser) Check(pol *Policy) error {
	f := p.m.ByName[pol.field]
	switch {
	case f == nil || f.GORM == nil:
		return fmt.Errorf("%s has no column %q (name it by its JSON name)", p.m.Name, pol.field)
	case f.PK:
		return fmt.Errorf("%q is the primary key of %s", pol.field, p.m.Name)
	case f.Kind == model.KindOther:
		return fmt.Errorf("%s.%s is a %s, which a policy cannot compare", p.m.Name, pol.field, f.Type)
	case !f.Comparable():
		fix := "limit the rows by another field"
		if as := f.ComparableAs(); as != "" {
			fix = "store it as " + as + ", or " + fix
		}
		return fmt.Errorf("%s.%s is stored as %s, which PostgreSQL cannot compare: %s", p.m.Name, pol.field, f.ColumnType(), fix)
	}
	return nil
}

// Scope returns the rows that the request (or connection) of ctx may see
// under pol, as a Filter of one equality condition, or nil when pol does
// not limit it. Its error is the policy's, or a value the field cannot
// hold (a mistake of the program).
func (p *Parser) Scope(ctx context.Context, pol *Policy) (*Filter, error) {
	if pol == nil {
		return nil, nil
	}
	if err := p.Check(pol); err != nil {
		return nil, err
	}
	v, err := pol.value(ctx)
	if err != nil || v == nil {
		return nil, err
	}
	f := p.m.ByName[pol.field]
	val, err := canonical(f, v)
	if err != nil {
		return nil, fmt.Errorf("the policy's value, a %T, is not one %s.%s (a %s) can hold: %w", v, p.m.Name, pol.field, f.Type, err)
	}
	return &Filter{m: p.m, conds: []cond{{f: f, op: Eq, val: val}}}, nil
}

// Fill sets, in row (a pointer to the model), each field that an equality
// condition of f names to its value: the policy's field of a row a client
// creates or changes, whatever the client sent.
func (f *Filter) Fill(row any) {
	v := reflect.ValueOf(row).Elem()
	for _, c := range f.conds {
		if c.op != Eq {
			continue
		}
		fv := v.FieldByIndex(c.f.Index)
		val := reflect.ValueOf(c.val).Convert(c.f.Base)
		if fv.Kind() == reflect.Pointer {
			p := reflect.New(c.f.Base)
			p.Elem().Set(val)
			val = p
		}
		fv.Set(val)
	}
}
