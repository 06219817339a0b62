package ws_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/fastapi-easy/easy-go/easy"
	"github.com/fastapi-easy/easy-go/easy/ws"
	"github.com/fastapi-easy/easy-go/internal/testkit"
)

// scrape reads the App's /metrics and parses it as Prometheus does.
func scrape(t *testing.T, srv *httptest.Server) ([]byte, map[string]*dto.MetricFamily) {
	t.Helper()
	res, err := srv.Client().Get(srv.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	if res.StatusCode != http.StatusOK {
		t.Fatalf("GET /metrics: %d %s", res.StatusCode, body)
	}
	p := expfmt.NewTextParser(model.LegacyValidation)
	families, err := p.TextToMetricFamilies(bytes.NewReader(body))
	if err != nil {
		t.Fatalf("parse /metrics: %v\n%s", err, body)
	}
	return body, families
}

// sample returns the value of the sample of family name with exactly the
// given labels (name, value in turn): a counter's or gauge's value, a
// histogram's count. It fails t when there is no such sample.
func sample(t *testing.T, families map[string]*dto.MetricFamily, name string, labels ...string) float64 {
	t.Helper()
	f := families[name]
	if f == nil {
		t.Fatalf("no metric %s", name)
	}
	want := make(map[string]string)
	for i := 0; i+1 < len(labels); i += 2 {
		want[labels[i]] = labels[i+1]
	}
	for _, s := range testkit.Samples([]*dto.MetricFamily{f}, name) {
		if maps.Equal(s.Labels, want) {
			return s.Value
		}
	}
	t.Fatalf("no sample %s%v; have %v", name, labels, f.Metric)
	return 0
}

// labelNames returns the label names of family name's first sample.
func labelNames(t *testing.T, families map[string]*dto.MetricFamily, name string) []string {
	t.Helper()
	f := families[name]
	if f == nil || len(f.Metric) == 0 {
		t.Fatalf("no metric %s", name)
	}
	var names []string
	for _, l := range f.Metric[0].Label {
		names = append(names, l.GetName())
	}
	return names
}

// TestMetricsCountAKnownWorkload drives 3 POSTs, 1 PUT, 1 DELETE, 2 WS
// clients that read every event, 1 handshake from a foreign Origin and one
// client that reads nothing until it is dropped, through a real listener;
// then checks the scrape's exact values and label sets, and has promtool
// check it.
func TestMetricsCountAKnownWorkload(t *testing.T) {
	db := testkit.SQLite(t, nil)
	app := easy.New(easy.DB(db), easy.Metrics(), easy.Logger(slog.New(slog.NewTextHandler(io.Discard, nil))))
	app.Include(easy.CRUDRouter[Product](), easy.CRUDRouter[Note]())
	// A queue of 16: room for the 5 events of the reading clients, whose
	// writers a loaded machine may hold back, and soon full for the stuck one.
	m := ws.NewManager(ws.Heartbeat(0), ws.SendQueue(16), smallSocket)
	m.Watch(app, Product{}, Note{})
	srv := httptest.NewServer(app)
	t.Cleanup(func() {
		app.Close(context.Background())
		srv.Close()
	})

	a, b := listen(t, srv, "products"), listen(t, srv, "products")
	streams := []*stream{{t: t, c: a}, {t: t, c: b}}
	stuck := dialStuck(t, wsURL(srv, "/ws/notes"))
	defer stuck.CloseNow()

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, res, err := websocket.Dial(ctx, wsURL(srv, "/ws/products"), &websocket.DialOptions{
		HTTPHeader: http.Header{"Origin": {"http://evil.example"}},
	})
	if err == nil || res == nil || res.StatusCode != http.StatusForbidden {
		t.Fatalf("foreign origin: %v %v, want 403", err, res)
	}

	for i := range 3 {
		if code, body := request(t, srv, "POST", "/products", fmt.Sprintf(`{"name":"p%d","price":1}`, i)); code != http.StatusCreated {
			t.Fatalf("POST: %d %s", code, body)
		}
	}
	if code, body := request(t, srv, "PUT", "/products/1", `{"name":"p","price":2}`); code != http.StatusOK {
		t.Fatalf("PUT: %d %s", code, body)
	}
	if code, body := request(t, srv, "DELETE", "/products/2", ""); code != http.StatusOK {
		t.Fatalf("DELETE: %d %s", code, body)
	}
	if code, _ := request(t, srv, "GET", "/no/such/path", ""); code != http.StatusNotFound {
		t.Fatalf("GET /no/such/path: %d", code)
	}
	for _, s := range streams {
		s.expect("create", "1", "")
		s.expect("create", "2", "")
		s.expect("create", "3", "")
		s.expect("update", "1", "")
		s.expect("delete", "2", "")
	}

	// The stuck client's queue fills with large notes written by Go code
	// on app.DB(), which publishes as the CRUD routes do.
	notes := 0
	big := strings.Repeat("x", 64<<10)
	for m.Stats().DroppedSlow == 0 {
		if notes > 500 {
			t.Fatal("the client that reads nothing was never dropped")
		}
		if err := app.DB().Create(&Note{Text: big}).Error; err != nil {
			t.Fatal(err)
		}
		notes++
	}
	eventually(t, "the dropped client is gone", func() bool { return m.Count() == 2 })

	body, f := scrape(t, srv)
	checks := []struct {
		name   string
		labels []string
		want   float64
	}{
		{"http_server_request_duration_seconds", []string{"http_request_method", "POST", "http_route", "/products", "http_response_status_code", "201"}, 3},
		{"http_server_request_duration_seconds", []string{"http_request_method", "PUT", "http_route", "/products/{id}", "http_response_status_code", "200"}, 1},
		{"http_server_request_duration_seconds", []string{"http_request_method", "DELETE", "http_route", "/products/{id}", "http_response_status_code", "200"}, 1},
		{"http_server_request_duration_seconds", []string{"http_request_method", "GET", "http_route", "/ws/{resource}", "http_response_status_code", "403"}, 1},
		{"http_server_request_duration_seconds", []string{"http_request_method", "GET", "http_route", "/ws/{resource}", "http_response_status_code", "101"}, 3},
		{"http_server_request_duration_seconds", []string{"http_request_method", "GET", "http_route", "unmatched", "http_response_status_code", "404"}, 1},
		{"http_server_response_body_size_bytes", []string{"http_request_method", "POST", "http_route", "/products", "http_response_status_code", "201"}, 3},
		{"http_server_active_requests", []string{"http_request_method", "GET"}, 1}, // this scrape
		{"easy_ws_connections", []string{"endpoint", "products"}, 2},
		{"easy_ws_subscriptions", []string{"resource", "products"}, 2},
		{"easy_ws_subscriptions", []string{"resource", "notes"}, 0},
		{"easy_ws_events_published_total", []string{"operation", "create", "resource", "products"}, 3},
		{"easy_ws_events_published_total", []string{"operation", "update", "resource", "products"}, 1},
		{"easy_ws_events_published_total", []string{"operation", "delete", "resource", "products"}, 1},
		{"easy_ws_events_published_total", []string{"operation", "create", "resource", "notes"}, float64(notes)},
		{"easy_ws_messages_sent_total", []string{"endpoint", "products"}, 10},
		{"easy_ws_delivery_seconds", []string{"resource", "products"}, 10},
		{"easy_ws_connections_refused_total", []string{"reason", "origin"}, 1},
		{"easy_ws_connections_refused_total", []string{"reason", "auth"}, 0},
		{"easy_ws_connections_refused_total", []string{"reason", "cap"}, 0},
		{"easy_ws_connections_closed_total", []string{"reason", "slow_consumer"}, 1},
		{"easy_ws_connections_closed_total", []string{"reason", "normal"}, 0},
		{"go_sql_open_connections", []string{"db_name", "write"}, sample(t, f, "go_sql_open_connections", "db_name", "write")},
	}
	for _, c := range checks {
		if got := sample(t, f, c.name, c.labels...); got != c.want {
			t.Errorf("%s%v = %v, want %v", c.name, c.labels, got, c.want)
		}
	}
	if got := sample(t, f, "easy_ws_sent_bytes_total", "endpoint", "products"); got != float64(m.Stats().BytesSent)-sample(t, f, "easy_ws_sent_bytes_total", "endpoint", "notes") {
		t.Errorf("easy_ws_sent_bytes_total{products} = %v, not the Manager's bytes less the notes'", got)
	}
	if got, want := labelNames(t, f, "http_server_request_duration_seconds"), []string{"http_request_method", "http_response_status_code", "http_route"}; !slices.Equal(got, want) {
		t.Errorf("labels %v, want %v", got, want)
	}
	for _, name := range []string{"go_goroutines", "process_cpu_seconds_total", "go_sql_in_use_connections", "go_sql_idle_connections", "go_sql_wait_count_total", "go_sql_wait_duration_seconds_total"} {
		if f[name] == nil {
			t.Errorf("no metric %s", name)
		}
	}
	if f["easy_ws_broker_lag_seconds"] != nil {
		t.Error("broker metrics without a broker")
	}
	promtool(t, body)
}

// promtool has Prometheus's own linter check a scrape.
func promtool(t *testing.T, scrape []byte) {
	t.Helper()
	bin, err := exec.LookPath("promtool")
	if err != nil {
		testkit.Unavailable(t, "promtool is not installed (Debian package prometheus)")
	}
	cmd := exec.Command(bin, "check", "metrics")
	cmd.Stdin = bytes.NewReader(scrape)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Errorf("promtool check metrics: %v\n%s", err, out)
	}
}

