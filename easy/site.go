package easy

import (
	"fmt"
	"log/slog"
	"net/http"
	"slices"

	"gorm.io/gorm"

	"github.com/fastapi-easy/easy-go/easy/openapi"
	"github.com/fastapi-easy/easy-go/easy/route"
)

// site is where operations and routers are added: the App, or one of its
// Groups. It is the route.Site the App hands to the routers it includes,
// so that App and Group need not export what only routers use.
type site struct {
	app *App
	g   *Group // nil for the App itself
}

func (a *App) site() site   { return site{app: a} }
func (g *Group) site() site { return site{app: g.app, g: g} }

// Add adds op under the group's prefix, with its tags, dependencies and
// middleware, routes it to h and documents it; it returns op as
// documented.
func (s site) Add(op openapi.Operation, h http.Handler) openapi.Operation {
	if g := s.g; g != nil {
		g.sealed = true
		op.Path = g.prefix + op.Path
		if len(g.tags) > 0 {
			op.Tags = append(slices.Clone(g.tags), op.Tags...)
		}
		h = useDeps(s.app.spec, s.app.logger, &op, g.uses, h)
		h = wrap(h, g.middleware)
	}
	if op.ID == "" {
		op.ID = defaultOperationID(op.Method, op.Path)
	}
	if err := s.app.spec.Add(op); err != nil {
		panic("easy: " + err.Error())
	}
	s.app.mux.Method(op.Method, op.Path, h)
	return op
}

// Require returns h behind reqs, which must be Dependencies, and
// documents them in op.
func (s site) Require(op *openapi.Operation, h http.Handler, reqs ...route.Requirement) http.Handler {
	return useDeps(s.app.spec, s.app.logger, op, asDeps(reqs), h)
}

func (s site) DB() *gorm.DB         { return s.app.DB() }
func (s site) Spec() *openapi.Spec  { return s.app.spec }
func (s site) Logger() *slog.Logger { return s.app.logger }

func (s site) ForbidsUnknownFields() bool {
	if s.g != nil && s.g.forbidUnknown != nil {
		return *s.g.forbidUnknown
	}
	return s.app.cfg.forbidUnknown
}

// include mounts routers on the site, migrating first the models of
// those that have them (see App.migrateModels).
func (s site) include(routers []route.Mounter) {
	for _, rt := range routers {
		if m, ok := rt.(route.Migrator); ok {
			s.app.migrateModels(fmt.Sprintf("%T", rt), m.Models())
		}
		if err := rt.Mount(s); err != nil {
			panic(fmt.Sprintf("easy: include %T: %v", rt, err))
		}
	}
}

// wrap returns h inside mw, the first outermost.
func wrap(h http.Handler, mw []func(http.Handler) http.Handler) http.Handler {
	for i := len(mw) - 1; i >= 0; i-- {
		h = mw[i](h)
	}
	return h
}
