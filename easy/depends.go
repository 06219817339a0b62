package easy

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"reflect"
	"slices"

	"github.com/swaggest/openapi-go/openapi31"

	"github.com/fastapi-easy/easy-go/easy/openapi"
	"github.com/fastapi-easy/easy-go/easy/problem"
	"github.com/fastapi-easy/easy-go/easy/route"
	"github.com/fastapi-easy/easy-go/internal/binding"
	"github.com/fastapi-easy/easy-go/internal/handler"
)

// Dependency is a value an operation needs before its handler runs, as
// FastAPI's Depends: the current user, a transaction, shared pagination
// parameters. It is declared once with Depends (or DependsYield, or
// DependsRequest) and listed by the operations, groups and CRUD routes
// that need it; their handlers read it with From. It is resolved at most
// once per request, however many dependencies need it, and its error
// stops the request.
type Dependency[T any] struct {
	sealed // a Dependency is a route.Requirement, for routers' options
	d      *dependency
}

// sealed is embedded under a name of its own so that it is no field of
// Dependency's API.
type sealed = route.Sealed

// Dep is any Dependency, whatever its type: what Uses and the needs of a
// dependency list. Each is a route.Requirement too, which CRUD routers'
// options (crud.Uses) take.
type Dep interface {
	route.Requirement
	node() *dependency
}

// Doc documents what a dependency reads and how it can fail, for the
// OpenAPI document of every operation that uses it.
type Doc struct {
	// Params is a pointer to a struct whose path, query, header and cookie
	// fields document the parameters the dependency reads.
	Params any
	// Security lists the security schemes the dependency enforces. An
	// entry without a Name adds its scopes to the schemes named by the
	// dependencies this one needs.
	Security []openapi.Security
	// Schemes are the security schemes by name, added to
	// components.securitySchemes.
	Schemes map[string]openapi31.SecurityScheme
	// Errors are the error statuses the dependency answers with.
	Errors []int
}

// Release ends what a dependency began, after the handler ran and before
// the response is sent: failed says whether the response is an error
// (status 400 or above). An error it returns replaces the response.
type Release func(ctx context.Context, failed bool) error

// dependency is a Dependency without its type.
type dependency struct {
	name    string // the value's type, for messages
	needs   []*dependency
	resolve func(r *http.Request) (any, Release, error)
	doc     Doc
}

// Depends declares a dependency computed by fn from I, a struct bound
// from the request as an operation's input is (path, query, header and
// cookie fields; a body is not allowed), so that its parameters are
// validated and documented in every operation that uses it. The
// dependencies in needs are resolved before fn runs: fn reads them with
// From. An error from fn stops the request, an *HTTPError with its own
// status. A mistake in I panics, as it is found at start-up.
func Depends[I, T any](fn func(ctx context.Context, in *I) (T, error), needs ...Dep) Dependency[T] {
	return DependsYield(func(ctx context.Context, in *I) (T, Release, error) {
		v, err := fn(ctx, in)
		return v, nil, err
	}, needs...)
}

// DependsYield is Depends for a dependency that must be ended after the
// handler, as a FastAPI dependency with yield: fn returns the value and a
// Release (or nil), which runs once the handler has answered and before
// the answer is sent, so a transaction is committed or rolled back
// before the client hears of it.
func DependsYield[I, T any](fn func(ctx context.Context, in *I) (T, Release, error), needs ...Dep) Dependency[T] {
	it := reflect.TypeFor[I]()
	plan, err := binding.Compile(it, binding.Options{PathValue: handler.PathValue})
	if err != nil {
		panic(fmt.Sprintf("easy: dependency %s: %v", reflect.TypeFor[T](), err))
	}
	if plan.HasBody() {
		panic(fmt.Sprintf("easy: dependency %s: its input %s takes a body; a dependency reads parameters only", reflect.TypeFor[T](), it))
	}
	var doc Doc
	if plan.HasParams() {
		doc.Params = new(I)
		doc.Errors = []int{http.StatusUnprocessableEntity}
	}
	d := newDependency[T](needs, doc)
	d.resolve = func(r *http.Request) (any, Release, error) {
		in := new(I)
		if err := plan.Bind(r, in); err != nil {
			return nil, nil, err
		}
		return fn(r.Context(), in)
	}
	return Dependency[T]{d: d}
}

// DependsRequest declares a dependency that reads the request itself, as
// the security schemes of easy/security do; doc says what it reads and
// how it fails, for the OpenAPI document. The dependencies in needs are
// resolved before fn runs.
func DependsRequest[T any](fn func(r *http.Request) (T, error), doc Doc, needs ...Dep) Dependency[T] {
	d := newDependency[T](needs, doc)
	d.resolve = func(r *http.Request) (any, Release, error) {
		v, err := fn(r)
		return v, nil, err
	}
	return Dependency[T]{d: d}
}

func newDependency[T any](needs []Dep, doc Doc) *dependency {
	d := &dependency{name: reflect.TypeFor[T]().String(), doc: doc}
	for _, n := range needs {
		if n == nil || n.node() == nil {
			panic(fmt.Sprintf("easy: dependency %s needs a nil or zero Dependency", d.name))
		}
		d.needs = append(d.needs, n.node())
	}
	return d
}

func (d Dependency[T]) node() *dependency {
	if d.d == nil {
		panic("easy: a zero Dependency; make one with Depends")
	}
	return d.d
}

