package ws_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/fastapi-easy/easy-go/easy/problem"
	"github.com/fastapi-easy/easy-go/easy/ws"
)

// refusal dials and returns the status and body of the refused handshake.
func refusal(t *testing.T, url string, header http.Header) (int, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, resp, err := websocket.Dial(ctx, url, &websocket.DialOptions{HTTPHeader: header})
	if err == nil {
		c.CloseNow()
		t.Fatalf("dial %s: upgraded, want a refusal", url)
	}
	if resp == nil {
		t.Fatalf("dial %s: %v, want an HTTP refusal", url, err)
	}
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

func TestRefusedBeforeUpgrade(t *testing.T) {
	auth := ws.Authenticate(func(r *http.Request) (any, error) {
		switch r.URL.Query().Get("token") {
		case "good":
			return "alice", nil
		case "expired":
			return nil, problem.New(http.StatusUnauthorized, "token expired")
		case "db-down":
			return nil, fmt.Errorf("session store: %w", problem.ErrUnavailable)
		}
		return nil, errors.New("secret reason that must not leak")
	})
	m, _, srv := newServer(t, auth)
	origin := func(o string) http.Header { return http.Header{"Origin": {o}} }

	for _, tc := range []struct {
		name, path string
		header     http.Header
		status     int
		body       string
	}{
		{"foreign origin", "/ws/items?token=good", origin("http://evil.example"), 403, `{"detail":"Origin not allowed"}`},
		{"failed authentication", "/ws/items?token=bad", nil, 403, `{"detail":"Forbidden"}`},
		{"authentication error with a status", "/ws/items?token=expired", nil, 401, `{"detail":"token expired"}`},
		{"authentication store down", "/ws/items?token=db-down", nil, 503, `{"detail":"Service Unavailable"}`},
		{"unknown resource", "/ws/nothing?token=good", nil, 404, `{"detail":"Not Found"}`},
		{"since not a number", "/ws/items?token=good&since=yesterday", nil, 422,
			`{"detail":[{"type":"int_parsing","loc":["query","since"],"msg":"Input should be a valid integer, unable to parse string as an integer","input":"yesterday"}]}`},
		{"filter not JSON", "/ws/items?token=good&filter=" + url.QueryEscape("{x"), nil, 422,
			`{"detail":[{"type":"value_error","loc":["query","filter"],"msg":"Value error, filter must be an object","input":"{x"}]}`},
		{"filter on an unknown field", "/ws/items?token=good&filter=" + url.QueryEscape(`{"colour":"red"}`), nil, 422,
			`{"detail":[{"type":"value_error","loc":["query","filter"],"msg":"Value error, unknown filter field \"colour\"","input":"{\"colour\":\"red\"}"}]}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, body := refusal(t, wsURL(srv, tc.path), tc.header)
			if status != tc.status || body != tc.body {
				t.Fatalf("got %d %s\nwant %d %s", status, body, tc.status, tc.body)
			}
		})
	}
	// The origin and the three authentication refusals; a 404 or a 422 is
	// a bad request, not a refusal.
	if got := m.Stats().Refused; got != 4 {
		t.Fatalf("Refused = %d, want 4", got)
	}
}

func TestAllowedOrigins(t *testing.T) {
	for _, tc := range []struct {
		name    string
		allowed []string
		origin  string
		ok      bool
	}{
		{"same host by default", nil, "", true},
		{"no Origin header (not a browser)", nil, "-", true},
		{"foreign by default", nil, "http://app.example", false},
		{"host pattern", []string{"*.example"}, "http://app.example", true},
		{"host pattern, other host", []string{"*.example"}, "http://app.other", false},
		{"scheme pattern", []string{"https://app.example"}, "https://app.example", true},
		{"scheme pattern, other scheme", []string{"https://app.example"}, "http://app.example", false},
		{"any origin", []string{"*"}, "http://anything.example", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, srv := newServer(t, ws.AllowedOrigins(tc.allowed...))
			h := http.Header{}
			switch tc.origin {
			case "":
				h.Set("Origin", srv.URL)
			case "-":
			default:
				h.Set("Origin", tc.origin)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			c, resp, err := websocket.Dial(ctx, wsURL(srv, "/ws/items"), &websocket.DialOptions{HTTPHeader: h})
			if tc.ok {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				c.CloseNow()
				return
			}
			if err == nil {
				c.CloseNow()
				t.Fatal("upgraded, want 403")
			}
			if resp.StatusCode != http.StatusForbidden {
				t.Fatalf("status %d, want 403", resp.StatusCode)
			}
		})
	}
}

func TestMaxConnectionsRefusesWith503(t *testing.T) {
	m, _, srv := newServer(t, ws.MaxConnections(2))
	dialReady(t, wsURL(srv, "/ws/items"))
	last := dialReady(t, wsURL(srv, "/ws/items"))

	status, body := refusal(t, wsURL(srv, "/ws/items"), nil)
	if status != 503 || body != `{"detail":"Too many connections"}` {
		t.Fatalf("got %d %s, want 503 Too many connections", status, body)
	}

	last.Close(websocket.StatusNormalClosure, "")
	eventually(t, "a slot is free", func() bool { return m.Count() == 1 })
	dialReady(t, wsURL(srv, "/ws/items"))
	if got := m.Stats().Refused; got != 1 {
		t.Fatalf("Refused = %d, want 1", got)
	}
}

// One client address may hold MaxConnectionsPerIP connections of the
// Manager's MaxConnections: one more is refused with 429 before the
// upgrade, while other addresses still get in, and a closed connection
// frees its address's slot. The server takes the client's address from
// X-Forwarded-For, as behind a proxy (chi's middleware.RealIP); a client
// on the loopback itself is not capped.
func TestMaxConnectionsPerIPRefusesWith429(t *testing.T) {
	m := ws.NewManager(quiet, ws.MaxConnectionsPerIP(3))
	m.AddResource("items", newStore(m))
	srv := httptest.NewServer(forwarded(m))
	t.Cleanup(func() { m.Shutdown(context.Background()); srv.Close() })
	url := wsURL(srv, "/ws/items")
	from := func(ip string) func(*websocket.DialOptions) {
		return func(o *websocket.DialOptions) { o.HTTPHeader = http.Header{"X-Forwarded-For": {ip}} }
	}

	var last *websocket.Conn
	for range 3 {
		last = dial(t, url, from("192.0.2.1"))
	}
	req, _ := http.NewRequest("GET", url, nil)
	req = withHandshake(req)
	req.Header.Set("X-Forwarded-For", "192.0.2.1")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 429 || string(body) != `{"detail":"Too many connections from this address"}` ||
		res.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("the 4th connection from 192.0.2.1 got %d %v %s, want 429 in JSON", res.StatusCode, res.Header, body)
	}
	if got := m.Stats().Refused; got != 1 {
		t.Fatalf("Refused = %d, want 1", got)
	}

	dial(t, url, from("192.0.2.2"))            // another client
	dial(t, url, from("2001:db8:0:1::1"))      // IPv6 counts by /64:
	dial(t, url, from("2001:db8:0:1::2"))      // these three are one client,
	dial(t, url, from("2001:db8:0:1:ffff::3")) // and
	if status, _ := refusal(t, url, http.Header{"X-Forwarded-For": {"2001:db8:0:1::4"}}); status != 429 {
		t.Fatalf("a 4th connection from 2001:db8:0:1::/64 got %d, want 429", status)
	}
	for range 4 {
		dial(t, url) // 127.0.0.1: the machine itself
	}

	last.Close(websocket.StatusNormalClosure, "")
	eventually(t, "the connection is gone", func() bool { return m.Count() == 2+1+3+4 })
	dial(t, url, from("192.0.2.1"))
}

func TestClientAddrGroupsIPv6By64(t *testing.T) {
	for _, tc := range []struct{ remote, want string }{
		{"192.0.2.7:51234", "192.0.2.7"},
		{"192.0.2.7", "192.0.2.7"}, // as a proxy's middleware may leave it
		{"[::ffff:192.0.2.7]:80", "192.0.2.7"},
		{"[2001:db8:1:2:aaaa::1]:443", "2001:db8:1:2::/64"},
		{"[2001:db8:1:2:bbbb::9]:443", "2001:db8:1:2::/64"},
		{"[2001:db8:1:3::1]:443", "2001:db8:1:3::/64"},
		{"[fe80::1%eth0]:80", "fe80::/64"},
		{"@", ""}, // a Unix socket: no cap
		{"", ""},
		{"127.0.0.1:80", ""}, // the machine itself: no cap
		{"127.9.9.9:80", ""},
		{"[::1]:80", ""},
		{"[::ffff:127.0.0.1]:80", ""},
	} {
		if got := ws.ClientAddr(tc.remote); got != tc.want {
			t.Errorf("ClientAddr(%q) = %q, want %q", tc.remote, got, tc.want)
		}
	}
}

// forwarded takes the client's address from X-Forwarded-For, as a
// middleware does behind a reverse proxy.
func forwarded(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if ip := r.Header.Get("X-Forwarded-For"); ip != "" {
			r.RemoteAddr = ip
		}
		h.ServeHTTP(w, r)
	})
}

// withHandshake makes req a valid WebSocket handshake.
func withHandshake(req *http.Request) *http.Request {
	req.URL.Scheme = "http"
	req.Header = handshake.Clone()
	return req
}

func TestCloseCodes(t *testing.T) {
	expires := time.Now().Add(100 * time.Millisecond)
	for _, tc := range []struct {
		name string
		opts []ws.Option
		path string
		act  func(t *testing.T, m *ws.Manager, c *websocket.Conn)
		code websocket.StatusCode
	}{
		{
			name: "message over the read limit",
			opts: []ws.Option{ws.ReadLimit(64)},
			act: func(t *testing.T, _ *ws.Manager, c *websocket.Conn) {
				send(t, c, `{"type":"ping","pad":"`+strings.Repeat("x", 100)+`"}`)
			},
			code: websocket.StatusMessageTooBig,
		},
		{
			name: "flood",
			opts: []ws.Option{ws.RateLimit(1, 5)},
			act: func(t *testing.T, _ *ws.Manager, c *websocket.Conn) {
				for range 20 {
					if c.Write(context.Background(), websocket.MessageText, []byte(`{"type":"ping"}`)) != nil {
						return // closed already
					}
				}
			},
			code: websocket.StatusPolicyViolation,
		},
		{
			name: "authorisation expired",
			opts: []ws.Option{ws.Authenticate(func(*http.Request) (any, error) { return session{expires}, nil })},
			act:  func(*testing.T, *ws.Manager, *websocket.Conn) {},
			code: websocket.StatusPolicyViolation,
		},
		{
			name: "shutdown",
			act: func(t *testing.T, m *ws.Manager, _ *websocket.Conn) {
				go m.Shutdown(context.Background())
			},
			code: websocket.StatusGoingAway,
		},
		{
			name: "handler returns",
			path: "/custom/return",
			code: websocket.StatusNormalClosure,
		},
		{
			name: "handler fails",
			path: "/custom/fail",
			code: websocket.StatusInternalError,
		},
		{
			name: "handler panics",
			path: "/custom/panic",
			code: websocket.StatusInternalError,
		},
		{
			name: "handler closes with its own code",
			path: "/custom/close",
			code: 4000,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, _, _ := newServer(t, tc.opts...)
			handlers := map[string]http.Handler{
				"/custom/return": m.Handler("custom", func(ctx context.Context, c *ws.Conn) error {
					return c.Send([]byte("bye")) // sent before the close frame
				}),
				"/custom/fail": m.Handler("custom", func(ctx context.Context, c *ws.Conn) error {
					return errors.New("database gone")
				}),
				"/custom/panic": m.Handler("custom", func(ctx context.Context, c *ws.Conn) error {
					panic("bug")
				}),
				"/custom/close": m.Handler("custom", func(ctx context.Context, c *ws.Conn) error {
					c.Close(4000, "done")
					_, err := c.Read(ctx)
					return err
				}),
			}
			srv := serve(t, m, handlers)
			path := tc.path
			if path == "" {
				path = "/ws/items"
			}
			c := dial(t, wsURL(srv, path))
			if tc.act != nil {
				tc.act(t, m, c)
			}
			if tc.path == "/custom/return" {
				expect(t, c, "bye")
			}
			expectClose(t, c, tc.code)
		})
	}
}

// TestRateLimitLetsTheBurstThroughThenCloses pins what RateLimit
// documents: burst messages at once, one more per 1/perSecond, and one
// beyond that closes the connection with 1008.
func TestRateLimitLetsTheBurstThroughThenCloses(t *testing.T) {
	t.Run("burst", func(t *testing.T) {
		m, _, srv := newServer(t, ws.RateLimit(0.01, 5)) // a token per 100 s: none comes back meanwhile
		c := dial(t, wsURL(srv, "/ws/items"))
		for range 5 {
			send(t, c, `{"type":"ping"}`)
			expect(t, c, `{"type":"pong"}`)
		}
		send(t, c, `{"type":"ping"}`)
		expectClose(t, c, websocket.StatusPolicyViolation)
		eventually(t, "counted as rate limited", func() bool { return m.Stats().RateLimited == 1 })
	})
	t.Run("rate", func(t *testing.T) {
		m, _, srv := newServer(t, ws.RateLimit(20, 1)) // a token per 50 ms, one at most
		c := dial(t, wsURL(srv, "/ws/items"))
		for range 4 {
			send(t, c, `{"type":"ping"}`)
			expect(t, c, `{"type":"pong"}`)
			time.Sleep(60 * time.Millisecond) // a token is back; a longer wait cannot add a second
		}
		if n := m.Stats().RateLimited; n != 0 {
			t.Fatalf("RateLimited = %d, want 0", n)
		}
	})
}

// session is a principal whose authorisation expires.
type session struct{ until time.Time }

func (s session) Expiry() time.Time { return s.until }

func TestShutdownClosesEveryConnectionWith1001AndRefusesNewOnes(t *testing.T) {
	m, _, srv := newServer(t)
	echo := m.Handler("echo", func(ctx context.Context, c *ws.Conn) error {
		for {
			msg, err := c.Read(ctx)
			if err != nil {
				return err
			}
			c.Send(msg)
		}
	})
	srv2 := serve(t, m, map[string]http.Handler{"/echo": echo})
	conns := []*websocket.Conn{
		dialReady(t, wsURL(srv, "/ws/items")),
		dialReady(t, wsURL(srv, "/ws/items")),
		dial(t, wsURL(srv2, "/echo")),
	}
	send(t, conns[2], "hi")
	expect(t, conns[2], "hi")

	var wg sync.WaitGroup
	for _, c := range conns {
		wg.Go(func() { expectClose(t, c, websocket.StatusGoingAway) })
	}
	if err := m.Shutdown(context.Background()); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	wg.Wait()
	if n := m.Count(); n != 0 {
		t.Fatalf("Count after Shutdown = %d, want 0", n)
	}
	status, body := refusal(t, wsURL(srv, "/ws/items"), nil)
	if status != 503 || body != `{"detail":"Server is shutting down"}` {
		t.Fatalf("after Shutdown got %d %s, want 503", status, body)
	}
}

func TestShutdownGivesUpWhenItsContextEnds(t *testing.T) {
	m, _, srv := newServer(t)
	dial(t, wsURL(srv, "/ws/items")) // never read: the close handshake cannot finish
	eventually(t, "connected", func() bool { return m.Count() == 1 })

	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if err := m.Shutdown(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Shutdown = %v, want context.DeadlineExceeded", err)
	}
	if err := m.Shutdown(context.Background()); err != nil {
		t.Fatalf("second Shutdown = %v, want nil once the connection was dropped", err)
	}
}

// A client that sends a message far over the read limit, and then reads
// nothing, is closed with 1009 and let go within a second: the server
// discards the rest of its message in large reads rather than waiting for
// its close frame behind it (coder/websocket's handshake would read it a
// byte at a time, for up to 5 s). The client still finds the 1009 when it
// reads.
func TestOversizedMessageIsDroppedAfterItsCloseFrame(t *testing.T) {
	gone := make(chan websocket.StatusCode, 1)
	m := ws.NewManager(quiet, ws.ReadLimit(1<<10), ws.CloseTimeout(30*time.Second),
		ws.OnDisconnect(func(_ *ws.Conn, code websocket.StatusCode) { gone <- code }))
	m.AddResource("items", newStore(m))
	srv := serve(t, m, nil)
	c := dialReady(t, wsURL(srv, "/ws/items"))
	go c.Write(context.Background(), websocket.MessageText, make([]byte, 4<<20))

	select {
	case code := <-gone:
		if code != websocket.StatusMessageTooBig {
			t.Fatalf("closed with %d, want 1009", code)
		}
	case <-time.After(3 * time.Second):
		t.Fatal("the connection is still held 3 s after its message went over the read limit")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for {
		if _, _, err := c.Read(ctx); err != nil {
			if got := websocket.CloseStatus(err); got != websocket.StatusMessageTooBig {
				t.Fatalf("the client read %v (status %d), want the close frame 1009", err, got)
			}
			return
		}
	}
}
