package ws

import (
	"errors"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/coder/websocket"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/fastapi-easy/easy-go/easy"
	"github.com/fastapi-easy/easy-go/easy/observe"
	"github.com/fastapi-easy/easy-go/easy/problem"
)

// Why a handshake was refused, and why a connection closed: the values of
// the reason label, each a bounded set.
var (
	refuseReasons = []string{"origin", "auth", "cap", "shutdown", "upgrade"}
	closeReasons  = []string{"normal", "going_away", "shutdown", "rate_limit", "auth_expired",
		"read_limit", "slow_consumer", "snapshot_failed", "internal_error", "abnormal", "other"}
)

// useMetrics counts the Manager's numbers on the registry of app's
// metrics, when it serves them. A second Manager on one App would count
// its numbers twice: that is a setup mistake.
func (m *Manager) useMetrics(app *easy.App) {
	am := app.Metrics()
	if am == nil {
		return
	}
	x, err := newMetrics(m, am.Registry())
	if err != nil {
		panic("ws: Watch: metrics: " + err.Error() + " (one Manager per App serves metrics)")
	}
	m.obs = x
}

// metrics is what a Manager counts for Prometheus, on the registry of the
// App it watches (see App.Metrics). A nil *metrics counts nothing, so the
// counting points need no check.
type metrics struct {
	sent      *prometheus.CounterVec   // endpoint
	sentBytes *prometheus.CounterVec   // endpoint
	refused   *prometheus.CounterVec   // reason
	closed    *prometheus.CounterVec   // reason
	published *prometheus.CounterVec   // resource, operation
	delivery  *prometheus.HistogramVec // resource

	groups sync.Map // group name → *groupCounters, looked up once each
}

// groupCounters are the children of one group's series of what is
// written per connection: WithLabelValues hashes its label on every call,
// and these count every message of every connection.
type groupCounters struct {
	sent, sentBytes prometheus.Counter
	delivery        prometheus.Observer
}

// of returns the counters of group, making them at its first message.
// The groups are the Manager's resources and handlers: a bounded set.
func (x *metrics) of(group string) *groupCounters {
	if g, ok := x.groups.Load(group); ok {
		return g.(*groupCounters)
	}
	g, _ := x.groups.LoadOrStore(group, &groupCounters{
		sent:      x.sent.WithLabelValues(group),
		sentBytes: x.sentBytes.WithLabelValues(group),
		delivery:  x.delivery.WithLabelValues(group),
	})
	return g.(*groupCounters)
}

// newMetrics registers the metrics of m on reg: the counters above, and
// the gauges read at each scrape (open connections, subscriptions, the
// broker's lag and queue).
func newMetrics(m *Manager, reg prometheus.Registerer) (*metrics, error) {
	x := &metrics{
		sent: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "easy_ws_messages_sent_total", Help: "WebSocket messages written to connections, by endpoint.",
		}, []string{"endpoint"}),
		sentBytes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "easy_ws_sent_bytes_total", Help: "Bytes of the WebSocket messages written to connections, by endpoint.",
		}, []string{"endpoint"}),
		refused: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "easy_ws_connections_refused_total", Help: "WebSocket handshakes refused, by reason.",
		}, []string{"reason"}),
		closed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "easy_ws_connections_closed_total", Help: "WebSocket connections closed, by reason.",
		}, []string{"reason"}),
		published: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "easy_ws_events_published_total", Help: "Change events published, by resource and operation.",
		}, []string{"resource", "operation"}),
		delivery: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "easy_ws_delivery_seconds",
			Help:    "Time from a write's commit to its event's write to a connection's socket, by resource.",
			Buckets: observe.DurationBuckets,
		}, []string{"resource"}),
	}
	for _, r := range refuseReasons {
		x.refused.WithLabelValues(r)
	}
	for _, r := range closeReasons {
		x.closed.WithLabelValues(r)
	}
	err := errors.Join(
		reg.Register(x.sent), reg.Register(x.sentBytes), reg.Register(x.refused),
		reg.Register(x.closed), reg.Register(x.published), reg.Register(x.delivery),
		reg.Register(gauges{m}))
	return x, err
}

func (x *metrics) wrote(endpoint string, n int) {
	if x == nil {
		return
	}
	g := x.of(endpoint)
	g.sent.Inc()
	g.sentBytes.Add(float64(n))
}

// refuse counts a handshake refused for reason, one of refuseReasons.
func (x *metrics) refuse(reason string) {
	if x == nil {
		return
	}
	x.refused.WithLabelValues(reason).Inc()
}

// refusal names why err refused a handshake. The errors are admit's,
// reserve's and authenticate's.
func refusal(err error) string {
	var he *problem.HTTPError
	if !errors.As(err, &he) {
		return "auth" // an Authenticate hook's own error
	}
	switch {
	case he.Status == http.StatusForbidden && he.Detail == "Origin not allowed":
		return "origin"
	case he.Status == http.StatusServiceUnavailable && he.Detail == "Server is shutting down":
		return "shutdown"
	case he.Status == http.StatusServiceUnavailable, he.Status == http.StatusTooManyRequests:
		return "cap"
	}
	return "auth"
}

// close counts a connection that starts to close with code and reason.
func (x *metrics) close(code websocket.StatusCode, reason string) {
	if x == nil {
		return
	}
	x.closed.WithLabelValues(closeLabel(code, reason)).Inc()
}

