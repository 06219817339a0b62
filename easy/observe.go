package easy

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"go.opentelemetry.io/otel/trace"
	"gorm.io/gorm"

	"github.com/fastapi-easy/easy-go/easy/observe"
	"github.com/fastapi-easy/easy-go/easy/problem"
)

// observeConfig is what the observability options asked for.
type observeConfig struct {
	metricsPath string // "" for no metrics
	health      bool
	tp          trace.TracerProvider // nil: no traces
	pprofAddr   string               // "" for no pprof server
	drain       time.Duration        // how long Serve goes on serving, not ready, before it stops
}

// observability is an App's metrics, probes and tracer, each nil when off.
type observability struct {
	metrics *observe.Metrics
	health  *observe.Health
	tracer  *observe.Tracer
}

// Metrics serves Prometheus metrics at /metrics: HTTP requests by method,
// route template and status; the database pool; the Go runtime and the
// process; and, with easy/ws, the realtime endpoints. The path is outside
// the OpenAPI document and before the middleware added with Use (a rate
// limit, authentication): give it a path a public proxy does not route,
// or see MetricsAt. docs/observability.md lists every metric.
func Metrics() Option { return MetricsAt("/metrics") }

// MetricsAt is Metrics at another path.
func MetricsAt(path string) Option {
	if len(path) < 2 || path[0] != '/' {
		panic(fmt.Sprintf("easy: MetricsAt(%q): the path must start with / and name something", path))
	}
	return appOption(func(c *config) { c.observe.metricsPath = path })
}

// Health serves the probes /healthz (200 while the process serves) and
// /readyz (200 while the database answers, a broker when one is
// configured is reachable and the App is not shutting down; else 503
// naming what failed), outside the OpenAPI document.
func Health() Option { return appOption(func(c *config) { c.observe.health = true }) }

// DrainDelay makes Serve, once told to stop, go on serving for d with
// /readyz failing before it stops accepting, so that load balancers that
// probe /readyz stop routing to the instance before its listener and its
// connections close. It implies Health. The default, 0, stops at once
// (/readyz still fails from then on, for the requests in flight).
func DrainDelay(d time.Duration) Option {
	if d < 0 {
		panic(fmt.Sprintf("easy: DrainDelay(%v): negative", d))
	}
	return appOption(func(c *config) { c.observe.health, c.observe.drain = true, d })
}

// Tracing traces the App with tp: a server span per request, named by its
// route template, that continues the trace of an incoming W3C traceparent
// header; a span per SQL statement of the App's database; and, with
// easy/ws, spans for publishing committed writes and handing them to the
// connections. Without it the App makes no spans.
func Tracing(tp trace.TracerProvider) Option {
	if tp == nil {
		panic("easy: Tracing(nil)")
	}
	return appOption(func(c *config) { c.observe.tp = tp })
}

// Pprof serves net/http/pprof on addr (such as "127.0.0.1:6060"), a
// listener of its own that Run and Serve open and close with the App's.
// The public listener never serves pprof.
func Pprof(addr string) Option {
	if addr == "" {
		panic("easy: Pprof: an empty address")
	}
	return appOption(func(c *config) { c.observe.pprofAddr = addr })
}

// Metrics returns the App's metrics, on whose registry an application
// registers its own collectors, or nil when the Metrics option was not
// given.
func (a *App) Metrics() *observe.Metrics { return a.obs.metrics }

// Tracer returns the App's tracer, or nil when the Tracing option was not
// given.
func (a *App) Tracer() *observe.Tracer { return a.obs.tracer }

// ReadyCheck adds a check to /readyz: the App is not ready while fn
// returns an error. It does nothing unless the Health option was given.
func (a *App) ReadyCheck(name string, fn func(context.Context) error) {
	if a.obs.health != nil {
		a.obs.health.Check(name, fn)
	}
}

// setupObserve makes what the observability options ask for. It runs in
// New before any middleware.
func (a *App) setupObserve() {
	oc := a.cfg.observe
	if oc.metricsPath != "" {
		a.obs.metrics = observe.NewMetrics()
	}
	if oc.tp != nil {
		a.obs.tracer = observe.NewTracer(oc.tp)
	}
	if a.obs.metrics != nil || a.obs.tracer != nil {
		a.mux.Use(observe.Middleware(a.obs.metrics, a.obs.tracer))
	}
	if oc.health {
		a.obs.health = observe.NewHealth(a.logger)
		a.obs.health.Check("database", a.pingDB)
	}
	if oc.pprofAddr != "" {
		var stop func(context.Context) error
		a.OnStartup(func(context.Context) (err error) {
			stop, err = observe.ServePprof(oc.pprofAddr, a.logger, guardHosts)
			return err
		})
		a.OnShutdown(func(ctx context.Context) error { return stop(ctx) })
	}
}

// observeRoutes serves the metrics and the probes, after the checks every
// request passes (its host) and before the middleware an application adds.
// The route template is the path, for the metrics and the span name.
func (a *App) observeRoutes(next http.Handler) http.Handler {
	oc := a.cfg.observe
	if oc.metricsPath == "" && !oc.health {
		return next
	}
	var metrics http.Handler
	if a.obs.metrics != nil {
		metrics = a.obs.metrics.Handler()
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var h http.Handler
		switch p := r.URL.Path; {
		case metrics != nil && p == oc.metricsPath:
			h = metrics
		case a.obs.health != nil && p == "/healthz":
			h = http.HandlerFunc(a.obs.health.Healthz)
		case a.obs.health != nil && p == "/readyz":
			h = http.HandlerFunc(a.obs.health.Readyz)
		default:
			next.ServeHTTP(w, r)
			return
		}
		observe.NameRoute(r, r.URL.Path)
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			problem.Text(w, http.StatusMethodNotAllowed, "Method Not Allowed")
			return
		}
		h.ServeHTTP(w, r)
	})
}

// observeDB instruments the App's database once it is open: the pool's
// statistics, and spans for its statements.
func (a *App) observeDB(db *gorm.DB) error {
	var errs []error
	if a.obs.metrics != nil {
		if sqlDB, err := db.DB(); err == nil {
			errs = append(errs, a.obs.metrics.WatchDB("write", sqlDB))
		}
	}
	if a.obs.tracer != nil {
		errs = append(errs, a.obs.tracer.WatchDB(db))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("easy: observe the database: %w", err)
	}
	return nil
}

// pingDB is the readiness check of the database.
func (a *App) pingDB(ctx context.Context) error {
	db, err := a.Database()
	if err != nil {
		return err
	}
	sqlDB, err := db.DB()
	if err != nil {
		return err
	}
	return sqlDB.PingContext(ctx)
}

// drain makes /readyz fail: the App is shutting down.
func (a *App) drain() {
	if a.obs.health != nil {
		a.obs.health.Drain()
	}
}

// drainDelay waits for DrainDelay, while Serve goes on serving.
func (a *App) drainDelay() {
	if d := a.cfg.observe.drain; d > 0 {
		a.logger.Info("easy: draining: /readyz fails, serving on", "for", d)
		time.Sleep(d)
	}
}
