package observe

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
	otelgorm "gorm.io/plugin/opentelemetry/tracing"

	"github.com/fastapi-easy/easy-go/easy"
	"github.com/fastapi-easy/easy-go/easy/ws"
	"github.com/fastapi-easy/easy-go/internal/handapi"
	"github.com/fastapi-easy/easy-go/internal/testkit"
)

// benchApps returns the items app seven ways, on SQLite files of their
// own, each with a watched model and one row: without observability (and
// a second time, as a control of the comparison's noise), with metrics,
// with nothing but the SDK's span per request (sdkSpan: the floor of any
// tracing with the SDK), with traces, one request in a hundred sampled (a
// production's sampler), with metrics and every request traced, and with
// metrics and one request in a hundred traced. The spans go to an exporter
// that drops them, through the SDK's span processor.
func benchApps(b *testing.B) (names []string, apps []*easy.App) {
	quiet := easy.Logger(slog.New(slog.NewTextHandler(io.Discard, nil)))
	tracing := func(s sdktrace.Sampler) easy.Option { return easy.Tracing(dropSpans(b, s)) }
	for _, c := range []struct {
		name string
		opts []easy.Option
		use  func(http.Handler) http.Handler
	}{
		{"off", nil, nil},
		{"control", nil, nil}, // off too: the noise of the comparison
		{"metrics", []easy.Option{easy.Metrics()}, nil},
		{"sdkspan-1%", nil, sdkSpan(dropSpans(b, sdktrace.ParentBased(sdktrace.TraceIDRatioBased(0.01))))},
		{"traces-1%", []easy.Option{tracing(sdktrace.ParentBased(sdktrace.TraceIDRatioBased(0.01)))}, nil},
		{"metrics+traces", []easy.Option{easy.Metrics(), tracing(sdktrace.AlwaysSample())}, nil},
		{"metrics+traces-1%", []easy.Option{easy.Metrics(), tracing(sdktrace.ParentBased(sdktrace.TraceIDRatioBased(0.01)))}, nil},
	} {
		app := easy.New(append([]easy.Option{easy.DB(testkit.SQLite(b, nil)), quiet}, c.opts...)...)
		if c.use != nil {
			app.Use(c.use)
		}
		app.Include(easy.CRUDRouter[Item]())
		m := ws.NewManager(ws.Heartbeat(0))
		m.Watch(app, Item{})
		b.Cleanup(func() { app.Close(context.Background()) })
		if err := app.DB().Create(&Item{Name: "apple", Price: 1}).Error; err != nil {
			b.Fatal(err)
		}
		names, apps = append(names, c.name), append(apps, app)
	}
	return names, apps
}

// sdkSpan is the least a server traced with the SDK does for a request:
// the SDK's Start and End of its server span, which tp's sampler decides.
// The span's context is not used, so nothing else (the request's copy,
// statement spans, attributes) costs anything.
func sdkSpan(tp trace.TracerProvider) func(http.Handler) http.Handler {
	tracer := tp.Tracer("floor")
	server := trace.WithSpanKind(trace.SpanKindServer)
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			_, span := tracer.Start(r.Context(), r.Method, server)
			next.ServeHTTP(w, r)
			span.End()
		})
	}
}

// dropSpans returns an SDK TracerProvider with sampler s whose spans go
// through the SDK's span processor to an exporter that drops them.
func dropSpans(b *testing.B, s sdktrace.Sampler) *sdktrace.TracerProvider {
	tp := sdktrace.NewTracerProvider(sdktrace.WithSampler(s),
		sdktrace.WithSpanProcessor(sdktrace.NewSimpleSpanProcessor(tracetest.NewNoopExporter())))
	b.Cleanup(func() { tp.Shutdown(context.Background()) })
	return tp
}

// A server answers a request: an App in process, or one behind a listener.
type server func(*http.Request) (status int, body string)

// inProcess serves each request on the handler itself, with a recorder.
func inProcess[H http.Handler](apps []H) []server {
	servers := make([]server, len(apps))
	for i, app := range apps {
		servers[i] = func(r *http.Request) (int, string) {
			w := httptest.NewRecorder()
			app.ServeHTTP(w, r)
			return w.Code, w.Body.String()
		}
	}
	return servers
}

