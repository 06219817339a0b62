package ws_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/fastapi-easy/easy-go/easy/ws"
)

// A peer that stops reading is dropped once a write has waited the write
// timeout for it: the socket's buffers fill, the write blocks, and the
// deadline ends it with 1006 (a peer that reads nothing cannot take part
// in a close handshake).
func TestPeerThatStopsReadingIsDroppedAfterTheWriteTimeout(t *testing.T) {
	const timeout = 300 * time.Millisecond
	codes := make(chan websocket.StatusCode, 1)
	m := ws.NewManager(quiet, smallSocket, ws.Heartbeat(0), ws.SendQueue(1000), ws.WriteTimeout(timeout), ws.CloseTimeout(30*time.Second),
		ws.OnDisconnect(func(_ *ws.Conn, code websocket.StatusCode) { codes <- code }))
	s := newStore(m)
	m.AddResource("items", s)
	srv := httptest.NewServer(m)
	t.Cleanup(func() { m.Shutdown(context.Background()); srv.Close() })
	dialStuck(t, wsURL(srv, "/ws/items"))

	// 300 events of 2 KB: more than the sockets take, less than the send
	// queue holds, so that the write timeout and not the queue drops it.
	start := time.Now()
	for i := range 300 {
		s.create(strings.Repeat("x", 2000), float64(i))
	}
	select {
	case code := <-codes:
		if code != websocket.StatusAbnormalClosure {
			t.Fatalf("dropped with %v, want 1006", code)
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("the peer that reads nothing is still connected after 10 s (write timeout %v)", timeout)
	}
	if waited := time.Since(start); waited < timeout {
		t.Errorf("dropped after %v, before the write timeout %v", waited, timeout)
	}
	eventually(t, "the connection is released", func() bool { return m.Count() == 0 })
}

// The write timeout bounds each write, not the connection's life: a
// client that stays idle for longer than the timeout between messages
// still gets the next ones, and the close handshake after them.
func TestIdleLongerThanTheWriteTimeoutKeepsTheConnection(t *testing.T) {
	const timeout = 100 * time.Millisecond
	m, s, srv := newServer(t, ws.Heartbeat(0), ws.WriteTimeout(timeout))
	c := dial(t, wsURL(srv, "/ws/items"))
	for range 3 {
		send(t, c, `{"type":"ping"}`)
		expect(t, c, `{"type":"pong"}`)
		time.Sleep(3 * timeout)
	}
	s.create("apple", 1)
	expect(t, c, fmt.Sprintf(`{"type":"create","resource":"items","id":1,"data":{"id":1,"name":"apple","price":1},"seq":%d}`, m.Seq("items")))
	if n := m.Count(); n != 1 {
		t.Fatalf("%d connections, want 1", n)
	}
	time.Sleep(3 * timeout)
	go m.Shutdown(context.Background())
	expectClose(t, c, websocket.StatusGoingAway)
}
