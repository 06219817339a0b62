package observe

import (
	"context"
	"errors"
	"net/http"
	"strings"

	"github.com/go-chi/chi/v5"
	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/metric/noop"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
	"gorm.io/gorm"
)

// ScopeName is the instrumentation scope of the spans easy makes.
const ScopeName = "github.com/fastapi-easy/easy-go"

// Tracer makes an App's spans with the TracerProvider it was given. Its
// zero value is not usable; call NewTracer.
type Tracer struct {
	tp     trace.TracerProvider
	tracer trace.Tracer
	server func(http.Handler) http.Handler
}

// NewTracer returns a Tracer that makes its spans with tp.
func NewTracer(tp trace.TracerProvider) *Tracer {
	t := &Tracer{tp: tp, tracer: tp.Tracer(ScopeName)}
	t.server = otelhttp.NewMiddleware("easy",
		otelhttp.WithTracerProvider(tp),
		// The metrics are client_golang's (Metrics); otelhttp's own would
		// go to a global MeterProvider.
		otelhttp.WithMeterProvider(noop.NewMeterProvider()),
		otelhttp.WithPropagators(propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{})),
		otelhttp.WithSpanNameFormatter(func(_ string, r *http.Request) string { return r.Method }),
	)
	return t
}

// Tracer returns the tracer of easy's own spans, for the packages that
// serve beside the App (easy/ws).
func (t *Tracer) Tracer() trace.Tracer { return t.tracer }

// Middleware makes a server span for each request, continuing the trace
// of a W3C traceparent header, with the attributes of the semantic
// conventions (otelhttp's). It must run inside a chi router: once the
// route has served, the span is named "METHOD /route/{template}" and
// carries http.route.
func (t *Tracer) Middleware(next http.Handler) http.Handler {
	return t.server(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			span := trace.SpanFromContext(r.Context())
			route := Route(r)
			if route == Unmatched {
				return
			}
			span.SetName(Method(r.Method) + " " + route)
			span.SetAttributes(attribute.String("http.route", route))
		}()
		next.ServeHTTP(w, r)
	}))
}

// NameRoute records path as the route template of r, for a handler that
// serves r itself, before the router has matched it.
func NameRoute(r *http.Request, path string) {
	if rc := chi.RouteContext(r.Context()); rc != nil {
		rc.RoutePatterns = append(rc.RoutePatterns, path)
	}
}

// spanKey is where a statement's span waits for its end, in the
// statement's settings.
const spanKey = "observe:span"

// WatchDB makes a client span for each statement run through db's
// callbacks (create, query, update, delete, row, raw), a child of the
// span in the statement's context, named as the semantic conventions say
// ("INSERT items") and with the statement's text, placeholders and all:
// values never reach a span. The span is in the statement's context while
// the statement runs, so that what it causes (the events of a committed
// write) can be linked to it.
func (t *Tracer) WatchDB(db *gorm.DB) error {
	system := dbSystem(db.Dialector.Name())
	cb := db.Callback()
	var errs []error
	type registrar interface {
		Register(string, func(*gorm.DB)) error
	}
	register := func(name string, before, after registrar) {
		errs = append(errs,
			before.Register("observe:before_"+name, t.startStatement),
			after.Register("observe:after_"+name, t.endStatement(system)))
	}
	register("create", cb.Create().Before("*"), cb.Create().After("*"))
	register("query", cb.Query().Before("*"), cb.Query().After("*"))
	register("update", cb.Update().Before("*"), cb.Update().After("*"))
	register("delete", cb.Delete().Before("*"), cb.Delete().After("*"))
	register("row", cb.Row().Before("*"), cb.Row().After("*"))
	register("raw", cb.Raw().Before("*"), cb.Raw().After("*"))
	return errors.Join(errs...)
}

func (t *Tracer) startStatement(db *gorm.DB) {
	ctx := db.Statement.Context
	if ctx == nil {
		ctx = context.Background()
	}
	ctx, span := t.tracer.Start(ctx, "db", trace.WithSpanKind(trace.SpanKindClient))
	db.Statement.Context = ctx
	db.InstanceSet(spanKey, span)
}

func (t *Tracer) endStatement(system string) func(*gorm.DB) {
	return func(db *gorm.DB) {
		v, ok := db.InstanceGet(spanKey)
		span, _ := v.(trace.Span)
		if !ok || span == nil {
			return
		}
		sql := db.Statement.SQL.String()
		op, _, _ := strings.Cut(strings.TrimSpace(sql), " ")
		op = strings.ToUpper(op)
		name := op
		if db.Statement.Table != "" {
			name += " " + db.Statement.Table
			span.SetAttributes(attribute.String("db.collection.name", db.Statement.Table))
		}
		if name == "" {
			name = system
		}
		span.SetName(name)
		span.SetAttributes(
			attribute.String("db.system.name", system),
			attribute.String("db.operation.name", op),
			attribute.String("db.query.text", sql),
			attribute.Int64("db.response.affected_rows", db.RowsAffected),
		)
		if err := db.Error; err != nil && !errors.Is(err, gorm.ErrRecordNotFound) {
			span.RecordError(err)
			span.SetStatus(codes.Error, err.Error())
		}
		span.End()
	}
}

// dbSystem names a GORM dialector as the semantic conventions' db.system.name.
func dbSystem(dialector string) string {
	switch dialector {
	case "postgres":
		return "postgresql"
	case "sqlite", "sqlite3":
		return "sqlite"
	}
	return dialector
}