// overHTTP serves each app on a loopback listener of its own and sends
// each request there with net/http's client, on a kept-alive connection:
// the cost as a client sees it, the server's HTTP/1.1 and the socket
// included.
func overHTTP[H http.Handler](b *testing.B, apps []H) []server {
	servers := make([]server, len(apps))
	for i, app := range apps {
		srv := httptest.NewServer(app)
		b.Cleanup(srv.Close)
		base, _ := url.Parse(srv.URL)
		client := srv.Client()
		servers[i] = func(r *http.Request) (int, string) {
			r.URL.Scheme, r.URL.Host, r.RequestURI = base.Scheme, base.Host, ""
			resp, err := client.Do(r)
			if err != nil {
				return 0, err.Error()
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			return resp.StatusCode, string(body)
		}
	}
	return servers
}

// ratios runs, for each server but the first, a sub-benchmark that
// alternates, request by request, the request req makes on that server
// and on the first, so that both see the same machine load (and the
// garbage of one way is not collected on another's time), and reports its
// time over the first's. The two take turns at going first.
func ratios(b *testing.B, names []string, servers []server, req func() *http.Request, status int) {
	for i := 1; i < len(servers); i++ {
		b.Run(names[i], func(b *testing.B) {
			var spent [2]time.Duration
			pair := []server{servers[0], servers[i]}
			for n := 0; b.Loop(); n++ {
				for k := range 2 {
					j := (k + n) % 2 // each takes turns at going first
					r := req()
					start := time.Now()
					code, body := pair[j](r)
					spent[j] += time.Since(start)
					if code != status {
						b.Fatalf("%d %s", code, body)
					}
				}
			}
			b.ReportMetric(float64(spent[1])/float64(spent[0]), "on/off")
			b.ReportMetric(float64(spent[0].Nanoseconds())/float64(b.N), "off-ns/op")
			b.ReportMetric(float64(spent[1].Nanoseconds())/float64(b.N), "on-ns/op")
		})
	}
}

// BenchmarkObserveGetRatio is the cost of observability to a CRUD GET by
// id on SQLite: each way of benchApps over none, served in process.
//
//	go test -run '^$' -bench BenchmarkObserveGetRatio -count 3 ./internal/thirdparty/observe/
func BenchmarkObserveGetRatio(b *testing.B) {
	names, apps := benchApps(b)
	ratios(b, names, inProcess(apps), getItem, http.StatusOK)
}

// BenchmarkObserveGetOverHTTPRatio is the same through a listener.
//
//	go test -run '^$' -bench BenchmarkObserveGetOverHTTPRatio -count 3 ./internal/thirdparty/observe/
func BenchmarkObserveGetOverHTTPRatio(b *testing.B) {
	names, apps := benchApps(b)
	ratios(b, names, overHTTP(b, apps), getItem, http.StatusOK)
}

func getItem() *http.Request { return httptest.NewRequest("GET", "/items/1", nil) }

// BenchmarkObserveCreateRatio is the same for a POST of a watched model:
// the insert, its commit and the publishing of its event (nobody
// follows the resource).
//
//	go test -run '^$' -bench BenchmarkObserveCreateRatio -count 3 ./internal/thirdparty/observe/
func BenchmarkObserveCreateRatio(b *testing.B) {
	names, apps := benchApps(b)
	ratios(b, names, inProcess(apps), postItem(), http.StatusCreated)
}

// BenchmarkObserveCreateOverHTTPRatio is the same through a listener.
//
//	go test -run '^$' -bench BenchmarkObserveCreateOverHTTPRatio -count 3 ./internal/thirdparty/observe/
func BenchmarkObserveCreateOverHTTPRatio(b *testing.B) {
	names, apps := benchApps(b)
	ratios(b, names, overHTTP(b, apps), postItem(), http.StatusCreated)
}

// postItem returns a maker of POSTs of items of names of their own.
func postItem() func() *http.Request {
	n := 0
	return func() *http.Request {
		n++
		r := httptest.NewRequest("POST", "/items", strings.NewReader(fmt.Sprintf(`{"name":"item%d","price":1}`, n)))
		r.Header.Set("Content-Type", "application/json")
		return r
	}
}

// BenchmarkObserveAllocs runs the GET and the POST of the ratio
// benchmarks one way at a time, for the allocations of each, which do not
// move with the machine's load as times do.
//
//	go test -run '^$' -bench BenchmarkObserveAllocs -benchmem ./internal/thirdparty/observe/
func BenchmarkObserveAllocs(b *testing.B) {
	names, apps := benchApps(b)
	for _, c := range []struct {
		name   string
		req    func() *http.Request
		status int
	}{
		{"GET", getItem, http.StatusOK},
		{"POST", postItem(), http.StatusCreated},
	} {
		for i, app := range apps {
			b.Run(c.name+"/"+names[i], func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					w := httptest.NewRecorder()
					app.ServeHTTP(w, c.req())
					if w.Code != c.status {
						b.Fatalf("%d %s", w.Code, w.Body)
					}
				}
			})
		}
	}
}

// handLibs are the libraries of the field that handGet may instrument the
// hand-written GET with.
type handLibs struct{ otelhttp, promhttp, otelgorm bool }

// allLibs instruments the hand-written GET with all three.
var allLibs = handLibs{otelhttp: true, promhttp: true, otelgorm: true}

