package observe

import (
	"net/http"
	"time"

	"go.opentelemetry.io/otel/trace"
)

// Middleware observes each request that next serves: its metrics when m
// is not nil, its span when t is not nil, in one pass that takes the
// method, the route and the response's status once for both. It must run
// inside a chi router, which names the route. Metrics.Middleware and
// Tracer.Middleware are this with one of the two.
func Middleware(m *Metrics, t *Tracer) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		if m == nil && t == nil {
			return next
		}
		return &observed{metrics: m, tracer: t, next: next}
	}
}

// observed is the handler Middleware returns.
type observed struct {
	metrics *Metrics
	tracer  *Tracer
	next    http.Handler
}

func (o *observed) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	method := methodOf(r.Method)
	var start time.Time
	if o.metrics != nil {
		start = time.Now()
	}
	var span trace.Span
	if o.tracer != nil {
		r, span = o.tracer.start(r, method)
		if o.metrics == nil && !span.IsRecording() {
			o.next.ServeHTTP(w, r)
			span.End() // all there is to a span the sampler dropped
			return
		}
	}
	ww := Recorder(w, r)
	if o.metrics != nil {
		o.metrics.begin(method)
	}
	// The labels are taken once the handler returns, also when it panics:
	// the recoverer inside has written the 500 by then.
	defer func() {
		status, route := Status(ww), Route(r)
		if o.metrics != nil {
			o.metrics.end(method, route, status, time.Since(start), ww.BytesWritten())
		}
		if span != nil {
			endServerSpan(span, method, route, status, ww.BytesWritten())
		}
	}()
	o.next.ServeHTTP(ww, r)
}
