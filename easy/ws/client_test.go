package ws_test

import (
	"context"
	"errors"
	"net"
	"net/http"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/fastapi-easy/easy-go/easy/ws"
)

// restartable serves a handler on a fixed address and can go away and
// come back there, dropping every connection as a crashed server would.
type restartable struct {
	t     *testing.T
	addr  string
	mu    sync.Mutex
	srv   *http.Server
	conns []net.Conn
}

func newRestartable(t *testing.T, h http.Handler) *restartable {
	r := &restartable{t: t, addr: "127.0.0.1:0"}
	r.start(h)
	t.Cleanup(r.stop)
	return r
}

func (r *restartable) start(h http.Handler) {
	ln, err := net.Listen("tcp", r.addr)
	if err != nil {
		r.t.Fatal(err)
	}
	r.addr = ln.Addr().String()
	srv := &http.Server{Handler: h, ConnState: func(c net.Conn, s http.ConnState) {
		if s == http.StateNew {
			r.mu.Lock()
			r.conns = append(r.conns, c)
			r.mu.Unlock()
		}
	}}
	r.mu.Lock()
	r.srv = srv
	r.mu.Unlock()
	go srv.Serve(ln)
}

// stop closes the listener and every connection, hijacked ones included.
func (r *restartable) stop() {
	r.mu.Lock()
	srv, conns := r.srv, r.conns
	r.conns = nil
	r.mu.Unlock()
	srv.Close() // waits for ConnState, which takes r.mu
	for _, c := range conns {
		c.Close()
	}
}

func (r *restartable) url() string { return "ws://" + r.addr + "/ws/items" }

