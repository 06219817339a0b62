package observe

import (
	"database/sql"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// DurationBuckets are the bucket boundaries, in seconds, that the
// OpenTelemetry semantic conventions advise for http.server.request.duration.
var DurationBuckets = []float64{0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10}

// SizeBuckets are the bucket boundaries, in bytes, of the response body
// size histogram: 64 B to 16 MiB by powers of four.
var SizeBuckets = prometheus.ExponentialBuckets(64, 4, 10)

// Unmatched is the route label of a request that matched no route, so
// that random paths share one series instead of each making its own.
const Unmatched = "unmatched"

// Metrics holds an App's Prometheus registry and the HTTP server metrics
// it records. Its zero value is not usable; call NewMetrics.
type Metrics struct {
	reg       *prometheus.Registry
	duration  *prometheus.HistogramVec
	size      *prometheus.HistogramVec
	activeVec *prometheus.GaugeVec

	series   sync.Map   // route template → *routeSeries
	seriesMu sync.Mutex // held to add a series
	active   [len(methods)]struct {
		once  sync.Once
		gauge prometheus.Gauge
	}
}

// NewMetrics returns Metrics on a new registry that holds the Go runtime
// and process collectors and the HTTP server metrics.
func NewMetrics() *Metrics {
	m := &Metrics{reg: prometheus.NewRegistry()}
	labels := []string{"http_request_method", "http_route", "http_response_status_code"}
	m.duration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "http_server_request_duration_seconds",
		Help:    "Duration of HTTP server requests, by method, route template and status code.",
		Buckets: DurationBuckets,
	}, labels)
	m.size = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "http_server_response_body_size_bytes",
		Help:    "Size of HTTP server response bodies, by method, route template and status code.",
		Buckets: SizeBuckets,
	}, labels)
	m.activeVec = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "http_server_active_requests",
		Help: "HTTP server requests being served, by method.",
	}, []string{"http_request_method"})
	m.reg.MustRegister(m.duration, m.size, m.activeVec,
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// Registry returns the registry that the metrics endpoint serves. Register
// an application's own collectors on it to have them scraped with the
// framework's.
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// Handler serves the registry in the Prometheus text format, or in
// OpenMetrics to a scraper that asks for it.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{
		EnableOpenMetrics: true,
		Registry:          m.reg, // counts the scrapes' own errors
	})
}

// WatchDB registers the connection pool statistics of db (open, in use,
// idle, waits and their duration) as go_sql_* metrics labelled
// db_name=name: "write" and "read" where an App keeps two pools.
func (m *Metrics) WatchDB(name string, db *sql.DB) error {
	return m.reg.Register(collectors.NewDBStatsCollector(db, name))
}

// Middleware records the HTTP server metrics of each request that next
// serves. It must run inside a chi router, which names the route: the
// label is the route's template (/items/{id}), never the path, and
// Unmatched for a request that matched none. A request whose connection
// a handler takes over (a WebSocket) is recorded with status 101 when its
// handler returns. It is Middleware(m, nil).
func (m *Metrics) Middleware(next http.Handler) http.Handler { return Middleware(m, nil)(next) }

// begin counts a request of method in flight; end counts it out.
func (m *Metrics) begin(method methodLabel) { m.activeOf(method).Inc() }

// end records one request served: its end in the in-flight gauge, and its
// duration and its response's size in the series of its labels.
func (m *Metrics) end(method methodLabel, route string, status int, took time.Duration, size int) {
	m.activeOf(method).Dec()
	o := m.observers(method, route, status)
	o.duration.Observe(took.Seconds())
	o.size.Observe(float64(size))
}

// observerPair is the histograms' children of one series.
type observerPair struct{ duration, size prometheus.Observer }

// routeSeries are the series of one route template: a few, one per
// method and status code its handlers answer, so the list is scanned,
// read without a lock, and copied to add one.
type routeSeries struct {
	list atomic.Pointer[[]codeSeries]
}

