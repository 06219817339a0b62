// Package observe checks easy's traces with the OpenTelemetry SDK, which
// the library itself does not need: an application brings its own.
package observe

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/go-chi/chi/v5"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/baggage"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/fastapi-easy/easy-go/easy"
	"github.com/fastapi-easy/easy-go/easy/observe"
	"github.com/fastapi-easy/easy-go/easy/ws"
	"github.com/fastapi-easy/easy-go/internal/testkit"
)

type Item struct {
	ID    uint    `json:"id" gorm:"primaryKey"`
	Name  string  `json:"name" required:"true" minLength:"1"`
	Price float64 `json:"price" minimum:"0"`
}

// A POST that carries a W3C traceparent makes one trace: the request's
// server span, the INSERT's span under it, the span that publishes the
// committed row's event under the INSERT (and linked to it), the event's
// fan-out under that, and the write of its frame to each connection under
// the fan-out.
func TestOnePostIsOneTraceFromRequestToFramesSent(t *testing.T) {
	exp := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp))
	t.Cleanup(func() { tp.Shutdown(context.Background()) })
	app := easy.New(easy.DB(testkit.SQLite(t, nil)), easy.Tracing(tp),
		easy.Logger(slog.New(slog.NewTextHandler(io.Discard, nil))))
	app.Include(easy.CRUDRouter[Item]())
	ws.NewManager(ws.Heartbeat(0)).Watch(app, Item{})
	srv := testkit.Serve(t, app)
	t.Cleanup(func() { app.Close(context.Background()) })

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var clients []*websocket.Conn
	for range 2 {
		c, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(srv.URL, "http")+"/ws/items", nil)
		if err != nil {
			t.Fatal(err)
		}
		defer c.CloseNow()
		clients = append(clients, c)
	}
	// The handshakes' spans end when their handlers return, which may be
	// after the clients have their connections.
	waitSpans(t, exp, "GET /ws/{resource}", 2)
	exp.Reset()

	const traceID, parentID = "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"
	res := testkit.Do(t, srv, "POST", "/items", `{"name":"apple","price":1}`, "Traceparent", "00-"+traceID+"-"+parentID+"-01")
	if res.Status != http.StatusCreated {
		t.Fatalf("POST: %d %s", res.Status, res.Body)
	}
	for _, c := range clients {
		if _, msg, err := c.Read(ctx); err != nil || !strings.Contains(string(msg), `"type":"create"`) {
			t.Fatalf("event: %s %v", msg, err)
		}
	}

	// The fan-out's span ends once it has handed the event to each
	// connection, which may be after their writers have sent it.
	waitSpans(t, exp, "ws send items", 2)
	spans := waitSpans(t, exp, "ws fan-out items", 1)
	server := only(t, spans, "POST /items")
	insert := only(t, spans, "INSERT items")
	publish := only(t, spans, "ws publish items")
	fanOut := only(t, spans, "ws fan-out items")

	if got := server.SpanContext.TraceID().String(); got != traceID {
		t.Errorf("server span in trace %s, want the traceparent's %s", got, traceID)
	}
	if got := server.Parent.SpanID().String(); got != parentID || !server.Parent.IsRemote() {
		t.Errorf("server span's parent %s (remote %v), want the traceparent's %s", got, server.Parent.IsRemote(), parentID)
	}
	if server.SpanKind != trace.SpanKindServer {
		t.Errorf("server span kind %v", server.SpanKind)
	}
	for k, want := range map[attribute.Key]attribute.Value{
		"http.route":                attribute.StringValue("/items"),
		"http.request.method":       attribute.StringValue("POST"),
		"http.response.status_code": attribute.IntValue(201),
	} {
		if got := attr(server, k); got != want {
			t.Errorf("server span %s = %v, want %v", k, got.Emit(), want.Emit())
		}
	}
	childOf(t, insert, server)
	if got := attr(insert, "db.system.name"); got != attribute.StringValue("sqlite") {
		t.Errorf("db.system.name %v", got.Emit())
	}
	if got := attr(insert, "db.query.text").AsString(); !strings.HasPrefix(got, "INSERT INTO `items`") || strings.Contains(got, "apple") {
		t.Errorf("db.query.text %q: not the statement, or with its values", got)
	}
	childOf(t, publish, insert)
	if len(publish.Links) != 1 || publish.Links[0].SpanContext.SpanID() != insert.SpanContext.SpanID() {
		t.Errorf("publish links %v, want the INSERT's span", publish.Links)
	}
	childOf(t, fanOut, publish)
	if got := attr(fanOut, "easy.ws.subscribers"); got != attribute.IntValue(2) {
		t.Errorf("fan-out subscribers %v, want 2", got.Emit())
	}
	for _, s := range spans {
		if s.Name == "ws send items" {
			childOf(t, s, fanOut)
		}
	}

	// A request whose caller did not sample its trace makes no span at
	// all (the SDK's default sampler follows the parent), and its event
	// still goes out.
	exp.Reset()
	res = testkit.Do(t, srv, "POST", "/items", `{"name":"pear","price":2}`, "Traceparent", "00-"+traceID+"-"+parentID+"-00")
	if res.Status != http.StatusCreated {
		t.Fatalf("POST: %d %s", res.Status, res.Body)
	}
	for _, c := range clients {
		if _, msg, err := c.Read(ctx); err != nil || !strings.Contains(string(msg), `"name":"pear"`) {
			t.Fatalf("event: %s %v", msg, err)
		}
	}
	tp.ForceFlush(ctx)
	if spans := exp.GetSpans(); len(spans) != 0 {
		t.Errorf("an unsampled request made spans: %v", names(spans))
	}
}

