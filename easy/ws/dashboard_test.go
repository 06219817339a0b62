package ws_test

import (
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/fastapi-easy/easy-go/easy"
	"github.com/fastapi-easy/easy-go/easy/ws"
	"github.com/fastapi-easy/easy-go/internal/testkit"
)

// TestGrafanaDashboard checks docs/grafana-dashboard.json: every query is
// PromQL that Prometheus's own promtool accepts, and every metric it
// reads is one an App with metrics and a broker exports, and is
// documented in docs/observability.md.
func TestGrafanaDashboard(t *testing.T) {
	raw, err := os.ReadFile("../../docs/grafana-dashboard.json")
	if err != nil {
		t.Fatal(err)
	}
	var dash struct {
		Panels []struct {
			Title   string `json:"title"`
			Targets []struct {
				Expr string `json:"expr"`
			} `json:"targets"`
		} `json:"panels"`
	}
	if err := json.Unmarshal(raw, &dash); err != nil {
		t.Fatal(err)
	}
	var exprs []string
	for _, p := range dash.Panels {
		for _, tg := range p.Targets {
			e := strings.NewReplacer("$__rate_interval", "1m", "$job", ".*").Replace(tg.Expr)
			exprs = append(exprs, e)
		}
	}
	if len(exprs) < 10 {
		t.Fatalf("%d queries in the dashboard", len(exprs))
	}

	// The metrics an App exports with metrics on, a broker, a client and
	// one write.
	app := easy.New(easy.DB(testkit.SQLite(t, nil)), easy.Metrics(), easy.Logger(slog.New(slog.NewTextHandler(io.Discard, nil))))
	app.Include(easy.CRUDRouter[Product]())
	ws.NewManager(ws.Heartbeat(0), ws.ShareVia(ws.NewMemoryBroker())).Watch(app, Product{})
	srv := httptest.NewServer(app)
	t.Cleanup(func() { app.Close(t.Context()); srv.Close() })
	c := listen(t, srv, "products")
	if code, body := request(t, srv, "POST", "/products", `{"name":"apple","price":1}`); code != 201 {
		t.Fatalf("POST: %d %s", code, body)
	}
	receive(t, c)
	eventually(t, "the event's write is counted", func() bool {
		_, f := scrape(t, srv)
		return f["easy_ws_delivery_seconds"] != nil
	})
	_, families := scrape(t, srv)
	doc, err := os.ReadFile("../../docs/observability.md")
	if err != nil {
		t.Fatal(err)
	}
	name := regexp.MustCompile(`([a-z_]+)\{`)
	for _, e := range exprs {
		for _, m := range name.FindAllStringSubmatch(e, -1) {
			metric := m[1]
			family := strings.TrimSuffix(strings.TrimSuffix(strings.TrimSuffix(metric, "_bucket"), "_count"), "_sum")
			if families[family] == nil && families[metric] == nil {
				t.Errorf("the dashboard reads %s, which the App does not export", metric)
			}
			if !strings.Contains(string(doc), "`"+family) {
				t.Errorf("the dashboard reads %s, which docs/observability.md does not document", family)
			}
		}
	}

	bin, err := exec.LookPath("promtool")
	if err != nil {
		testkit.Unavailable(t, "promtool is not installed (Debian package prometheus)")
	}
	var rules strings.Builder
	rules.WriteString("groups:\n  - name: dashboard\n    rules:\n")
	for i, e := range exprs {
		fmt.Fprintf(&rules, "      - record: dashboard:query%d\n        expr: %q\n", i, e)
	}
	path := filepath.Join(t.TempDir(), "rules.yml")
	if err := os.WriteFile(path, []byte(rules.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(bin, "check", "rules", path).CombinedOutput(); err != nil {
		t.Errorf("promtool check rules: %v\n%s", err, out)
	}
}
