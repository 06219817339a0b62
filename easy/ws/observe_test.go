package ws_test

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/fastapi-easy/easy-go/easy"
	"github.com/fastapi-easy/easy-go/easy/ws"
	"github.com/fastapi-easy/easy-go/internal/testkit"
)

// observedApp serves Product with CRUD and realtime through broker, with
// metrics and the probes on.
func observedApp(t *testing.T, broker ws.Broker) (*ws.Manager, *testkit.Response, func(path string) testkit.Response) {
	t.Helper()
	app := easy.New(easy.DB(testkit.SQLite(t, nil)), easy.Metrics(), easy.Health(),
		easy.Logger(slog.New(slog.NewTextHandler(io.Discard, nil))))
	app.Include(easy.CRUDRouter[Product]())
	m := ws.NewManager(ws.Heartbeat(0), ws.ShareVia(broker))
	m.Watch(app, Product{})
	srv := testkit.Serve(t, app)
	t.Cleanup(func() { app.Close(context.Background()) })
	get := func(path string) testkit.Response { return testkit.Do(t, srv, "GET", path, "") }
	res := testkit.Do(t, srv, "POST", "/products", `{"name":"apple","price":1}`)
	return m, &res, get
}

// /readyz pings a broker that can be pinged (Redis), and reads a log's
// tail of one that cannot; the broker's numbers are on /metrics.
func TestReadyzChecksTheBroker(t *testing.T) {
	t.Run("redis", func(t *testing.T) {
		_, post, get := observedApp(t, ws.NewRedisBroker(redisClient(t), randomPrefix()))
		post.Expect(t, 201, `{"id":1,"name":"apple","price":1}`)
		get("/readyz").Expect(t, 200, `{"status":"ready"}`+"\n")
		body := get("/metrics").Body
		for _, name := range []string{"easy_ws_broker_lag_seconds ", "easy_ws_broker_pending_events ", "easy_ws_broker_reconnects_total 0", "easy_ws_broker_dropped_events_total 0"} {
			if !containsLine(body, name) {
				t.Errorf("no %q in /metrics", name)
			}
		}
	})
	t.Run("redis down", func(t *testing.T) {
		client := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", MaxRetries: -1})
		defer client.Close()
		_, _, get := observedApp(t, ws.NewRedisBroker(client, randomPrefix()))
		get("/readyz").Expect(t, 503, `{"detail":"Not ready: broker"}`)
	})
	t.Run("a broker without Ping", func(t *testing.T) {
		f := &flaky{Broker: ws.NewMemoryBroker()}
		_, _, get := observedApp(t, f)
		get("/readyz").Expect(t, 200, `{"status":"ready"}`+"\n")
		f.set(true)
		get("/readyz").Expect(t, 503, `{"detail":"Not ready: broker"}`)
		f.set(false)
		get("/readyz").Expect(t, 200, `{"status":"ready"}`+"\n")
	})
}

func containsLine(body, prefix string) bool {
	for line := range strings.Lines(body) {
		if strings.HasPrefix(line, prefix) {
			return true
		}
	}
	return false
}
