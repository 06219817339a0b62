package crud

import (
	"context"
	"fmt"
	"reflect"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/fastapi-easy/easy-go/easy/route"
)

// Requirement is what a route needs before it runs: an easy.Dependency,
// such as a security scheme of easy/security. It is resolved for each
// request, its error is the response, and it is documented with the
// route (its parameters, security and error statuses).
type Requirement = route.Requirement

// Uses makes every route resolve reqs before it runs: the current user,
// say, which a Scope then reads.
func Uses(reqs ...Requirement) Option {
	return func(c *config) { c.uses = append(c.uses, reqs...) }
}

// RouteUses makes one route resolve reqs, after those of Uses: "anyone may
// list and read, only an admin may delete" is RouteUses(DeleteRoute,
// admin).
func RouteUses(route Route, reqs ...Requirement) Option {
	return func(c *config) {
		c.check(route, "RouteUses")
		if c.routeUses == nil {
			c.routeUses = map[Route][]Requirement{}
		}
		c.routeUses[route] = append(c.routeUses[route], reqs...)
	}
}

// Scope limits every route to the rows whose field (its JSON name) holds
// the value that value returns for the request: a list shows only them,
// a read, change or delete of another row is a 404 (so its existence does
// not leak), DELETE on the collection deletes only them, and a create or
// a change sets field to the value, whatever the client sent. value reads
// the principal from ctx (a Dependency in Uses); it returns nil for no
// limit (an admin, say) and an error to refuse the request. The
// owner of a row and the tenant of FastAPI-Easy's X-Tenant-ID are both
// scopes; tag field easy:"readonly" so clients are not asked for it.
func Scope(field string, value func(ctx context.Context) (any, error)) Option {
	return func(c *config) {
		if value == nil {
			c.problems = append(c.problems, "Scope: nil value function")
			return
		}
		c.scope = &scope{name: field, value: value}
	}
}

// scope is the Scope option.
type scope struct {
	name  string
	value func(context.Context) (any, error)
	f     *field // set by setup
}

// setupScope finds the field of the Scope option.
func (c *core) setupScope() error {
	s := c.cfg.scope
	if s == nil {
		return nil
	}
	f := c.m.byName[s.name]
	if f == nil || f.gorm == nil {
		return fmt.Errorf("crud: Scope: %s has no column %q (name it by its JSON name)", c.m.name, s.name)
	}
	if f.pk {
		return fmt.Errorf("crud: Scope: %q is the primary key", s.name)
	}
	s.f = f
	return nil
}

// scoped is the scope of a request: the condition rows must meet and the
// value the field is set to. A zero scoped limits nothing.
type scoped struct {
	f     *field
	value reflect.Value // of the field's type; invalid for no limit
}

// scopeOf returns the scope of the request of ctx.
func (c *core) scopeOf(ctx context.Context) (scoped, error) {
	s := c.cfg.scope
	if s == nil {
		return scoped{}, nil
	}
	v, err := s.value(ctx)
	if err != nil || v == nil {
		return scoped{}, err
	}
	rv := reflect.ValueOf(v)
	if !rv.Type().ConvertibleTo(s.f.typ) {
		return scoped{}, fmt.Errorf("crud: Scope: the value is a %T, which %s.%s (a %s) cannot hold", v, c.m.name, s.name, s.f.typ)
	}
	return scoped{f: s.f, value: rv.Convert(s.f.typ)}, nil
}

// on reports whether the scope limits anything.
func (s scoped) on() bool { return s.value.IsValid() }

// where adds the scope's condition to db.
func (s scoped) where(db *gorm.DB) *gorm.DB {
	if !s.on() {
		return db
	}
	return db.Where(clause.Eq{Column: s.f.column, Value: s.value.Interface()})
}

// fill sets the scope's field of item, a *T.
func (s scoped) fill(item any) {
	if s.on() {
		reflect.ValueOf(item).Elem().FieldByIndex(s.f.index).Set(s.value)
	}
}

// requirements returns the Requirements of route r, those of Uses first.
func (c *core) requirements(r Route) []Requirement {
	return append(append([]Requirement(nil), c.cfg.uses...), c.cfg.routeUses[r]...)
}
