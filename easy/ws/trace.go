package ws

import (
	"context"
	"strconv"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"

	"github.com/fastapi-easy/easy-go/easy"
	"github.com/fastapi-easy/easy-go/internal/capture"
)

// eventTrace holds the spans an event's delivery continues: the span
// that published it, and the span of its fan-out, which the fan-out
// goroutine sets before it queues the event to any connection.
type eventTrace struct {
	publish trace.SpanContext
	fanOut  trace.SpanContext
}

// useTracer makes the Manager trace the realtime path when app traces.
func (m *Manager) useTracer(app *easy.App) {
	if t := app.Tracer(); t != nil {
		m.tracer = t.Tracer()
	}
}

// publishCommitted publishes the changes of one commit to table. Traced,
// it makes a span "ws publish TABLE", a child of the span of the
// statement that wrote the first change (the request's trace goes on)
// and linked to the spans of every statement of the commit; the events'
// fan-out and their writes to the sockets are its children.
func (m *Manager) publishCommitted(table string, captured []capture.Change, batch []Change) {
	if sc := captured[0].Span; m.tracer == nil || sc.IsValid() && !sc.IsSampled() {
		// Untraced, or a trace that was not sampled: its children are
		// not either, as with a ParentBased sampler.
		m.publish(table, batch, true, nil)
		return
	}
	var links []trace.Link
	for i, c := range captured {
		if c.Span.IsValid() && (i == 0 || !c.Span.Equal(captured[i-1].Span)) {
			links = append(links, trace.Link{SpanContext: c.Span})
		}
	}
	ctx := trace.ContextWithSpanContext(context.Background(), captured[0].Span)
	_, span := m.tracer.Start(ctx, "ws publish "+table,
		trace.WithSpanKind(trace.SpanKindProducer),
		trace.WithLinks(links...),
		trace.WithAttributes(
			attribute.String("messaging.system", "easy"),
			attribute.String("messaging.operation.type", "publish"),
			attribute.String("messaging.destination.name", table),
			attribute.Int("messaging.batch.message_count", len(batch)),
		))
	m.publish(table, batch, true, &eventTrace{publish: span.SpanContext()})
	span.End()
}

func noEnd() {}

// traceFanOut starts the span of ev's fan-out to the resource's
// connections, "ws fan-out RESOURCE", and returns what ends it. The
// caller holds fanMu.
func (r *resource) traceFanOut(ev *event) (end func()) {
	if ev.trace == nil || r.m.tracer == nil {
		return noEnd
	}
	ctx := trace.ContextWithSpanContext(context.Background(), ev.trace.publish)
	_, span := r.m.tracer.Start(ctx, "ws fan-out "+r.name,
		trace.WithAttributes(
			attribute.String("messaging.destination.name", r.name),
			attribute.Int64("easy.ws.seq", int64(ev.seq)),
			attribute.Int("easy.ws.subscribers", len(r.subs)),
		))
	ev.trace.fanOut = span.SpanContext()
	return func() { span.End() }
}

// traceWrite starts the span of the write of ev to c's socket, "ws send
// RESOURCE", a child of its fan-out, and returns what ends it.
func (c *Conn) traceWrite(ev *event) (end func()) {
	if !c.traced(ev) {
		return noEnd
	}
	ctx := trace.ContextWithSpanContext(context.Background(), ev.trace.fanOut)
	_, span := c.m.tracer.Start(ctx, "ws send "+c.group,
		trace.WithSpanKind(trace.SpanKindProducer),
		trace.WithAttributes(
			attribute.String("messaging.system", "easy"),
			attribute.String("messaging.operation.type", "send"),
			attribute.String("messaging.destination.name", c.group),
			attribute.String("easy.ws.connection", c.id),
			attribute.String("easy.ws.seq", strconv.FormatUint(ev.seq, 10)),
		))
	return func() { span.End() }
}

// traced reports whether the write of ev to c has a span.
func (c *Conn) traced(ev *event) bool {
	return ev != nil && ev.trace != nil && c.m.tracer != nil
}