// waitSpans waits until exp has n spans named name, and returns its spans.
func waitSpans(t *testing.T, exp *tracetest.InMemoryExporter, name string, n int) tracetest.SpanStubs {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		spans := exp.GetSpans()
		if count(spans, name) == n {
			return spans
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d spans %q, want %d; have %v", count(spans, name), name, n, names(spans))
		}
	}
}

func childOf(t *testing.T, child, parent tracetest.SpanStub) {
	t.Helper()
	if child.Parent.SpanID() != parent.SpanContext.SpanID() || child.SpanContext.TraceID() != parent.SpanContext.TraceID() {
		t.Errorf("%q is not a child of %q", child.Name, parent.Name)
	}
}

func only(t *testing.T, spans tracetest.SpanStubs, name string) tracetest.SpanStub {
	t.Helper()
	if n := count(spans, name); n != 1 {
		t.Fatalf("%d spans %q, want 1; have %v", n, name, names(spans))
	}
	for _, s := range spans {
		if s.Name == name {
			return s
		}
	}
	panic("unreachable")
}

func count(spans tracetest.SpanStubs, name string) int {
	n := 0
	for _, s := range spans {
		if s.Name == name {
			n++
		}
	}
	return n
}

func names(spans tracetest.SpanStubs) []string {
	var out []string
	for _, s := range spans {
		out = append(out, s.Name)
	}
	return out
}

func attr(s tracetest.SpanStub, k attribute.Key) attribute.Value {
	for _, a := range s.Attributes {
		if a.Key == k {
			return a.Value
		}
	}
	return attribute.Value{}
}

// The tracer's middleware on a plain chi router, with no App around it
// (no BaseContext: the request is copied): the handler finds its
// request's span in its context, and the span is named by the route's
// template.
func TestTracerMiddlewareOnAPlainRouter(t *testing.T) {
	exp := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp))
	t.Cleanup(func() { tp.Shutdown(context.Background()) })
	r := chi.NewRouter()
	r.Use(observe.NewTracer(tp).Middleware)
	var inHandler trace.SpanContext
	r.Get("/things/{id}", func(w http.ResponseWriter, r *http.Request) {
		inHandler = trace.SpanContextFromContext(r.Context())
		w.WriteHeader(http.StatusTeapot)
	})
	w := httptest.NewRecorder()
	r.ServeHTTP(w, httptest.NewRequest("GET", "/things/7", nil))
	if w.Code != http.StatusTeapot {
		t.Fatalf("status %d", w.Code)
	}
	span := only(t, exp.GetSpans(), "GET /things/{id}")
	if !inHandler.Equal(span.SpanContext) {
		t.Errorf("the handler's span %v, want the server span %v", inHandler, span.SpanContext)
	}
	if got := attr(span, "http.response.status_code"); got != attribute.IntValue(http.StatusTeapot) {
		t.Errorf("status attribute %v", got.Emit())
	}

	// A W3C baggage header without a traceparent: its members reach the
	// handler's context.
	var member string
	r.Get("/baggage", func(w http.ResponseWriter, r *http.Request) {
		member = baggage.FromContext(r.Context()).Member("tenant").Value()
	})
	req := httptest.NewRequest("GET", "/baggage", nil)
	req.Header.Set("Baggage", "tenant=acme")
	r.ServeHTTP(httptest.NewRecorder(), req)
	if member != "acme" {
		t.Errorf("baggage member tenant = %q, want acme", member)
	}
}
