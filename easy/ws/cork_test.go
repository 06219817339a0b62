package ws_test

import (
	"fmt"
	"net"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/fastapi-easy/easy-go/easy/ws"
)

// The messages a writer takes from the queue at once reach the socket in
// one write, not one write each: 20 messages queued before the writer
// starts (by OnConnect) are one Write on the server's side of a real
// connection, after the one of the 101 response, and stop counting as
// queued once the socket has them.
func TestABatchIsOneWriteToTheSocket(t *testing.T) {
	const n = 20
	var want []string
	for i := range n {
		want = append(want, fmt.Sprintf(`{"type":"note","n":%d,"pad":"%s"}`, i, strings.Repeat("x", 100)))
	}
	m := ws.NewManager(quiet, ws.Heartbeat(0), ws.OnConnect(func(c *ws.Conn) {
		for _, msg := range want {
			if err := c.Send([]byte(msg)); err != nil {
				t.Error(err)
			}
		}
	}))
	m.AddResource("items", newStore(m))
	srv := httptest.NewUnstartedServer(m)
	ln := &countingListener{Listener: srv.Listener}
	srv.Listener = ln
	srv.Start()
	t.Cleanup(func() { m.Shutdown(t.Context()); srv.Close() })

	c := dial(t, wsURL(srv, "/ws/items"))
	expect(t, c, want...)
	writes := ln.writes()
	if len(writes) != 2 || !strings.HasPrefix(writes[0], "HTTP/1.1 101") {
		t.Fatalf("the server wrote %d times, want twice (the 101, then the %d messages): %q", len(writes), n, writes)
	}
	for _, msg := range want {
		if !strings.Contains(writes[1], msg) {
			t.Fatalf("the second write does not hold %s", msg)
		}
	}
	// What the client has read no longer counts as queued.
	if q := m.Conns()[0].Queued(); q != 0 {
		t.Errorf("Queued() = %d after the client read everything, want 0", q)
	}
}

// countingListener keeps what each Write on the connections it accepted
// wrote.
type countingListener struct {
	net.Listener
	mu    sync.Mutex
	wrote []string
}

func (l *countingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return countedConn{c, l}, nil
}

func (l *countingListener) writes() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.wrote...)
}

type countedConn struct {
	net.Conn
	l *countingListener
}

func (c countedConn) Write(p []byte) (int, error) {
	c.l.mu.Lock()
	c.l.wrote = append(c.l.wrote, string(p))
	c.l.mu.Unlock()
	return c.Conn.Write(p)
}

// A client that closes while the writer is inside a large batch gets the
// answer to its close frame after the messages the server had corked:
// the close handshake completes, and the server reports the client's
// code.
func TestCloseDuringABatch(t *testing.T) {
	codes := make(chan websocket.StatusCode, 1)
	msg := []byte(fmt.Sprintf(`{"type":"note","pad":"%s"}`, strings.Repeat("x", 1000)))
	m := ws.NewManager(quiet, smallSocket, ws.Heartbeat(0), ws.SendQueue(1000),
		ws.OnConnect(func(c *ws.Conn) {
			for range 500 { // 500 KB: many writes of the cork, more than the socket takes
				if err := c.Send(msg); err != nil {
					t.Error(err)
				}
			}
		}),
		ws.OnDisconnect(func(_ *ws.Conn, code websocket.StatusCode) { codes <- code }))
	m.AddResource("items", newStore(m))
	srv := httptest.NewServer(m)
	t.Cleanup(func() { m.Shutdown(t.Context()); srv.Close() })

	c := dial(t, wsURL(srv, "/ws/items"))
	expect(t, c, string(msg))
	if err := c.Close(websocket.StatusNormalClosure, "bye"); err != nil {
		t.Fatalf("close handshake: %v", err)
	}
	select {
	case code := <-codes:
		if code != websocket.StatusNormalClosure {
			t.Errorf("the server reports %v, want 1000", code)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the server did not release the connection")
	}
}
