package crud

import (
	"context"

	"gorm.io/gorm"

	"github.com/fastapi-easy/easy-go/easy/query"
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

// Policy limits every route to the rows pol allows (query.Rows: the rows
// whose field holds a value read from the request): a list and its count
// show only them, a read, change or delete of another row is a 404 (so
// its existence does not leak), DELETE on the collection deletes only
// them, and a create or a change sets the field to the value, whatever the
// client sent. Give the same Policy to ws.Policy, and the realtime
// endpoint shows each connection the same rows. Tag the field
// easy:"readonly" so clients are not asked for it.
func Policy(pol *query.Policy) Option {
	return func(c *config) {
		if pol == nil {
			c.problems = append(c.problems, "Policy: nil policy")
			return
		}
		c.policy = pol
	}
}

// scoped is the policy's filter for one request; a zero scoped limits
// nothing.
type scoped struct{ f *query.Filter }

// scopeOf returns the scope of the request of ctx.
func (c *core) scopeOf(ctx context.Context) (scoped, error) {
	f, err := c.parser.Scope(ctx, c.cfg.policy)
	return scoped{f}, err
}

// where adds the scope's condition to db.
func (s scoped) where(db *gorm.DB) *gorm.DB {
	if s.f == nil {
		return db
	}
	return s.f.Apply(db)
}

// fill sets the scope's field of item, a *T.
func (s scoped) fill(item any) {
	if s.f != nil {
		s.f.Fill(item)
	}
}

// requirements returns the Requirements of route r, those of Uses first;
// a batch's, those of each write route it may do, then its own.
func (c *core) requirements(r Route) []Requirement {
	reqs := append([]Requirement(nil), c.cfg.uses...)
	for _, br := range c.batchRoutes(r) {
		reqs = append(reqs, c.cfg.routeUses[br]...)
	}
	return append(reqs, c.cfg.routeUses[r]...)
}
