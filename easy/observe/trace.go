package observe

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"

	"github.com/go-chi/chi/v5"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"
	"gorm.io/gorm"
)

// ScopeName is the instrumentation scope of the spans easy makes.
const ScopeName = "github.com/fastapi-easy/easy-go"

// Tracer makes an App's spans with the TracerProvider it was given. Its
// zero value is not usable; call NewTracer.
type Tracer struct {
	tracer trace.Tracer
	prop   propagation.TextMapPropagator
}

// NewTracer returns a Tracer that makes its spans with tp.
func NewTracer(tp trace.TracerProvider) *Tracer {
	return &Tracer{
		tracer: tp.Tracer(ScopeName, trace.WithSchemaURL(semconv.SchemaURL)),
		prop:   propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{}),
	}
}

// Tracer returns the tracer of easy's own spans, for the packages that
// serve beside the App (easy/ws).
func (t *Tracer) Tracer() trace.Tracer { return t.tracer }

// serverSpan is the option of every server span: an option made per
// request would cost an allocation.
var serverSpan = []trace.SpanStartOption{trace.WithSpanKind(trace.SpanKindServer)}

// Middleware makes a server span for each request, continuing the trace
// of a W3C traceparent header (and taking a W3C baggage header's members
// into the request's context), with the attributes of the semantic
// conventions for HTTP servers. It must run inside a chi router: once the
// route has served, the span is named "METHOD /route/{template}" and
// carries http.route. It is Middleware(nil, t).
func (t *Tracer) Middleware(next http.Handler) http.Handler { return Middleware(nil, t)(next) }

// start starts the server span of r, and returns r with the span in its
// context: where a BaseContext says, when the request's context is one;
// else r is copied with it. A span that records has the attributes known
// when the request arrives; one the sampler drops costs none (otelhttp
// computes them for every request, which cost a sampled-out GET a tenth
// more).
func (t *Tracer) start(r *http.Request, method methodLabel) (*http.Request, trace.Span) {
	ctx := r.Context()
	var slot *context.Context // where the span's context goes; nil: into a copy of r
	if bc, ok := ctx.(BaseContext); ok {
		slot = bc.Base()
		ctx = *slot
	}
	// The keys as net/http stores them: Header.Get would make them so on
	// every request.
	if len(r.Header["Traceparent"]) != 0 || len(r.Header["Baggage"]) != 0 {
		ctx = t.prop.Extract(ctx, propagation.HeaderCarrier(r.Header))
	}
	ctx, span := t.tracer.Start(ctx, method.spanName(), serverSpan...)
	if slot != nil {
		*slot = ctx
	} else {
		r = r.WithContext(ctx)
	}
	if span.IsRecording() {
		span.SetAttributes(requestAttributes(r, method.String())...)
	}
	return r, span
}

// endServerSpan ends the server span of a request once it is served:
// named "METHOD /route/{template}" (see spanName) with http.route when a route matched,
// with the response's status and size, and an error for a 5xx. A span the
// sampler dropped is only ended.
func endServerSpan(span trace.Span, method methodLabel, route string, status int, size int) {
	if !span.IsRecording() {
		span.End()
		return
	}
	if route != Unmatched {
		span.SetName(method.spanName() + " " + route)
		span.SetAttributes(semconv.HTTPRoute(route))
	}
	span.SetAttributes(semconv.HTTPResponseStatusCode(status), semconv.HTTPResponseBodySize(size))
	if status >= 500 {
		span.SetAttributes(semconv.ErrorTypeKey.String(strconv.Itoa(status)))
		span.SetStatus(codes.Error, "")
	}
	span.End()
}

// A BaseContext is a request's context, made by the router that serves
// the request, that holds the context it was made from in a field of its
// own. A middleware that only adds values to the request's context may put
// its context in that field, derived from the one there, rather than copy
// the request (http.Request.WithContext copies it, the largest cost of a
// span the sampler drops). The request's context must be the BaseContext
// itself, not a context derived from it, and no other goroutine may use
// the request meanwhile.
type BaseContext interface {
	context.Context
	Base() *context.Context
}