// TestMetricsNameWhyConnectionsEnd refuses and closes connections for
// each reason the metrics name, over real sockets, and checks that each
// is counted under its own label and no other.
func TestMetricsNameWhyConnectionsEnd(t *testing.T) {
	app := easy.New(easy.DB(testkit.SQLite(t, nil)), easy.Metrics(), easy.Logger(slog.New(slog.NewTextHandler(io.Discard, nil))))
	app.Include(easy.CRUDRouter[Product]())
	m := ws.NewManager(ws.Heartbeat(0), ws.MaxConnections(2), ws.ReadLimit(64), ws.RateLimit(1, 1),
		ws.Authenticate(func(r *http.Request) (any, error) {
			if r.URL.Query().Get("user") == "" {
				return nil, easy.NewHTTPError(http.StatusUnauthorized, "Not authenticated")
			}
			return r.URL.Query().Get("user"), nil
		}))
	m.Watch(app, Product{})
	srv := testkit.Serve(t, app)
	url := wsURL(srv, "/ws/products")
	refused := func(query string, status int) {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_, res, err := websocket.Dial(ctx, url+query, nil)
		if err == nil || res == nil || res.StatusCode != status {
			t.Fatalf("dial %s: %v %v, want %d", query, err, res, status)
		}
	}

	refused("", http.StatusUnauthorized) // auth
	big := dial(t, url+"?user=a")
	flood := dial(t, url+"?user=b")
	refused("?user=c", http.StatusServiceUnavailable) // cap
	send(t, big, `{"type":"ping","pad":"`+strings.Repeat("x", 100)+`"}`)
	expectClose(t, big, websocket.StatusMessageTooBig) // read_limit
	for range 3 {
		flood.Write(context.Background(), websocket.MessageText, []byte(`{"type":"ping"}`))
	}
	expectClose(t, flood, websocket.StatusPolicyViolation) // rate_limit
	eventually(t, "both are gone", func() bool { return m.Count() == 0 })
	normal := dial(t, url+"?user=d")
	normal.Close(websocket.StatusNormalClosure, "")
	eventually(t, "the normal close is done", func() bool { return m.Count() == 0 })
	last := dial(t, url+"?user=e")
	eventually(t, "the last is open", func() bool { return m.Count() == 1 })
	m.Shutdown(context.Background())
	expectClose(t, last, websocket.StatusGoingAway)   // shutdown
	refused("?user=f", http.StatusServiceUnavailable) // shutdown

	_, f := scrape(t, srv)
	want := map[string]map[string]float64{
		"easy_ws_connections_refused_total": {"auth": 1, "cap": 1, "shutdown": 1, "origin": 0, "upgrade": 0},
		"easy_ws_connections_closed_total": {"read_limit": 1, "rate_limit": 1, "normal": 1, "shutdown": 1,
			"slow_consumer": 0, "snapshot_failed": 0, "going_away": 0, "auth_expired": 0, "internal_error": 0, "abnormal": 0, "other": 0},
	}
	for name, reasons := range want {
		for reason, n := range reasons {
			if got := sample(t, f, name, "reason", reason); got != n {
				t.Errorf("%s{reason=%q} = %v, want %v", name, reason, got, n)
			}
		}
	}
}

