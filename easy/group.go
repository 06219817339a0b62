package easy

import (
	"net/http"
	"strings"

	"github.com/fastapi-easy/easy-go/easy/openapi"
	"github.com/fastapi-easy/easy-go/easy/route"
)

// Group is a set of operations under one path prefix, with its own tags
// and middleware, as FastAPI's APIRouter. Make one with App.Group.
type Group struct {
	app           *App
	prefix        string
	tags          []string
	middleware    []func(http.Handler) http.Handler
	uses          []Dep
	forbidUnknown *bool // nil: as the App says
	sealed        bool  // an operation was added: no more middleware
}

// Group returns a group of operations under prefix.
func (a *App) Group(prefix string, opts ...GroupOption) *Group {
	g := &Group{app: a, prefix: strings.TrimSuffix(prefix, "/")}
	for _, o := range opts {
		o.applyGroup(g)
	}
	return g
}

// Group returns a group nested in g: its prefix follows g's, and it has
// g's tags, dependencies and middleware before its own, and g's setting
// of unknown body fields unless it has its own.
func (g *Group) Group(prefix string, opts ...GroupOption) *Group {
	n := &Group{
		app:           g.app,
		prefix:        g.prefix + strings.TrimSuffix(prefix, "/"),
		tags:          append([]string(nil), g.tags...),
		middleware:    append([]func(http.Handler) http.Handler(nil), g.middleware...),
		uses:          append([]Dep(nil), g.uses...),
		forbidUnknown: g.forbidUnknown,
	}
	for _, o := range opts {
		o.applyGroup(n)
	}
	return n
}

// Use appends middleware to the group's operations. As with chi, all
// middleware must be added before the group's first operation.
func (g *Group) Use(mw ...func(http.Handler) http.Handler) {
	if g.sealed {
		panic("easy: all middleware must be added to a group before its operations")
	}
	g.middleware = append(g.middleware, mw...)
}

// Include mounts routers under the group's prefix, with its tags,
// dependencies and middleware; see App.Include.
func (g *Group) Include(routers ...route.Mounter) { g.site().include(routers) }

// Handle routes pattern under the group's prefix to h, outside the
// OpenAPI document, behind the group's dependencies and middleware as its
// operations are (a group that requires a user guards all it serves);
// see App.Handle.
func (g *Group) Handle(pattern string, h http.Handler) {
	g.sealed = true
	if method, path, ok := strings.Cut(pattern, " "); ok {
		pattern = method + " " + g.prefix + strings.TrimLeft(path, " \t")
	} else {
		pattern = g.prefix + pattern
	}
	// The operation only gathers what the dependencies would document.
	h = useDeps(g.app.spec, g.app.logger, &openapi.Operation{}, g.uses, h)
	g.app.Handle(pattern, wrap(h, g.middleware))
}
