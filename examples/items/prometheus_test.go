package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/fastapi-easy/easy-go/easy"
	"github.com/fastapi-easy/easy-go/internal/testkit"
)

// TestPrometheusScrapesTheApp has a real Prometheus server (Debian's
// package prometheus) scrape the app every second while two WebSocket
// clients follow /ws/items, and asks it, through its HTTP API, how many
// connections the app has open.
func TestPrometheusScrapesTheApp(t *testing.T) {
	bin, err := exec.LookPath("prometheus")
	if err != nil {
		testkit.Unavailable(t, "prometheus is not installed (Debian package prometheus)")
	}
	t.Setenv("DATABASE_URL", "sqlite:"+filepath.Join(t.TempDir(), "items.db"))
	app, err := newApp(easy.Logger(slog.New(slog.NewTextHandler(io.Discard, nil))))
	if err != nil {
		t.Fatal(err)
	}
	addr, _ := testkit.ServeOn(t, "127.0.0.1:0", app.Serve)

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for range 2 {
		c, _, err := websocket.Dial(ctx, "ws://"+addr+"/ws/items", nil)
		if err != nil {
			t.Fatal(err)
		}
		defer c.CloseNow()
	}

	promAddr := startPrometheus(t, bin, addr)
	query := `sum(easy_ws_connections{job="items",endpoint="items"})`
	var last string
	for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline); time.Sleep(250 * time.Millisecond) {
		if last = promQuery(t, promAddr, query); last == "2" {
			return
		}
	}
	t.Fatalf("%s = %q, want 2", query, last)
}

// startPrometheus runs prometheus, scraping target every second, on a
// free loopback port of its own, until the test ends; it returns the
// server's address once it is ready.
func startPrometheus(t *testing.T, bin, target string) string {
	t.Helper()
	dir := t.TempDir()
	config := fmt.Sprintf("global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\nscrape_configs:\n  - job_name: items\n    static_configs:\n      - targets: [%q]\n", target)
	if err := os.WriteFile(filepath.Join(dir, "prometheus.yml"), []byte(config), 0o644); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	cmd := exec.Command(bin,
		"--config.file="+filepath.Join(dir, "prometheus.yml"),
		"--storage.tsdb.path="+filepath.Join(dir, "data"),
		"--web.listen-address="+addr,
		"--log.level=warn")
	var logs strings.Builder
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		cmd.Process.Signal(os.Interrupt)
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			<-exited
		}
	})
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		select {
		case err := <-exited:
			t.Fatalf("prometheus exited: %v\n%s", err, logs.String())
		default:
		}
		if res, err := http.Get("http://" + addr + "/-/ready"); err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return addr
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("prometheus not ready within 30s\n%s", logs.String())
		}
	}
}

// promQuery runs an instant PromQL query and returns the value of its
// one result, or "" when it has none yet.
func promQuery(t *testing.T, addr, query string) string {
	t.Helper()
	res, err := http.Get("http://" + addr + "/api/v1/query?query=" + url.QueryEscape(query))
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var body struct {
		Status string `json:"status"`
		Data   struct {
			Result []struct {
				Value [2]any `json:"value"`
			} `json:"result"`
		} `json:"data"`
	}
	if err := json.NewDecoder(res.Body).Decode(&body); err != nil || body.Status != "success" {
		t.Fatalf("query %s: %d %v %+v", query, res.StatusCode, err, body)
	}
	if len(body.Data.Result) != 1 {
		return ""
	}
	v, _ := body.Data.Result[0].Value[1].(string)
	return v
}