// A client that asked for batched frames is counted per message, as one
// that did not: its frames' messages, bytes and delivery times.
func TestMetricsCountBatchedFramesPerMessage(t *testing.T) {
	app := easy.New(easy.DB(testkit.SQLite(t, nil)), easy.Metrics(), easy.Logger(slog.New(slog.NewTextHandler(io.Discard, nil))))
	app.Include(easy.CRUDRouter[Product]())
	m := ws.NewManager(ws.Heartbeat(0))
	m.Watch(app, Product{})
	srv := testkit.Serve(t, app)
	t.Cleanup(func() { app.Close(context.Background()) })
	c := dial(t, wsURL(srv, "/ws/products?batch=1"))
	for i := range 3 {
		if code, body := request(t, srv, "POST", "/products", fmt.Sprintf(`{"name":"p%d","price":1}`, i)); code != http.StatusCreated {
			t.Fatalf("POST: %d %s", code, body)
		}
	}
	got := 0
	for got < 3 {
		msg := next(t, c)
		if strings.HasPrefix(msg, "[") {
			var list []json.RawMessage
			if err := json.Unmarshal([]byte(msg), &list); err != nil {
				t.Fatal(err)
			}
			got += len(list)
		} else {
			got++
		}
	}
	var f map[string]*dto.MetricFamily
	eventually(t, "the three deliveries are counted", func() bool {
		_, f = scrape(t, srv)
		d := f["easy_ws_delivery_seconds"]
		return d != nil && d.Metric[0].Histogram.GetSampleCount() == 3
	})
	if v := sample(t, f, "easy_ws_messages_sent_total", "endpoint", "products"); v != 3 {
		t.Errorf("messages sent %v, want 3", v)
	}
	if v := sample(t, f, "easy_ws_delivery_seconds", "resource", "products"); v != 3 {
		t.Errorf("deliveries %v, want 3", v)
	}
	if v := sample(t, f, "easy_ws_sent_bytes_total", "endpoint", "products"); v != float64(m.Stats().BytesSent) {
		t.Errorf("bytes %v, want the Manager's %d", v, m.Stats().BytesSent)
	}
}
