package easy_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"
	"gorm.io/gorm"

	"github.com/fastapi-easy/easy-go/easy"
	"github.com/fastapi-easy/easy-go/internal/testkit"
)

type Gauge struct {
	ID   uint   `json:"id" gorm:"primaryKey"`
	Name string `json:"name"`
}

func TestHealthAndReadiness(t *testing.T) {
	testkit.Each(t, nil, func(t *testing.T, db *gorm.DB) {
		app, _ := newApp(t, easy.DB(db), easy.Health())
		srv := testkit.Serve(t, app)
		testkit.Do(t, srv, "GET", "/healthz", "").Expect(t, 200, `{"status":"ok"}`+"\n")
		testkit.Do(t, srv, "GET", "/readyz", "").Expect(t, 200, `{"status":"ready"}`+"\n")

		// A closed pool, as a database that is gone looks to the App.
		sqlDB, err := db.DB()
		if err != nil {
			t.Fatal(err)
		}
		sqlDB.Close()
		res := testkit.Do(t, srv, "GET", "/readyz", "").Expect(t, 503, `{"detail":"Not ready: database"}`)
		if got := res.Header.Get("Retry-After"); got != "1" {
			t.Errorf("Retry-After %q, want 1", got)
		}
		testkit.Do(t, srv, "GET", "/healthz", "").Expect(t, 200, `{"status":"ok"}`+"\n")
	})
}

func TestReadyChecksAreAddedAndNamed(t *testing.T) {
	app, logs := newApp(t, easy.DB(testkit.SQLite(t, nil)), easy.Health())
	broken := true
	app.ReadyCheck("broker", func(context.Context) error {
		if broken {
			return context.DeadlineExceeded
		}
		return nil
	})
	srv := testkit.Serve(t, app)
	testkit.Do(t, srv, "GET", "/readyz", "").Expect(t, 503, `{"detail":"Not ready: broker"}`)
	if !strings.Contains(logs.String(), "readiness check failed") || !strings.Contains(logs.String(), "check=broker") {
		t.Errorf("the failure is not logged: %s", logs)
	}
	broken = false
	testkit.Do(t, srv, "GET", "/readyz", "").Expect(t, 200, `{"status":"ready"}`+"\n")
	testkit.Do(t, srv, "POST", "/readyz", "").Expect(t, 405, `{"detail":"Method Not Allowed"}`)
}

// While the App shuts down, /readyz fails, so that a load balancer stops
// sending before the App's connections are cut; /healthz still passes.
func TestNotReadyWhileShuttingDown(t *testing.T) {
	app, _ := newApp(t, easy.DB(testkit.SQLite(t, nil)), easy.Health())
	probe := testkit.Serve(t, app) // a second listener, open while Serve's closes
	type answer struct {
		ready, healthy testkit.Response
	}
	during := make(chan answer, 1)
	app.OnShutdown(func(context.Context) error {
		during <- answer{testkit.Do(t, probe, "GET", "/readyz", ""), testkit.Do(t, probe, "GET", "/healthz", "")}
		return nil
	})
	addr, stop := testkit.ServeOn(t, "127.0.0.1:0", app.Serve)
	res, err := http.Get("http://" + addr + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 200 {
		t.Fatalf("before shutdown: %d", res.StatusCode)
	}
	stop()
	a := <-during
	a.ready.Expect(t, 503, `{"detail":"Not ready: shutting down"}`)
	a.healthy.Expect(t, 200, `{"status":"ok"}`+"\n")
}

// The metrics and the probes are outside the OpenAPI document and before
// the middleware an application adds, such as a rate limit.
func TestObservabilityRoutesAreOutsideTheAPI(t *testing.T) {
	app, _ := newApp(t, easy.DB(testkit.SQLite(t, nil)), easy.Metrics(), easy.Health())
	app.Use(func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == "/openapi.json" {
				next.ServeHTTP(w, r)
				return
			}
			http.Error(w, "limited", http.StatusTooManyRequests)
		})
	})
	app.Include(easy.CRUDRouter[Gauge]())
	srv := testkit.Serve(t, app)
	for _, path := range []string{"/metrics", "/healthz", "/readyz"} {
		if res := testkit.Do(t, srv, "GET", path, ""); res.Status != 200 {
			t.Errorf("GET %s: %d %s", path, res.Status, res.Body)
		}
	}
	if res := testkit.Do(t, srv, "GET", "/gauges", ""); res.Status != 429 {
		t.Errorf("GET /gauges: %d, want the application's 429", res.Status)
	}
	spec := string(testkit.Get(t, srv, "/openapi.json"))
	for _, path := range []string{"/metrics", "/healthz", "/readyz"} {
		if strings.Contains(spec, `"`+path+`"`) {
			t.Errorf("%s is in the OpenAPI document", path)
		}
	}
}

func TestMetricsAtAnotherPath(t *testing.T) {
	app, _ := newApp(t, easy.DB(testkit.SQLite(t, nil)), easy.MetricsAt("/internal/metrics"))
	srv := testkit.Serve(t, app)
	testkit.Do(t, srv, "GET", "/metrics", "").Expect(t, 404, `{"detail":"Not Found"}`)
	res := testkit.Do(t, srv, "GET", "/internal/metrics", "", "Accept", "application/openmetrics-text; version=1.0.0")
	if res.Status != 200 || !strings.HasPrefix(res.Header.Get("Content-Type"), "application/openmetrics-text") || !strings.HasSuffix(res.Body, "# EOF\n") {
		t.Errorf("OpenMetrics: %d %q\n%s", res.Status, res.Header.Get("Content-Type"), res.Body)
	}
	if !strings.Contains(res.Body, `http_server_request_duration_seconds_count{http_request_method="GET",http_response_status_code="404",http_route="unmatched"} 1`) {
		t.Errorf("the 404 is not counted:\n%s", res.Body)
	}
	if app.Metrics() == nil || app.Tracer() != nil {
		t.Error("Metrics() nil or Tracer() not nil")
	}
}

