package ws_test

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"

	"github.com/fastapi-easy/easy-go/easy/ws"
)

// A handshake's headers, valid unless a case changes them.
var handshake = http.Header{
	"Connection":            {"Upgrade"},
	"Upgrade":               {"websocket"},
	"Sec-Websocket-Version": {"13"},
	"Sec-Websocket-Key":     {"dGhlIHNhbXBsZSBub25jZQ=="},
}

// TestRefusalsAreJSON sends requests that are no acceptable WebSocket
// handshake to a resource endpoint and to a custom one, and checks each
// refusal whole: status, the headers RFC 6455 and RFC 9110 ask for, and a
// FastAPI-shaped body.
func TestRefusalsAreJSON(t *testing.T) {
	m, _, _ := newServer(t)
	srv := serve(t, m, map[string]http.Handler{
		"/custom": m.Handler("custom", func(ctx context.Context, c *ws.Conn) error { return nil }),
	})
	with := func(change func(h http.Header)) http.Header {
		h := handshake.Clone()
		change(h)
		return h
	}
	for _, tc := range []struct {
		name    string
		method  string
		header  http.Header
		status  int
		headers map[string]string
		body    string
	}{
		{"POST with the upgrade headers", "POST", handshake, 405,
			map[string]string{"Allow": "GET"}, `{"detail":"Method Not Allowed"}`},
		{"POST without them", "POST", http.Header{}, 405,
			map[string]string{"Allow": "GET"}, `{"detail":"Method Not Allowed"}`},
		{"HEAD", "HEAD", handshake, 405, map[string]string{"Allow": "GET"}, ""},
		{"plain GET", "GET", http.Header{}, 426,
			map[string]string{"Upgrade": "websocket", "Connection": "Upgrade"}, `{"detail":"WebSocket upgrade required"}`},
		{"upgrade to something else", "GET", with(func(h http.Header) { h.Set("Upgrade", "h2c") }), 426,
			map[string]string{"Upgrade": "websocket", "Connection": "Upgrade"}, `{"detail":"WebSocket upgrade required"}`},
		{"Connection without Upgrade", "GET", with(func(h http.Header) { h.Set("Connection", "keep-alive") }), 426,
			map[string]string{"Upgrade": "websocket", "Connection": "Upgrade"}, `{"detail":"WebSocket upgrade required"}`},
		{"version 8", "GET", with(func(h http.Header) { h.Set("Sec-WebSocket-Version", "8") }), 400,
			map[string]string{"Sec-Websocket-Version": "13"}, `{"detail":"Unsupported WebSocket version: only 13 is supported"}`},
		{"no key", "GET", with(func(h http.Header) { h.Del("Sec-WebSocket-Key") }), 400,
			nil, `{"detail":"Missing or repeated Sec-WebSocket-Key"}`},
		{"two keys", "GET", with(func(h http.Header) { h.Add("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==") }), 400,
			nil, `{"detail":"Missing or repeated Sec-WebSocket-Key"}`},
		{"a key of 8 bytes", "GET", with(func(h http.Header) { h.Set("Sec-WebSocket-Key", "c2hvcnRrZXk=") }), 400,
			nil, `{"detail":"Invalid Sec-WebSocket-Key: want 16 bytes in base64"}`},
		{"foreign origin", "GET", with(func(h http.Header) { h.Set("Origin", "http://evil.example") }), 403,
			nil, `{"detail":"Origin not allowed"}`},
		{"origin that is no URL", "GET", with(func(h http.Header) { h.Set("Origin", "null") }), 403,
			nil, `{"detail":"Origin not allowed"}`},
	} {
		for _, path := range []string{"/ws/items", "/custom"} {
			t.Run(tc.name+" "+path, func(t *testing.T) {
				req, _ := http.NewRequest(tc.method, srv.URL+path, nil)
				req.Header = tc.header.Clone()
				res, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				defer res.Body.Close()
				body, _ := io.ReadAll(res.Body)
				if res.StatusCode != tc.status || string(body) != tc.body {
					t.Fatalf("got %d %s\nwant %d %s", res.StatusCode, body, tc.status, tc.body)
				}
				if ct := res.Header.Get("Content-Type"); ct != "application/json" {
					t.Fatalf("Content-Type %q, want application/json", ct)
				}
				for k, v := range tc.headers {
					if got := res.Header.Get(k); got != v {
						t.Fatalf("%s: %q, want %q", k, got, v)
					}
				}
			})
		}
	}
	if got := m.Stats().Refused; got != 4 {
		t.Fatalf("Refused = %d, want 4: the two foreign origins on each endpoint; malformed handshakes are bad requests", got)
	}
}

// An HTTP/1.0 request cannot upgrade: 426, in JSON, on a raw socket since
// Go's client speaks HTTP/1.1.
func TestHTTP10HandshakeIsRefusedWith426(t *testing.T) {
	_, _, srv := newServer(t)
	conn, err := net.Dial("tcp", strings.TrimPrefix(srv.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	io.WriteString(conn, "GET /ws/items HTTP/1.0\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n"+
		"Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n")
	res, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	if res.StatusCode != 426 || string(body) != `{"detail":"WebSocket upgrade required"}` || res.Header.Get("Upgrade") != "websocket" {
		t.Fatalf("got %d %v %s, want 426 with Upgrade: websocket", res.StatusCode, res.Header, body)
	}
}