// requestAttributes are the semantic conventions' attributes of a server
// span known when the request arrives.
func requestAttributes(r *http.Request, method string) []attribute.KeyValue {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	attrs := []attribute.KeyValue{
		semconv.HTTPRequestMethodKey.String(method),
		semconv.URLScheme(scheme),
		semconv.URLPath(r.URL.Path),
		semconv.NetworkProtocolVersion(strconv.Itoa(r.ProtoMajor) + "." + strconv.Itoa(r.ProtoMinor)),
	}
	if method != r.Method {
		attrs = append(attrs, semconv.HTTPRequestMethodOriginal(r.Method))
	}
	if host, port, err := net.SplitHostPort(r.Host); err == nil {
		attrs = append(attrs, semconv.ServerAddress(host))
		if p, err := strconv.Atoi(port); err == nil {
			attrs = append(attrs, semconv.ServerPort(p))
		}
	} else if r.Host != "" {
		attrs = append(attrs, semconv.ServerAddress(r.Host))
	}
	if host, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		attrs = append(attrs, semconv.ClientAddress(host), semconv.NetworkPeerAddress(host))
	}
	if ua := r.UserAgent(); ua != "" {
		attrs = append(attrs, semconv.UserAgentOriginal(ua))
	}
	return attrs
}

// NameRoute records path as the route template of r, for a handler that
// serves r itself, before the router has matched it.
func NameRoute(r *http.Request, path string) {
	if rc := chi.RouteContext(r.Context()); rc != nil {
		rc.RoutePatterns = append(rc.RoutePatterns, path)
	}
}

// stmtSpan marks the context of a statement whose span startStatement
// made, so that endStatement ends that span and no other.
type stmtSpan struct{}

// clientSpan is the option of every statement's span.
var clientSpan = []trace.SpanStartOption{trace.WithSpanKind(trace.SpanKindClient)}

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
	if sc := trace.SpanContextFromContext(ctx); sc.IsValid() && !sc.IsSampled() {
		return // the parent's decision holds for its children, as ParentBased's does
	}
	ctx, span := t.tracer.Start(ctx, "db", clientSpan...)
	db.Statement.Context = context.WithValue(ctx, stmtSpan{}, span)
}

func (t *Tracer) endStatement(system attribute.KeyValue) func(*gorm.DB) {
	return func(db *gorm.DB) {
		ctx := db.Statement.Context
		cur := trace.SpanFromContext(ctx)
		sc := cur.SpanContext()
		if !sc.IsSampled() && !cur.IsRecording() {
			return // no span of this statement's, or one the sampler dropped: nothing to end
		}
		span, _ := ctx.Value(stmtSpan{}).(trace.Span)
		if span == nil || !span.SpanContext().Equal(sc) {
			return // the span in ctx is not this statement's
		}
		defer span.End()
		if !span.IsRecording() {
			return
		}
		sql := db.Statement.SQL.String()
		op, _, _ := strings.Cut(strings.TrimSpace(sql), " ")
		op = strings.ToUpper(op)
		name := op
		if db.Statement.Table != "" {
			name += " " + db.Statement.Table
			span.SetAttributes(semconv.DBCollectionName(db.Statement.Table))
		}
		if name == "" {
			name = system.Value.AsString()
		}
		span.SetName(name)
		span.SetAttributes(system, semconv.DBOperationName(op), semconv.DBQueryText(sql),
			attribute.Int64("db.response.affected_rows", db.RowsAffected))
		if err := db.Error; err != nil && !errors.Is(err, gorm.ErrRecordNotFound) {
			span.RecordError(err)
			span.SetAttributes(semconv.ErrorTypeKey.String(fmt.Sprintf("%T", err)))
			span.SetStatus(codes.Error, err.Error())
		}
	}
}

// dbSystem names a GORM dialector as the semantic conventions' db.system.name.
func dbSystem(dialector string) attribute.KeyValue {
	switch dialector {
	case "postgres":
		return semconv.DBSystemNamePostgreSQL
	case "sqlite", "sqlite3":
		return semconv.DBSystemNameSQLite
	}
	return semconv.DBSystemNameKey.String(dialector)
}