func closeLabel(code websocket.StatusCode, reason string) string {
	switch code {
	case websocket.StatusNormalClosure, websocket.StatusNoStatusRcvd:
		return "normal"
	case websocket.StatusGoingAway:
		if reason == "server shutting down" {
			return "shutdown"
		}
		return "going_away"
	case websocket.StatusPolicyViolation:
		if strings.HasPrefix(reason, "authori") {
			return "auth_expired"
		}
		return "rate_limit"
	case websocket.StatusMessageTooBig:
		return "read_limit"
	case websocket.StatusTryAgainLater:
		if reason == snapshotFailed {
			return "snapshot_failed"
		}
		return "slow_consumer"
	case websocket.StatusInternalError:
		return "internal_error"
	case websocket.StatusAbnormalClosure:
		return "abnormal"
	}
	return "other"
}

// publish counts events published for resource.
func (x *metrics) publish(resource string, evs []*event) {
	if x == nil {
		return
	}
	for _, ev := range evs {
		x.published.WithLabelValues(resource, ev.change.Op).Inc()
	}
}

// publishChanges counts events committed to the outbox for resource,
// which its relay hands to the broker.
func (x *metrics) publishChanges(resource string, changes []Change) {
	if x == nil {
		return
	}
	for _, c := range changes {
		x.published.WithLabelValues(resource, c.Op).Inc()
	}
}

// publishEntries counts events handed to a broker for resource.
func (x *metrics) publishEntries(resource string, entries []Entry) {
	if x == nil {
		return
	}
	for _, e := range entries {
		x.published.WithLabelValues(resource, e.Op).Inc()
	}
}

// wroteFrame counts a batched frame of n messages and size bytes.
func (x *metrics) wroteFrame(endpoint string, n, size int) {
	if x == nil {
		return
	}
	g := x.of(endpoint)
	g.sent.Add(float64(n))
	g.sentBytes.Add(float64(size))
}

// deliveredAll is delivered for the events of a batched frame.
func (x *metrics) deliveredAll(resource string, evs []*event) {
	for _, ev := range evs {
		x.delivered(resource, ev)
	}
}

// delivered observes, for ev just written to a socket, the time since its
// write committed.
func (x *metrics) delivered(resource string, ev *event) {
	if x == nil || ev == nil || ev.at == 0 {
		return
	}
	x.of(resource).delivery.Observe(time.Duration(time.Now().UnixNano() - ev.at).Seconds())
}

// gauges reads a Manager's current numbers at each scrape.
type gauges struct{ m *Manager }

var (
	connectionsDesc = prometheus.NewDesc("easy_ws_connections",
		"Open WebSocket connections, by endpoint (a resource or a custom endpoint's group).", []string{"endpoint"}, nil)
	subscriptionsDesc = prometheus.NewDesc("easy_ws_subscriptions",
		"Connections that receive a resource's events, by resource.", []string{"resource"}, nil)
	brokerLagDesc = prometheus.NewDesc("easy_ws_broker_lag_seconds",
		"Time from a broker append to its delivery here, of the last event read.", nil, nil)
	brokerPendingDesc = prometheus.NewDesc("easy_ws_broker_pending_events",
		"Events waiting to be appended to the broker.", nil, nil)
	brokerReconnectsDesc = prometheus.NewDesc("easy_ws_broker_reconnects_total",
		"Times the broker was reachable again after failing.", nil, nil)
	brokerDroppedDesc = prometheus.NewDesc("easy_ws_broker_dropped_events_total",
		"Events dropped while the broker was unreachable.", nil, nil)
)

func (g gauges) Describe(ch chan<- *prometheus.Desc) {
	ch <- connectionsDesc
	ch <- subscriptionsDesc
	if g.m.cfg.broker != nil {
		ch <- brokerLagDesc
		ch <- brokerPendingDesc
		ch <- brokerReconnectsDesc
		ch <- brokerDroppedDesc
	}
}

func (g gauges) Collect(ch chan<- prometheus.Metric) {
	m := g.m
	m.mu.RLock()
	open := make(map[string]int, len(m.groups))
	for group, conns := range m.groups {
		open[group] = len(conns)
	}
	m.mu.RUnlock()
	for group, n := range open {
		ch <- prometheus.MustNewConstMetric(connectionsDesc, prometheus.GaugeValue, float64(n), group)
	}
	m.resMu.RLock()
	resources := make([]*resource, 0, len(m.resources))
	for _, r := range m.resources {
		resources = append(resources, r)
	}
	m.resMu.RUnlock()
	for _, r := range resources {
		r.fanMu.Lock()
		n := len(r.subs)
		r.fanMu.Unlock()
		ch <- prometheus.MustNewConstMetric(subscriptionsDesc, prometheus.GaugeValue, float64(n), r.name)
	}
	if m.cfg.broker != nil {
		s := m.Stats()
		ch <- prometheus.MustNewConstMetric(brokerLagDesc, prometheus.GaugeValue, s.BrokerLag.Seconds())
		ch <- prometheus.MustNewConstMetric(brokerPendingDesc, prometheus.GaugeValue, float64(s.BrokerPending))
		ch <- prometheus.MustNewConstMetric(brokerReconnectsDesc, prometheus.CounterValue, float64(s.BrokerReconnects))
		ch <- prometheus.MustNewConstMetric(brokerDroppedDesc, prometheus.CounterValue, float64(s.BrokerDropped))
	}
}