// From returns the dependency's value for the request of ctx. It panics
// when the dependency was not resolved for this request, a mistake of
// setup: list it in Uses, or in the needs of the dependency that reads it.
func (d Dependency[T]) From(ctx context.Context) T {
	v, ok := d.Lookup(ctx)
	if !ok {
		panic(fmt.Sprintf("easy: dependency %s was not resolved for this request: list it in Uses or in the needs of the dependency that reads it", d.node().name))
	}
	return v
}

// Lookup returns the dependency's value for the request of ctx, and
// whether it was resolved (without error) for it.
func (d Dependency[T]) Lookup(ctx context.Context) (T, bool) {
	var zero T
	st, _ := ctx.Value(storeKey{}).(*store)
	if st == nil {
		return zero, false
	}
	res, ok := st.get(d.node())
	if !ok || res.err != nil {
		return zero, false
	}
	v, _ := res.v.(T) // a nil interface value is the zero T
	return v, true
}

// Resolve resolves the dependency for r outside an operation, for a
// WebSocket handshake, say, and returns r's context holding its value (and
// those of the dependencies it needs), which From reads: a realtime
// connection keeps it, so that a row policy reads the user of a connection
// as it reads the user of a request. A dependency with a Release is
// refused: nothing would end it.
func (d Dependency[T]) Resolve(r *http.Request) (context.Context, error) {
	r, st := withStore(r)
	before := len(st.releases)
	_, err := st.resolve(r, d.node())
	if len(st.releases) > before {
		st.finish(r.Context(), before, true)
		return nil, fmt.Errorf("easy: dependency %s has a Release and cannot be resolved outside an operation", d.d.name)
	}
	if err != nil {
		return nil, err
	}
	return r.Context(), nil
}

// describeOp documents d in op, never appending into the slices op had:
// they may be shared with other operations.
func describeOp(spec *openapi.Spec, op *openapi.Operation, d *dependency) {
	op.Params, op.Errors = slices.Clip(op.Params), slices.Clip(op.Errors)
	op.Security = slices.Clone(op.Security)
	for i := range op.Security {
		op.Security[i].Scopes = slices.Clip(op.Security[i].Scopes)
	}
	describe(spec, op, d)
}

func describe(spec *openapi.Spec, op *openapi.Operation, d *dependency) {
	for _, n := range d.needs {
		describe(spec, op, n)
	}
	if p := d.doc.Params; p != nil && !slices.Contains(op.Params, p) {
		op.Params = append(op.Params, p)
	}
	for _, code := range d.doc.Errors {
		if !slices.Contains(op.Errors, code) {
			op.Errors = append(op.Errors, code)
		}
	}
	for name, s := range d.doc.Schemes {
		spec.AddSecurityScheme(name, s)
	}
	for _, s := range d.doc.Security {
		if s.Name == "" { // scopes for the schemes already named
			for i := range op.Security {
				for _, sc := range s.Scopes {
					if !slices.Contains(op.Security[i].Scopes, sc) {
						op.Security[i].Scopes = append(op.Security[i].Scopes, sc)
					}
				}
			}
			continue
		}
		i := slices.IndexFunc(op.Security, func(x openapi.Security) bool { return x.Name == s.Name })
		if i < 0 {
			op.Security = append(op.Security, openapi.Security{Name: s.Name, Scopes: slices.Clone(s.Scopes)})
			continue
		}
		for _, sc := range s.Scopes {
			if !slices.Contains(op.Security[i].Scopes, sc) {
				op.Security[i].Scopes = append(op.Security[i].Scopes, sc)
			}
		}
	}
}

// nodes returns the dependencies of deps.
func nodes(deps []Dep) []*dependency {
	ns := make([]*dependency, len(deps))
	for i, d := range deps {
		if d == nil {
			panic("easy: Uses: a nil Dependency")
		}
		ns[i] = d.node()
	}
	return ns
}

// useDeps documents deps in op and returns h behind them.
func useDeps(spec *openapi.Spec, log *slog.Logger, op *openapi.Operation, deps []Dep, h http.Handler) http.Handler {
	if len(deps) == 0 {
		return h
	}
	ns := nodes(deps)
	for _, n := range ns {
		describeOp(spec, op, n)
	}
	return resolver(log, ns, h)
}

// resolver returns next behind deps: it resolves them in order and
// answers with the first error. When one of them has a Release, the
// response of next is held until the releases have run, so that a
// release error can replace it.
func resolver(log *slog.Logger, deps []*dependency, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r, st := withStore(r)
		before := len(st.releases)
		for _, d := range deps {
			if _, err := st.resolve(r, d); err != nil {
				st.finish(r.Context(), before, true)
				problem.Write(w, r, log, err)
				return
			}
		}
		if len(st.releases) == before {
			next.ServeHTTP(w, r)
			return
		}
		hold := &heldResponse{header: http.Header{}}
		done := false
		defer func() {
			if !done { // next panicked: end what was begun, then let the panic go on
				st.finish(r.Context(), before, true)
			}
		}()
		next.ServeHTTP(hold, r)
		done = true
		if err := st.finish(r.Context(), before, hold.status() >= 400); err != nil {
			problem.Write(w, r, log, err)
			return
		}
		hold.send(w)
	})
}
