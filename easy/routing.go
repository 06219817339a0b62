package easy

import (
	"context"
	"net/http"
	"strings"

	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"

	"github.com/fastapi-easy/easy-go/easy/problem"
)

// allowMethods are the methods a 405's Allow header may name, in the order
// it names them.
var allowMethods = []string{
	http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
	http.MethodDelete, http.MethodOptions, http.MethodConnect, http.MethodTrace,
}

// notFound answers a request no route matches. "OPTIONS *", a question
// about the server rather than a resource, gets net/http's answer: 200
// with no body (Serve hands it to the App; see App.server).
func notFound(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodOptions && r.RequestURI == "*" {
		w.Header().Set("Content-Length", "0")
		w.WriteHeader(http.StatusOK)
		return
	}
	problem.Text(w, http.StatusNotFound, "Not Found")
}

// methodNotAllowed answers a request for a path whose routes take other
// methods: 405 with those methods in Allow (RFC 9110 §15.5.6). HEAD is
// allowed wherever GET is, since the App answers it as GET. A method chi
// does not know reaches here too; on a path with no route it is a 404.
func (a *App) methodNotAllowed(w http.ResponseWriter, r *http.Request) {
	path := r.URL.RawPath
	if path == "" {
		path = r.URL.Path
	}
	var allow []string
	for _, m := range allowMethods {
		if a.mux.Match(chi.NewRouteContext(), m, path) || m == http.MethodHead && len(allow) > 0 && allow[0] == http.MethodGet {
			allow = append(allow, m)
		}
	}
	if len(allow) == 0 {
		notFound(w, r)
		return
	}
	w.Header().Set("Allow", strings.Join(allow, ", "))
	problem.Text(w, http.StatusMethodNotAllowed, "Method Not Allowed")
}

// requestContext is the context the App gives each request: chi's routing
// context and the request's ID (see requestID) in one value. Left to
// themselves, chi and the request ID would each add a context and a copy
// of the request, the largest costs of the App's middleware (see the
// request path in docs/benchmarks.md).
type requestContext struct {
	context.Context
	route *chi.Context
	id    string
	idHdr [1]string // the X-Request-Id header, which holds id
}

// requestContextKey finds a request's requestContext under contexts that
// middleware derived from it.
type requestContextKey struct{}

func (c *requestContext) Value(key any) any {
	switch key {
	case chi.RouteCtxKey:
		return c.route
	case middleware.RequestIDKey:
		if c.id == "" {
			return nil
		}
		return c.id
	case requestContextKey{}:
		return c
	}
	return c.Context.Value(key)
}

// Base implements observe.BaseContext: the tracer's middleware puts the
// span's context under the App's own, without a copy of the request. It
// runs before any other middleware has derived a context from this one.
func (c *requestContext) Base() *context.Context { return &c.Context }

// route serves r on the App's router. chi's Mux, finding a routing
// context, uses it rather than making its own, as it does for a router
// mounted in another; the App keeps a pool of them, as chi does. An App
// mounted in another chi router keeps the routing context it is given.
func (a *App) route(w http.ResponseWriter, r *http.Request) {
	if rctx, _ := r.Context().Value(chi.RouteCtxKey).(*chi.Context); rctx != nil {
		a.mux.ServeHTTP(w, r.WithContext(&requestContext{Context: r.Context(), route: rctx}))
		return
	}
	rctx, _ := a.routes.Get().(*chi.Context)
	if rctx == nil {
		rctx = chi.NewRouteContext()
	}
	rctx.Reset()
	rctx.Routes = a.mux
	a.mux.ServeHTTP(w, r.WithContext(&requestContext{Context: r.Context(), route: rctx}))
	a.routes.Put(rctx)
}