// handGet returns the GET by id of the items API written by hand on chi
// and GORM (internal/handapi, the baseline of bench/), on a SQLite file
// opened as the App opens its own and holding the same row as benchApps's
// apps. On tp, it is instrumented with the libraries in libs, as a chi and
// GORM user would instrument it: otelhttp's server span around the
// router; client_golang's promhttp as chi middleware, for the request
// duration by method, route template and status code, the response size
// and the requests in flight; and gorm.io/plugin/opentelemetry's
// statement spans. What is only scraped (the runtime's collectors, the
// pool's) is left out, as it costs a request nothing.
func handGet(b *testing.B, tp *sdktrace.TracerProvider, libs handLibs) http.Handler {
	db := testkit.SQLite(b, nil)
	if libs.otelgorm {
		if err := db.Use(otelgorm.NewPlugin(otelgorm.WithTracerProvider(tp), otelgorm.WithoutMetrics())); err != nil {
			b.Fatal(err)
		}
	}
	if err := db.AutoMigrate(&Item{}); err != nil {
		b.Fatal(err)
	}
	if err := db.Create(&Item{Name: "apple", Price: 1}).Error; err != nil {
		b.Fatal(err)
	}
	r := chi.NewRouter()
	if libs.promhttp {
		r.Use(promMiddleware(prometheus.NewRegistry()))
	}
	r.Get("/items/{id}", handapi.Get[Item](db))
	if !libs.otelhttp {
		return r
	}
	return otelhttp.NewHandler(r, "items", otelhttp.WithTracerProvider(tp))
}

// promMiddleware is client_golang's HTTP server instrumentation, labelled
// with chi's route template, registered on reg.
func promMiddleware(reg *prometheus.Registry) func(http.Handler) http.Handler {
	route := promhttp.WithLabelFromCtx("route", func(ctx context.Context) string {
		return chi.RouteContext(ctx).RoutePattern()
	})
	labels := []string{"method", "code", "route"}
	duration := prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "http_request_duration_seconds", Help: "Duration of HTTP requests.",
		Buckets: prometheus.DefBuckets,
	}, labels)
	size := prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "http_response_size_bytes", Help: "Size of HTTP responses.",
		Buckets: prometheus.ExponentialBuckets(64, 4, 10),
	}, labels)
	inFlight := prometheus.NewGauge(prometheus.GaugeOpts{Name: "http_requests_in_flight", Help: "HTTP requests being served."})
	reg.MustRegister(duration, size, inFlight)
	return func(next http.Handler) http.Handler {
		return promhttp.InstrumentHandlerInFlight(inFlight,
			promhttp.InstrumentHandlerDuration(duration,
				promhttp.InstrumentHandlerResponseSize(size, next, route), route))
	}
}

// BenchmarkObserveGetAgainstHand compares what observability costs easy
// with what it costs the same GET written by hand on chi and GORM and
// instrumented with the field's libraries (handGet), all with the tracer
// of a production (one request in a hundred sampled), alternated request
// by request as the ratio benchmarks are:
//   - hand/on: the hand-written GET observed, over the same unobserved;
//   - hand-otelhttp/on, hand-promhttp/on, hand-otelgorm/on: the same
//     with one of the libraries only;
//   - easy/on: easy's GET with metrics and traces, over easy's without;
//   - bare/easy: easy's GET over the hand-written one, neither observed;
//   - observed/easy: the same, both observed.
//
// Run it with:
//
//	go test -run '^$' -bench BenchmarkObserveGetAgainstHand -benchtime 20000x -count 5 ./internal/thirdparty/observe/
func BenchmarkObserveGetAgainstHand(b *testing.B) {
	names, apps := benchApps(b)
	app := func(name string) *easy.App {
		i := slices.Index(names, name)
		if i < 0 {
			b.Fatalf("benchApps makes no app %q", name)
		}
		return apps[i]
	}
	easyOff, easyOn := app("off"), app("metrics+traces-1%")
	production := func() *sdktrace.TracerProvider {
		return dropSpans(b, sdktrace.ParentBased(sdktrace.TraceIDRatioBased(0.01)))
	}
	handOff, handOn := handGet(b, nil, handLibs{}), handGet(b, production(), allLibs)
	for _, c := range []struct {
		name     string
		base, vs http.Handler
		vsName   string
	}{
		{"hand", handOff, handOn, "on"},
		{"hand-otelhttp", handOff, handGet(b, production(), handLibs{otelhttp: true}), "on"},
		{"hand-promhttp", handOff, handGet(b, production(), handLibs{promhttp: true}), "on"},
		{"hand-otelgorm", handOff, handGet(b, production(), handLibs{otelgorm: true}), "on"},
		{"easy", easyOff, easyOn, "on"},
		{"bare", handOff, easyOff, "easy"},
		{"observed", handOn, easyOn, "easy"},
	} {
		b.Run(c.name, func(b *testing.B) {
			ratios(b, []string{"base", c.vsName}, inProcess([]http.Handler{c.base, c.vs}), getItem, http.StatusOK)
		})
	}
}