// codeSeries is the series of a route for one method and status code.
type codeSeries struct {
	method methodLabel
	status int
	observerPair
}

// find returns the list and the children of method and status in it.
func (rs *routeSeries) find(method methodLabel, status int) (list []codeSeries, o observerPair, ok bool) {
	if l := rs.list.Load(); l != nil {
		list = *l
	}
	for _, c := range list {
		if c.method == method && c.status == status {
			return list, c.observerPair, true
		}
	}
	return list, observerPair{}, false
}

// observers returns the children of one series, looked up by their
// labels once: WithLabelValues hashes the three values on every call.
// The series are bounded as the labels are: route templates, the methods
// each takes, the status codes its handlers answer. (A sync.Map keyed by
// all three would hash the key as an interface, field by field; keyed by
// the route alone, it hashes a string.)
func (m *Metrics) observers(method methodLabel, route string, status int) observerPair {
	v, ok := m.series.Load(route)
	if !ok {
		v, _ = m.series.LoadOrStore(route, new(routeSeries))
	}
	rs := v.(*routeSeries)
	if _, o, ok := rs.find(method, status); ok {
		return o
	}
	m.seriesMu.Lock()
	defer m.seriesMu.Unlock()
	list, o, ok := rs.find(method, status) // another request may have added it meanwhile
	if ok {
		return o
	}
	code := strconv.Itoa(status)
	o = observerPair{m.duration.WithLabelValues(method.String(), route, code), m.size.WithLabelValues(method.String(), route, code)}
	list = append(slices.Clip(list), codeSeries{method, status, o})
	rs.list.Store(&list)
	return o
}

// activeOf returns the in-flight gauge of a method, made on its first
// request.
func (m *Metrics) activeOf(method methodLabel) prometheus.Gauge {
	a := &m.active[method]
	a.once.Do(func() { a.gauge = m.activeVec.WithLabelValues(method.String()) })
	return a.gauge
}

// Recorder returns a writer that records the status and size of r's
// response as it passes to w: w itself when a middleware outside has made
// one already, since what passes through it is the same response. The
// App's metrics, its spans and its log line share one.
func Recorder(w http.ResponseWriter, r *http.Request) middleware.WrapResponseWriter {
	if ww, ok := w.(middleware.WrapResponseWriter); ok {
		return ww
	}
	return middleware.NewWrapResponseWriter(w, r.ProtoMajor)
}

// Status returns the status code of the response that ww recorded: 200
// when the handler wrote nothing, as net/http answers then.
func Status(ww middleware.WrapResponseWriter) int {
	if s := ww.Status(); s != 0 {
		return s
	}
	return http.StatusOK
}

// Route returns the template of the route that served r, such as
// /items/{id}, or Unmatched. Call it after the router has served r.
func Route(r *http.Request) string {
	rc := chi.RouteContext(r.Context())
	if rc == nil {
		return Unmatched
	}
	if p := rc.RoutePattern(); p != "" {
		return p
	}
	return Unmatched
}

// methods are the values of the method label: the methods of RFC 9110
// and PATCH, and "_OTHER" for any other, as the semantic conventions say,
// so that a client cannot make a series per made-up method.
var methods = [...]string{http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
	http.MethodDelete, http.MethodConnect, http.MethodOptions, http.MethodTrace, "_OTHER"}

// A methodLabel is a value of the method label, by its index in methods.
type methodLabel uint8

// methodOf returns the label of method m.
func methodOf(m string) methodLabel {
	for i, label := range methods[:len(methods)-1] {
		if m == label {
			return methodLabel(i)
		}
	}
	return methodLabel(len(methods) - 1)
}

func (l methodLabel) String() string { return methods[l] }

// spanName is the method as a server span's name begins: "HTTP" for a
// method the label does not know, as the semantic conventions say.
func (l methodLabel) spanName() string {
	if int(l) == len(methods)-1 {
		return "HTTP"
	}
	return l.String()
}

// Method returns the method as a label: one of methods.
func Method(m string) string { return methodOf(m).String() }
