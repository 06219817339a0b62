package observe

import (
	"context"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	dto "github.com/prometheus/client_model/go"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/fastapi-easy/easy-go/easy"
	"github.com/fastapi-easy/easy-go/easy/ws"
	"github.com/fastapi-easy/easy-go/internal/testkit"
)

// An App with both Metrics and Tracing observes each request once for
// both, through the one middleware. A 404 of a CRUD route, a 405 of a
// made-up method, a 500 of a handler that panicked and a WebSocket
// handshake each make exactly one sample of their series (method, route,
// status), and the in-flight gauge is back to 0, whatever the sampler
// decides. A sampler that samples gets a server span per request, named
// by its route (the unmatched 405 of a method the label does not know
// "HTTP", as the semantic conventions say), the 500's
// an error, the 404's not, with the handler's statement under the GET's;
// one that drops every span has none exported.
func TestMetricsAndSpansOfOneApp(t *testing.T) {
	for _, tc := range []struct {
		name    string
		sampler sdktrace.Sampler
	}{
		{"AlwaysSample", sdktrace.AlwaysSample()},
		{"NeverSample", sdktrace.NeverSample()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			exp := tracetest.NewInMemoryExporter()
			tp := sdktrace.NewTracerProvider(sdktrace.WithSampler(tc.sampler), sdktrace.WithSyncer(exp))
			t.Cleanup(func() { tp.Shutdown(context.Background()) })
			app := easy.New(easy.DB(testkit.SQLite(t, nil)), easy.Metrics(), easy.Tracing(tp),
				easy.Logger(slog.New(slog.NewTextHandler(io.Discard, nil))))
			app.Include(easy.CRUDRouter[Item]())
			app.Handle("GET /boom", http.HandlerFunc(func(http.ResponseWriter, *http.Request) { panic("boom") }))
			ws.NewManager(ws.Heartbeat(0)).Watch(app, Item{})
			srv := testkit.Serve(t, app)
			t.Cleanup(func() { app.Close(context.Background()) })

			for _, req := range []struct {
				method, path string
				status       int
			}{
				{"GET", "/items/1", http.StatusNotFound},
				{"BREW", "/items/1", http.StatusMethodNotAllowed},
				{"GET", "/boom", http.StatusInternalServerError},
			} {
				if res := testkit.Do(t, srv, req.method, req.path, ""); res.Status != req.status {
					t.Fatalf("%s %s: %d %s, want %d", req.method, req.path, res.Status, res.Body, req.status)
				}
			}
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			c, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(srv.URL, "http")+"/ws/items", nil)
			if err != nil {
				t.Fatal(err)
			}
			if err := c.Close(websocket.StatusNormalClosure, ""); err != nil {
				t.Fatal(err)
			}

			// The handshake is recorded when its handler returns, after the
			// connection closed: wait for its sample.
			reg := app.Metrics().Registry()
			waitSeries(t, reg.Gather, "GET /ws/{resource} 101")
			families, err := reg.Gather()
			if err != nil {
				t.Fatal(err)
			}
			want := map[string]uint64{
				"GET /items/{id} 404":    1,
				"_OTHER unmatched 405":   1,
				"GET /boom 500":          1,
				"GET /ws/{resource} 101": 1,
			}
			for _, name := range []string{"http_server_request_duration_seconds", "http_server_response_body_size_bytes"} {
				if got := histogramCounts(families, name); !maps.Equal(got, want) {
					t.Errorf("%s series %v, want %v", name, got, want)
				}
			}
			active := gauges(families, "http_server_active_requests")
			for method, v := range active {
				if v != 0 {
					t.Errorf("http_server_active_requests{method=%q} = %v, want 0", method, v)
				}
			}
			for _, method := range []string{"GET", "_OTHER"} {
				if _, ok := active[method]; !ok {
					t.Errorf("no http_server_active_requests series for %s; have %v", method, active)
				}
			}

			if tc.name == "NeverSample" {
				if spans := exp.GetSpans(); len(spans) != 0 {
					t.Errorf("a sampler that drops every span, and spans were exported: %v", names(spans))
				}
				return
			}
			// The handshake's span ends just after its sample is recorded.
			spans := waitSpans(t, exp, "GET /ws/{resource}", 1)
			wantServer := []string{"GET /boom", "GET /items/{id}", "GET /ws/{resource}", "HTTP"}
			if got := serverSpanNames(spans); !slices.Equal(got, wantServer) {
				t.Errorf("server spans %q, want %q", got, wantServer)
			}
			get := only(t, spans, "GET /items/{id}")
			if get.Status.Code != codes.Unset {
				t.Errorf("the 404's span has status %v, want unset: a 4xx is the client's error", get.Status)
			}
			childOf(t, only(t, spans, "SELECT items"), get)
			boom := only(t, spans, "GET /boom")
			if boom.Status.Code != codes.Error {
				t.Errorf("the 500's span has status %v, want Error", boom.Status)
			}
			if got := attr(boom, "error.type"); got != attribute.StringValue("500") {
				t.Errorf("the 500's span error.type = %v, want 500", got.Emit())
			}
		})
	}
}

// waitSeries waits until gather reports a sample of the request duration
// series key ("METHOD route status").
func waitSeries(t *testing.T, gather func() ([]*dto.MetricFamily, error), key string) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		families, err := gather()
		if err != nil {
			t.Fatal(err)
		}
		counts := histogramCounts(families, "http_server_request_duration_seconds")
		if counts[key] > 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("no sample of %q; have %v", key, counts)
		}
	}
}

// histogramCounts returns the sample count of each series of the
// histogram name, by "METHOD route status".
func histogramCounts(families []*dto.MetricFamily, name string) map[string]uint64 {
	out := map[string]uint64{}
	for _, s := range testkit.Samples(families, name) {
		l := s.Labels
		out[l["http_request_method"]+" "+l["http_route"]+" "+l["http_response_status_code"]] = uint64(s.Value)
	}
	return out
}

// gauges returns the value of each series of the gauge name, by method.
func gauges(families []*dto.MetricFamily, name string) map[string]float64 {
	out := map[string]float64{}
	for _, s := range testkit.Samples(families, name) {
		out[s.Labels["http_request_method"]] = s.Value
	}
	return out
}

// serverSpanNames returns the sorted names of the server spans.
func serverSpanNames(spans tracetest.SpanStubs) []string {
	var out []string
	for _, s := range spans {
		if s.SpanKind == trace.SpanKindServer {
			out = append(out, s.Name)
		}
	}
	slices.Sort(out)
	return out
}
