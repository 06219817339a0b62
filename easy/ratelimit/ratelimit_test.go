package ratelimit_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/go-chi/chi/v5/middleware"

	"github.com/fastapi-easy/easy-go/easy"
	"github.com/fastapi-easy/easy-go/easy/ratelimit"
	"github.com/fastapi-easy/easy-go/easy/security"
	"github.com/fastapi-easy/easy-go/internal/testkit"
)

type ok struct {
	OK bool `json:"ok"`
}

func handler(ctx context.Context, _ *easy.NoInput) (*ok, error) { return &ok{true}, nil }

// limited serves /ip, limited to 3 requests a minute per client IP (from
// X-Real-IP), /user, limited per user (from X-User), and /free.
func limited(t *testing.T) *httptest.Server {
	t.Helper()
	app := easy.New(easy.Logger(slog.New(slog.DiscardHandler)))
	app.Use(middleware.ClientIPFromHeader("X-Real-IP", "127.0.0.0/8", "::1/128"))
	perMinute := ratelimit.Rate{Requests: 3, Per: time.Minute}
	easy.Get(app, "/ip", handler, easy.Uses(ratelimit.ByIP(perMinute)))
	user := security.APIKeyHeader("X-User", func(ctx context.Context, key string) (string, error) { return key, nil })
	easy.Get(app, "/user", handler, easy.Uses(ratelimit.By(user, func(u string) string { return u }, perMinute)))
	easy.Get(app, "/free", handler)
	return testkit.Serve(t, app)
}

// get returns the status, the Retry-After header and the body of a GET.
func get(t *testing.T, srv *httptest.Server, path string, header ...string) (int, string, string) {
	t.Helper()
	r := testkit.Do(t, srv, "GET", path, "", header...)
	return r.Status, r.Header.Get("Retry-After"), r.Body
}

// A burst over the limit gets 429s with Retry-After; other clients, and
// routes the limit does not cover, are unaffected.
func TestBurstOverTheLimit(t *testing.T) {
	srv := limited(t)
	for _, c := range []struct{ path, header, value string }{{"/ip", "X-Real-IP", "10.0.0."}, {"/user", "X-User", "user-"}} {
		for i := 0; i < 3; i++ {
			if status, _, body := get(t, srv, c.path, c.header, c.value+"1"); status != 200 {
				t.Fatalf("%s request %d: %d %s", c.path, i+1, status, body)
			}
		}
		for i := 0; i < 5; i++ {
			status, retry, body := get(t, srv, c.path, c.header, c.value+"1")
			if status != 429 || body != `{"detail":"Too Many Requests"}` || (retry != "20" && retry != "19") {
				t.Fatalf("%s over the limit: %d Retry-After %q %s, want 429 with Retry-After 20", c.path, status, retry, body)
			}
		}
		if status, retry, _ := get(t, srv, c.path, c.header, c.value+"2"); status != 200 || retry != "" {
			t.Errorf("%s: another client got %d", c.path, status)
		}
	}
	if status, _, _ := get(t, srv, "/free", "X-Real-IP", "10.0.0.1"); status != 200 {
		t.Errorf("an uncovered route got %d", status)
	}
	if status, _, body := get(t, srv, "/user"); status != 401 {
		t.Errorf("/user without a user: %d %s, want the scheme's 401 first", status, body)
	}
}

// The routes a limit covers document its 429. (internal/thirdparty
// validates the document.)
func TestLimitInTheSpec(t *testing.T) {
	srv := limited(t)
	raw := testkit.Get(t, srv, "/openapi.json")
	var doc struct {
		Paths map[string]map[string]struct {
			Responses map[string]json.RawMessage `json:"responses"`
		}
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	for path, want := range map[string]bool{"/ip": true, "/user": true, "/free": false} {
		if _, got := doc.Paths[path]["get"].Responses["429"]; got != want {
			t.Errorf("%s documents 429: %v, want %v", path, got, want)
		}
	}
}

// The addresses of one IPv6 /64, which one host usually has whole, share
// a bucket: a client cannot get a fresh budget per address.
func TestIPv6By64(t *testing.T) {
	srv := limited(t)
	for i := 1; i <= 3; i++ {
		ip := fmt.Sprintf("2001:db8:1:2::%d", i)
		if status, _, body := get(t, srv, "/ip", "X-Real-IP", ip); status != 200 {
			t.Fatalf("request %d from %s: %d %s", i, ip, status, body)
		}
	}
	if status, _, body := get(t, srv, "/ip", "X-Real-IP", "2001:db8:1:2:ffff::9"); status != 429 {
		t.Errorf("another address of the same /64: %d %s, want 429", status, body)
	}
	if status, _, body := get(t, srv, "/ip", "X-Real-IP", "2001:db8:1:3::1"); status != 200 {
		t.Errorf("an address of another /64: %d %s, want 200", status, body)
	}
}

// Past Rate.Keys buckets, the one seen longest ago is forgotten: new
// clients are served, and the memory held stays bounded.
func TestKeysBounded(t *testing.T) {
	app := easy.New(easy.Logger(slog.New(slog.DiscardHandler)))
	user := security.APIKeyHeader("X-User", func(ctx context.Context, key string) (string, error) { return key, nil })
	limit := ratelimit.By(user, func(u string) string { return u }, ratelimit.Rate{Requests: 1, Per: time.Hour, Keys: 2})
	easy.Get(app, "/user", handler, easy.Uses(limit))
	srv := testkit.Serve(t, app)

	for _, c := range []struct {
		user string
		want int
	}{
		{"a", 200}, {"a", 429}, {"b", 200}, {"b", 429},
		{"c", 200}, // forgets a, seen longest ago
		{"b", 429}, // b is still held
		{"a", 200}, // a starts again (and forgets c)
		{"b", 429},
	} {
		if status, _, body := get(t, srv, "/user", "X-User", c.user); status != c.want {
			t.Fatalf("%s: %d %s, want %d", c.user, status, body, c.want)
		}
	}
}