func dialClient(t *testing.T, url string, opts ...ws.DialOption) *ws.Client {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	opts = append([]ws.DialOption{ws.DialBackoff(10*time.Millisecond, 50*time.Millisecond)}, opts...)
	c, err := ws.Dial(ctx, url, opts...)
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// nextEvent waits for the client's next event.
func nextEvent(t *testing.T, c *ws.Client) ws.Event {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ev, err := c.Next(ctx)
	if err != nil {
		t.Fatalf("Next: %v", err)
	}
	return ev
}

func expectEvent(t *testing.T, c *ws.Client, typ string, seq uint64) ws.Event {
	t.Helper()
	ev := nextEvent(t, c)
	if ev.Type != typ || ev.Seq != seq {
		t.Fatalf("got %s %d (%s), want %s %d", ev.Type, ev.Seq, ev.Data, typ, seq)
	}
	return ev
}

func TestClientSubscribesAndReceivesTypedEvents(t *testing.T) {
	m, s, srv := newServer(t)
	s.create("apple", 10.5)
	s.create("pear", 3)
	c := dialClient(t, wsURL(srv, "/ws/items"))

	if err := c.Subscribe(context.Background(), map[string]string{"price__gt": "5"}, 10); err != nil {
		t.Fatal(err)
	}
	seq := m.Seq("items")
	var rows []item
	if err := expectEvent(t, c, ws.TypeInitial, seq).Decode(&rows); err != nil {
		t.Fatal(err)
	}
	if len(rows) != 1 || rows[0] != (item{1, "apple", 10.5}) {
		t.Fatalf("initial rows = %+v, want apple only", rows)
	}

	s.create("melon", 20)
	var it item
	ev := expectEvent(t, c, ws.TypeCreate, seq+1)
	if err := ev.Decode(&it); err != nil || it != (item{3, "melon", 20}) || string(ev.ID) != "3" || ev.Resource != "items" {
		t.Fatalf("create event %+v decoded to %+v, %v", ev, it, err)
	}
	if got, ok := c.Seq(); got != seq+1 || !ok {
		t.Fatalf("Seq() = %d, %t; want %d, true", got, ok, seq+1)
	}
}

func TestClientReconnectsAndResumesAfterServerRestart(t *testing.T) {
	m := ws.NewManager(quiet)
	s := newStore(m)
	m.AddResource("items", s)
	t.Cleanup(func() { m.Shutdown(context.Background()) })
	server := newRestartable(t, m)
	c := dialClient(t, server.url())

	c.Subscribe(context.Background(), nil, 0)
	seq := m.Seq("items")
	expectEvent(t, c, ws.TypeInitial, seq)
	s.create("apple", 1)
	expectEvent(t, c, ws.TypeCreate, seq+1)

	server.stop()
	s.create("pear", 2) // published while the client is away
	s.update(1, 3)
	server.start(m) // the same address, the same Manager and history

	expectEvent(t, c, ws.TypeCreate, seq+2)
	expectEvent(t, c, ws.TypeUpdate, seq+3)
	s.create("plum", 4)
	expectEvent(t, c, ws.TypeCreate, seq+4)
}

func TestClientReportsResetWhenTheServerLostItsHistory(t *testing.T) {
	m := ws.NewManager(quiet)
	s := newStore(m)
	m.AddResource("items", s)
	t.Cleanup(func() { m.Shutdown(context.Background()) })
	server := newRestartable(t, m)
	c := dialClient(t, server.url())
	c.Subscribe(context.Background(), nil, 0)
	expectEvent(t, c, ws.TypeInitial, m.Seq("items"))
	s.create("apple", 1)
	nextEvent(t, c)

	// A new process: a new Manager with an empty history on the same address.
	server.stop()
	m2 := ws.NewManager(quiet)
	s2 := newStore(m2)
	m2.AddResource("items", s2)
	t.Cleanup(func() { m2.Shutdown(context.Background()) })
	s2.create("kiwi", 5)
	server.start(m2)

	if ev := nextEvent(t, c); ev.Type != ws.TypeReset || ev.Resource != "items" {
		t.Fatalf("got %+v, want a reset of items", ev)
	}
	if _, ok := c.Seq(); ok {
		t.Fatal("the client still claims a seq after a reset")
	}
	if err := c.Subscribe(context.Background(), nil, 0); err != nil {
		t.Fatal(err)
	}
	var rows []item
	expectEvent(t, c, ws.TypeInitial, m2.Seq("items")).Decode(&rows)
	if len(rows) != 1 || rows[0].Name != "kiwi" {
		t.Fatalf("initial after reset = %+v, want the new server's kiwi", rows)
	}
}

func TestClientStopsWhenTheServerRefusesIt(t *testing.T) {
	var refuse atomic.Bool
	m := ws.NewManager(quiet, ws.Authenticate(func(*http.Request) (any, error) {
		if refuse.Load() {
			return nil, errNope
		}
		return nil, nil
	}))
	m.AddResource("items", newStore(m))
	t.Cleanup(func() { m.Shutdown(context.Background()) })
	server := newRestartable(t, m)

	refuse.Store(true)
	_, err := ws.Dial(context.Background(), server.url())
	var he *ws.HandshakeError
	if !errors.As(err, &he) || he.Status != http.StatusForbidden || err.Error() != "ws: handshake refused with 403 Forbidden" {
		t.Fatalf("Dial = %v, want a 403 HandshakeError", err)
	}

	refuse.Store(false)
	c := dialClient(t, server.url())
	refuse.Store(true)
	server.stop()
	server.start(m)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := c.Next(ctx); !errors.As(err, &he) || he.Status != http.StatusForbidden {
		t.Fatalf("Next after a refused reconnect = %v, want a 403 HandshakeError", err)
	}
	if !errors.As(c.Err(), &he) {
		t.Fatalf("Err() = %v, want the HandshakeError", c.Err())
	}
}

// A 429 (the client's address holds its share of connections) says to
// come back later: Dial reports it, and a client that is reconnecting
// keeps trying until a slot is free, then resumes.
func TestClientRetriesWhileItsAddressIsFull(t *testing.T) {
	m := ws.NewManager(quiet, ws.MaxConnectionsPerIP(1))
	s := newStore(m)
	m.AddResource("items", s)
	t.Cleanup(func() { m.Shutdown(context.Background()) })
	server := newRestartable(t, forwarded(m))
	client := http.Header{"X-Forwarded-For": {"192.0.2.1"}}
	block := func() *websocket.Conn {
		c := dial(t, server.url(), func(o *websocket.DialOptions) { o.HTTPHeader = client })
		send(t, c, `{"type":"ping"}`)
		expect(t, c, `{"type":"pong"}`)
		return c
	}

	blocker := block()
	_, err := ws.Dial(context.Background(), server.url(), ws.DialHeader(client))
	var he *ws.HandshakeError
	if !errors.As(err, &he) || he.Status != http.StatusTooManyRequests {
		t.Fatalf("Dial = %v, want a 429 HandshakeError", err)
	}
	blocker.Close(websocket.StatusNormalClosure, "")
	eventually(t, "the slot is free", func() bool { return m.Count() == 0 })

	c := dialClient(t, server.url(), ws.DialHeader(client), ws.DialBackoff(200*time.Millisecond, 400*time.Millisecond))
	s.create("apple", 1)
	expectEvent(t, c, ws.TypeCreate, m.Seq("items"))
	server.stop()
	server.start(forwarded(m))
	eventually(t, "the dropped connection is gone", func() bool { return m.Count() == 0 })
	blocker = block() // while c waits to reconnect
	// Dial's refusal, then c's.
	eventually(t, "c is refused", func() bool { return m.Stats().Refused >= 2 })
	s.create("pear", 2)
	blocker.Close(websocket.StatusNormalClosure, "")
	expectEvent(t, c, ws.TypeCreate, m.Seq("items"))
	if err := c.Err(); err != nil {
		t.Fatalf("Err() = %v, want nil: the client goes on", err)
	}
}

func TestClientStopsWhenClosedForPolicy(t *testing.T) {
	_, _, srv := newServer(t, ws.Authenticate(func(*http.Request) (any, error) {
		return session{time.Now().Add(50 * time.Millisecond)}, nil
	}))
	c := dialClient(t, wsURL(srv, "/ws/items"))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := c.Next(ctx); websocket.CloseStatus(err) != websocket.StatusPolicyViolation {
		t.Fatalf("Next = %v, want the 1008 close", err)
	}
}

func TestClientReconnectsWhenTheServerFallsSilent(t *testing.T) {
	var connects atomic.Int32
	m, s, srv := newServer(t, ws.Heartbeat(0), ws.OnConnect(func(*ws.Conn) { connects.Add(1) }))
	c := dialClient(t, wsURL(srv, "/ws/items"), ws.DialHeartbeatTimeout(100*time.Millisecond))
	c.Subscribe(context.Background(), nil, 0)
	seq := m.Seq("items")
	expectEvent(t, c, ws.TypeInitial, seq)

	eventually(t, "the client reconnects", func() bool { return connects.Load() >= 2 })
	s.create("apple", 1)
	expectEvent(t, c, ws.TypeCreate, seq+1)
}

func TestClientCloseIsCleanAndReleasesGoroutines(t *testing.T) {
	codes := make(chan websocket.StatusCode, 1)
	_, _, srv := newServer(t, ws.OnDisconnect(func(_ *ws.Conn, code websocket.StatusCode) { codes <- code }))
	before := runtime.NumGoroutine()
	ctx := context.Background()
	c, err := ws.Dial(ctx, wsURL(srv, "/ws/items"))
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if code := <-codes; code != websocket.StatusNormalClosure {
		t.Fatalf("the server saw close code %v, want 1000", code)
	}
	if _, err := c.Next(ctx); !errors.Is(err, ws.ErrClosed) {
		t.Fatalf("Next after Close = %v, want ErrClosed", err)
	}
	if err := c.Subscribe(ctx, nil, 0); err == nil {
		t.Fatal("Subscribe after Close succeeded")
	}
	if err := c.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	goroutinesBack(t, before)
}

// TestClientKeepsOnlyTheFiltersTheServerAccepted: a subscribe the server
// answers with an error changes nothing the client resumes with, so a
// reconnect after it is not refused (a filter the server refuses in the
// handshake is a 422, which stops the client for good), and a refused
// subscribe is not sent again.
func TestClientKeepsOnlyTheFiltersTheServerAccepted(t *testing.T) {
	m := ws.NewManager(quiet)
	s := newStore(m)
	m.AddResource("items", s)
	t.Cleanup(func() { m.Shutdown(context.Background()) })
	server := newRestartable(t, m)
	s.create("apple", 1)
	s.create("pear", 10)
	c := dialClient(t, server.url())

	if err := c.Subscribe(context.Background(), map[string]string{"price__gt": "5"}, 0); err != nil {
		t.Fatal(err)
	}
	seq := m.Seq("items")
	expectEvent(t, c, ws.TypeInitial, seq)
	if err := c.Subscribe(context.Background(), map[string]string{"nosuch": "1"}, 0); err != nil {
		t.Fatal(err)
	}
	if ev := nextEvent(t, c); ev.Type != ws.TypeError {
		t.Fatalf("got %s %s, want the error that answers a bad filter", ev.Type, ev.Data)
	}

	server.stop()
	s.create("plum", 20) // matches the filter in force
	s.create("fig", 2)   // does not
	server.start(m)

	// The client resumes with the filter the server accepted: the plum
	// only, and no second answer to the refused subscribe.
	if ev := expectEvent(t, c, ws.TypeCreate, seq+1); string(ev.ID) != "3" {
		t.Fatalf("got the create of %s, want the plum (3)", ev.ID)
	}
	s.create("kiwi", 30)
	if ev := expectEvent(t, c, ws.TypeCreate, seq+3); string(ev.ID) != "5" {
		t.Fatalf("got the create of %s, want the kiwi (5)", ev.ID)
	}
}