func TestObservabilityOptionsRefuseMistakes(t *testing.T) {
	for _, c := range []struct {
		name string
		fn   func()
		want string
	}{
		{"empty metrics path", func() { easy.MetricsAt("") }, `easy: MetricsAt(""): the path must start with / and name something`},
		{"relative metrics path", func() { easy.MetricsAt("metrics") }, `easy: MetricsAt("metrics"): the path must start with / and name something`},
		{"no tracer provider", func() { easy.Tracing(nil) }, "easy: Tracing(nil)"},
		{"no pprof address", func() { easy.Pprof("") }, "easy: Pprof: an empty address"},
		{"negative drain", func() { easy.DrainDelay(-time.Second) }, "easy: DrainDelay(-1s): negative"},
	} {
		t.Run(c.name, func(t *testing.T) {
			defer func() {
				if got := recover(); got != c.want {
					t.Errorf("panic %v, want %q", got, c.want)
				}
			}()
			c.fn()
		})
	}
}

// pprof is served on its own listener, never on the App's.
func TestPprofOnItsOwnAddress(t *testing.T) {
	pprofAddr := testkit.FreeAddr(t)
	app, _ := newApp(t, easy.DB(testkit.SQLite(t, nil)), easy.Pprof(pprofAddr))
	addr, stop := testkit.ServeOn(t, "127.0.0.1:0", app.Serve)
	get := func(url string) int {
		res, err := http.Get(url)
		if err != nil {
			return 0
		}
		res.Body.Close()
		return res.StatusCode
	}
	if got := get("http://" + addr + "/debug/pprof/"); got != 404 {
		t.Errorf("the App's listener answers /debug/pprof/ with %d, want 404", got)
	}
	if got := get("http://" + pprofAddr + "/debug/pprof/goroutine?debug=1"); got != 200 {
		t.Errorf("pprof's listener answers %d, want 200", got)
	}
	// On loopback it serves loopback names only, as the App does: a web
	// page that makes its own name resolve to 127.0.0.1 (DNS rebinding)
	// cannot read the profiles.
	req, _ := http.NewRequest("GET", "http://"+pprofAddr+"/debug/pprof/cmdline", nil)
	req.Host = "attacker.example:6060"
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 400 || string(body) != `{"detail":"Invalid host header"}` {
		t.Errorf("pprof's listener answers a foreign Host with %d %s, want 400", res.StatusCode, body)
	}
	stop()
	if got := get("http://" + pprofAddr + "/debug/pprof/"); got != 0 {
		t.Errorf("pprof still serves after the App stopped: %d", got)
	}
}

// With DrainDelay, an App told to stop goes on serving for that long with
// /readyz failing, on the same listener, so that a load balancer sees it
// before the listener closes.
func TestDrainDelayServesNotReadyBeforeStopping(t *testing.T) {
	app, _ := newApp(t, easy.DB(testkit.SQLite(t, nil)), easy.DrainDelay(time.Second))
	addr, stop := testkit.ServeOn(t, "127.0.0.1:0", app.Serve)
	get := func(path string) int {
		res, err := http.Get("http://" + addr + path)
		if err != nil {
			return 0
		}
		res.Body.Close()
		return res.StatusCode
	}
	if got := get("/readyz"); got != 200 {
		t.Fatalf("/readyz before: %d", got)
	}
	stopped := make(chan struct{})
	go func() { stop(); close(stopped) }()
	deadline := time.Now().Add(5 * time.Second)
	for get("/readyz") != 503 {
		if time.Now().After(deadline) {
			t.Fatal("/readyz never failed while draining")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if got := get("/healthz"); got != 200 {
		t.Errorf("/healthz while draining: %d", got)
	}
	<-stopped
	if got := get("/healthz"); got != 0 {
		t.Errorf("the listener still serves after the drain: %d", got)
	}
}

// panickyTracer is a TracerProvider whose server spans panic as they
// start, as a faulty one might.
type panickyTracer struct{ noop.TracerProvider }

func (panickyTracer) Tracer(string, ...trace.TracerOption) trace.Tracer { return panickyStart{} }

type panickyStart struct{ noop.Tracer }

func (panickyStart) Start(context.Context, string, ...trace.SpanStartOption) (context.Context, trace.Span) {
	panic("the tracer failed")
}

// A request counts in the in-flight gauge only once nothing before its
// handler can fail: a tracer that panics as the request's span starts
// leaves the gauge where it was.
func TestInFlightGaugeSurvivesATracerThatPanics(t *testing.T) {
	app, _ := newApp(t, easy.Metrics(), easy.Tracing(panickyTracer{}))
	easy.Get(app, "/hello", func(ctx context.Context, in *struct{}) (*Gauge, error) { return &Gauge{ID: 1}, nil })
	func() {
		defer func() {
			if recover() == nil {
				t.Fatal("the tracer's panic did not reach the server")
			}
		}()
		app.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/hello", nil))
	}()
	families, err := app.Metrics().Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range testkit.Samples(families, "http_server_active_requests") {
		if s.Value != 0 {
			t.Errorf("http_server_active_requests%v = %v after the request ended, want 0", s.Labels, s.Value)
		}
	}
}
