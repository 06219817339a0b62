package ws_test

import (
	"cmp"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"

	"github.com/fastapi-easy/easy-go/easy"
	"github.com/fastapi-easy/easy-go/easy/openapi"
	"github.com/fastapi-easy/easy-go/easy/security"
	"github.com/fastapi-easy/easy-go/easy/ws"
	"github.com/fastapi-easy/easy-go/internal/testkit"
)

// Sku is a model of a watched table, "skus", keyed by a string.
type Sku struct {
	ID   string `json:"id" gorm:"primaryKey"`
	Name string `json:"name" required:"true"`
}

type asyncDoc struct {
	Servers  map[string]struct{ Protocol string }
	Channels map[string]struct {
		Address  string
		Servers  []map[string]string
		Title    string
		Messages map[string]struct {
			Payload map[string]any
		}
	}
	Operations map[string]struct {
		Action   string
		Messages []map[string]string
		Security []map[string]any
	}
}

func describeApp(t *testing.T, setup func(app *easy.App)) asyncDoc {
	t.Helper()
	app := easy.New(easy.DB(testkit.SQLite(t, nil)), easy.Logger(slog.New(slog.DiscardHandler)))
	setup(app)
	rec := httptest.NewRecorder()
	app.ServeHTTP(rec, httptest.NewRequest("GET", "/asyncapi.json", nil))
	if rec.Code != http.StatusOK {
		t.Fatalf("GET /asyncapi.json: %d %s", rec.Code, rec.Body)
	}
	var d asyncDoc
	if err := json.Unmarshal(rec.Body.Bytes(), &d); err != nil {
		t.Fatal(err)
	}
	return d
}

// TestWatchDescribesEachResource checks the channels Watch adds: one per
// watched table at the Prefix, with the resource protocol's messages, the
// id typed as the primary key, and an SSE channel beside it at the SSE
// prefix.
func TestWatchDescribesEachResource(t *testing.T) {
	for _, ssePrefix := range []string{"", "/events"} {
		d := describeApp(t, func(app *easy.App) {
			opts := []ws.Option{ws.Prefix("/rt")}
			if ssePrefix != "" {
				opts = append(opts, ws.SSEPrefix(ssePrefix))
			}
			m := ws.NewManager(opts...)
			m.Watch(app, Sku{})
			t.Cleanup(func() { m.Shutdown(context.Background()) })
		})
		ch := d.Channels["skus"]
		if ch.Address != "/rt/skus" || ch.Servers[0]["$ref"] != "#/servers/websocket" {
			t.Errorf("channel skus: %+v", ch)
		}
		if id := ch.Messages["create"].Payload["properties"].(map[string]any)["id"]; id.(map[string]any)["type"] != "string" {
			t.Errorf("the id of a create is %v, want a string as the key", id)
		}
		sent := names(d.Operations["skus.send"].Messages)
		if want := []string{"create", "delete", "error", "initial", "ping", "pong", "reset", "update"}; !slices.Equal(sent, want) {
			t.Errorf("the server sends %v, want %v", sent, want)
		}
		if got := names(d.Operations["skus.receive"].Messages); !slices.Equal(got, []string{"ping", "subscribe", "unsubscribe"}) {
			t.Errorf("the server receives %v", got)
		}
		s, ok := d.Channels["skus.sse"]
		if !ok {
			t.Fatalf("no SSE channel: %v", d.Channels)
		}
		if want := cmp.Or(ssePrefix, "/sse") + "/skus"; s.Address != want || s.Servers[0]["$ref"] != "#/servers/http" || d.Servers["http"].Protocol != "http" {
			t.Errorf("channel skus.sse: %+v, servers %+v", s, d.Servers)
		}
		if got, want := names(d.Operations["skus.sse.send"].Messages), []string{"create", "delete", "initial", "reset", "update"}; !slices.Equal(got, want) {
			t.Errorf("SSE sends %v, want %v", got, want)
		}
		if _, ok := d.Operations["skus.sse.receive"]; ok {
			t.Error("an SSE channel receives nothing, but has a receive operation")
		}
	}
}

// TestHandlerChannels checks a custom endpoint's channel: opaque without
// Describe, as described with it (its ID and address kept when given),
// and secured as Secure says until Authenticate replaces it.
func TestHandlerChannels(t *testing.T) {
	key := security.APIKeyQuery("key", func(ctx context.Context, k string) (string, error) { return k, nil })
	noop := func(ctx context.Context, c *ws.Conn) error { return nil }
	for _, tc := range []struct {
		name    string
		opts    []ws.Option
		secured bool
	}{
		{"open", nil, false},
		{"secure", []ws.Option{ws.Secure(key)}, true},
		{"authenticate after secure", []ws.Option{ws.Secure(key), ws.Authenticate(func(r *http.Request) (any, error) { return nil, nil })}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := describeApp(t, func(app *easy.App) {
				m := ws.NewManager(tc.opts...)
				app.Handle("/ws/echo", m.Handler("echo", noop))
				app.Handle("/ws/rooms/{room}", m.Handler("rooms", noop, ws.Describe(openapi.Channel{
					Title: "Rooms",
					Send:  []openapi.Message{{Name: "line", Payload: ""}},
				})))
				app.Handle("/ws/other", m.Handler("other", noop, ws.Describe(openapi.Channel{ID: "elsewhere", Address: "/ws/elsewhere"})))
			})
			if e := d.Channels["echo"]; e.Address != "/ws/echo" || len(e.Messages) != 1 || e.Messages["message"].Payload != nil {
				t.Errorf("echo: %+v", e)
			}
			if r := d.Channels["rooms"]; r.Address != "/ws/rooms/{room}" || r.Title != "Rooms" || r.Messages["line"].Payload["type"] != "string" {
				t.Errorf("rooms: %+v", r)
			}
			if _, ok := d.Operations["rooms.receive"]; ok {
				t.Error("rooms describes no message it receives, but has a receive operation")
			}
			if o := d.Channels["elsewhere"]; o.Address != "/ws/elsewhere" {
				t.Errorf("other: %+v", d.Channels)
			}
			for _, op := range []string{"echo.send", "echo.receive", "rooms.send"} {
				if got := len(d.Operations[op].Security) == 1; got != tc.secured {
					t.Errorf("%s: security %v", op, d.Operations[op].Security)
				}
			}
		})
	}
}

func names(refs []map[string]string) []string {
	var out []string
	for _, r := range refs {
		out = append(out, lastSegment(r["$ref"]))
	}
	slices.Sort(out)
	return out
}

func lastSegment(s string) string {
	for i := len(s) - 1; i >= 0; i-- {
		if s[i] == '/' {
			return s[i+1:]
		}
	}
	return s
}
