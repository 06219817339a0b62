package ws_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/fastapi-easy/easy-go/easy"
	"github.com/fastapi-easy/easy-go/easy/ws"
	"github.com/fastapi-easy/easy-go/internal/testkit"
)

func TestSendBroadcastAndCount(t *testing.T) {
	m := ws.NewManager(quiet)
	m.AddResource("items", nil)
	lobby := m.Handler("lobby", func(ctx context.Context, c *ws.Conn) error {
		_, err := c.Read(ctx)
		return err
	})
	srv := serve(t, m, map[string]http.Handler{"/lobby": lobby})
	a := dialReady(t, wsURL(srv, "/ws/items"))
	b := dial(t, wsURL(srv, "/lobby"))
	c := dial(t, wsURL(srv, "/lobby"))
	eventually(t, "three connections", func() bool { return m.Count() == 3 })

	conns := m.Conns()
	if err := m.Send(conns[1].ID(), []byte("to b")); err != nil {
		t.Fatal(err)
	}
	expect(t, b, "to b")
	if n := m.Broadcast("lobby", []byte("to the lobby")); n != 2 {
		t.Fatalf("Broadcast reached %d, want 2", n)
	}
	expect(t, b, "to the lobby")
	expect(t, c, "to the lobby")
	if n := m.Broadcast("items", []byte(`{"type":"notice"}`)); n != 1 {
		t.Fatalf("Broadcast to a resource reached %d, want 1", n)
	}
	expect(t, a, `{"type":"notice"}`)
	if n := m.BroadcastAll([]byte("to all")); n != 3 {
		t.Fatalf("BroadcastAll reached %d, want 3", n)
	}
	expect(t, a, "to all")
	expect(t, b, "to all")
	expect(t, c, "to all")
	if err := m.Send("no-such-id", []byte("x")); !errors.Is(err, ws.ErrUnknownConn) {
		t.Fatalf("Send to an unknown ID = %v, want ErrUnknownConn", err)
	}
	if n := m.Broadcast("nobody", []byte("x")); n != 0 {
		t.Fatalf("Broadcast to an empty group reached %d", n)
	}

	b.Close(websocket.StatusNormalClosure, "")
	eventually(t, "b is gone", func() bool { return m.Count() == 2 })
}

func TestConnectionMetadataAndHooks(t *testing.T) {
	type event struct {
		what, id, group string
		principal       any
		code            websocket.StatusCode
	}
	events := make(chan event, 4)
	m := ws.NewManager(quiet,
		ws.Authenticate(func(r *http.Request) (any, error) { return r.Header.Get("X-User"), nil }),
		ws.OnConnect(func(c *ws.Conn) {
			events <- event{"connect", c.ID(), c.Group(), c.Principal(), 0}
			c.Send([]byte(`{"type":"welcome"}`)) // comes before any event
		}),
		ws.OnDisconnect(func(c *ws.Conn, code websocket.StatusCode) {
			events <- event{"disconnect", c.ID(), c.Group(), c.Principal(), code}
		}))
	s := newStore(m)
	m.AddResource("items", s)
	srv := serve(t, m, nil)
	before := time.Now()

	c := dial(t, wsURL(srv, "/ws/items"), func(o *websocket.DialOptions) { o.HTTPHeader = http.Header{"X-User": {"alice"}} })
	expect(t, c, `{"type":"welcome"}`)
	if got, want := <-events, (event{"connect", "1", "items", "alice", 0}); got != want {
		t.Fatalf("OnConnect got %+v, want %+v", got, want)
	}
	conn := m.Conns()[0]
	if conn.ConnectedAt().Before(before) || conn.ConnectedAt().After(time.Now()) {
		t.Fatalf("ConnectedAt %v is not the time of the connection", conn.ConnectedAt())
	}
	if host := strings.Split(conn.RemoteAddr(), ":")[0]; host != "127.0.0.1" {
		t.Fatalf("RemoteAddr = %q, want the client's address", conn.RemoteAddr())
	}

	c.Close(4001, "going")
	if got, want := <-events, (event{"disconnect", "1", "items", "alice", 4001}); got != want {
		t.Fatalf("OnDisconnect got %+v, want %+v", got, want)
	}
	if conn.Context().Err() == nil {
		t.Fatal("the connection's context has not ended")
	}
	if err := conn.Send([]byte("late")); !errors.Is(err, ws.ErrClosed) {
		t.Fatalf("Send after close = %v, want ErrClosed", err)
	}
}

func TestStatsCountWhatHappened(t *testing.T) {
	m, s, srv := newServer(t, ws.MaxConnections(1))
	c := dialReady(t, wsURL(srv, "/ws/items")) // a pong: 1 message of 15 bytes
	refusal(t, wsURL(srv, "/ws/items"), nil)
	s.create("apple", 1)
	s.create("pear", 2)
	msgs := next(t, c) + next(t, c)

	want := ws.Stats{
		Connections:     1,
		EventsPublished: 2,
		MessagesSent:    3,
		BytesSent:       uint64(len(`{"type":"pong"}`) + len(msgs)),
		Refused:         1,
	}
	// The writer counts a message once it is written, which may be just
	// after the client has it.
	eventually(t, fmt.Sprintf("Stats = %+v", want), func() bool { return m.Stats() == want })
}

func TestPanickingHooksCloseOnlyTheirConnection(t *testing.T) {
	m, s, srv := newServer(t,
		ws.Authenticate(func(r *http.Request) (any, error) { return r.URL.Query().Get("user"), nil }),
		ws.Authorize(func(principal any, _ string, _ ws.Change) bool {
			if principal == "buggy" {
				panic("authorisation bug")
			}
			return true
		}))
	good := dialReady(t, wsURL(srv, "/ws/items?user=good"))
	buggy := dialReady(t, wsURL(srv, "/ws/items?user=buggy"))

	s.create("apple", 1)
	expectClose(t, buggy, websocket.StatusInternalError)
	ev := event(t, next(t, good))
	if ev.Type != ws.TypeCreate || ev.Seq != m.Seq("items") {
		t.Fatalf("the good connection got %+v", ev)
	}
}

func TestCompressionIsNegotiatedWhenEnabled(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts []ws.Option
		want string
	}{
		{"off by default", nil, ""},
		{"on", []ws.Option{ws.Compression(websocket.CompressionContextTakeover)}, "permessage-deflate"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, s, srv := newServer(t, tc.opts...)
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			c, resp, err := websocket.Dial(ctx, wsURL(srv, "/ws/items"),
				&websocket.DialOptions{CompressionMode: websocket.CompressionContextTakeover})
			if err != nil {
				t.Fatal(err)
			}
			defer c.CloseNow()
			if got := resp.Header.Get("Sec-WebSocket-Extensions"); !strings.HasPrefix(got, tc.want) || (tc.want == "") != (got == "") {
				t.Fatalf("Sec-WebSocket-Extensions = %q, want %q", got, tc.want)
			}
			send(t, c, `{"type":"ping"}`)
			expect(t, c, `{"type":"pong"}`)
			s.create(strings.Repeat("long name ", 100), 1)
			if ev := event(t, next(t, c)); ev.Seq != m.Seq("items") {
				t.Fatalf("got %+v", ev)
			}
		})
	}
}

func TestPublishToAnUnknownResourceIsDropped(t *testing.T) {
	m := ws.NewManager(quiet)
	m.Publish("ghosts", ws.Change{Op: ws.TypeCreate, Key: 1, Data: []byte(`{}`)})
	if st := m.Stats(); st.EventsPublished != 0 {
		t.Fatalf("EventsPublished = %d, want 0", st.EventsPublished)
	}
	if seq := m.Seq("ghosts"); seq != 0 {
		t.Fatalf("Seq = %d, want 0", seq)
	}
}

// The history keeps the latest events of a large batch, and only those:
// the rows of the rest of the batch can be freed.
func TestHistoryKeepsOnlyItsEventsOfABatch(t *testing.T) {
	m := ws.NewManager(quiet, ws.HistorySize(10))
	t.Cleanup(func() { m.Shutdown(context.Background()) })
	m.AddResource("items", nil)
	type row struct{ Payload [4096]byte }
	var freed atomic.Int64
	batch := make([]ws.Change, 100)
	for i := range batch {
		r := &row{}
		runtime.SetFinalizer(r, func(*row) { freed.Add(1) })
		batch[i] = ws.Change{Op: ws.TypeUpdate, Key: i, Row: r, Data: []byte(`{}`)}
	}
	m.Publish("items", batch...)
	eventually(t, "90 of the 100 rows are freed", func() bool {
		runtime.GC()
		return freed.Load() >= 90
	})
	if got := freed.Load(); got != 90 {
		t.Fatalf("%d rows freed, want 90: the history holds the last 10", got)
	}
}

func TestInvalidChangesAreSkippedWithoutTakingASeq(t *testing.T) {
	m, _, srv := newServer(t)
	c := dialReady(t, wsURL(srv, "/ws/items"))
	base := m.Seq("items")
	m.Publish("items",
		ws.Change{Op: "upsert", Key: 1, Data: []byte(`{}`)},
		ws.Change{Op: ws.TypeCreate, Key: 1},                          // no data
		ws.Change{Op: ws.TypeCreate, Key: 1, Data: []byte(`{broken`)}, // not JSON
		ws.Change{Op: ws.TypeCreate, Key: 2, Data: []byte(`{"id":2}`)})
	expect(t, c, fmt.Sprintf(`{"type":"create","resource":"items","id":2,"data":{"id":2},"seq":%d}`, base+1))
	if got := m.Stats().EventsPublished; got != 1 {
		t.Fatalf("EventsPublished = %d, want 1", got)
	}
}

func TestSetupMistakesPanic(t *testing.T) {
	newApp := func() *easy.App {
		app := easy.New(easy.DB(testkit.SQLite(t, nil)), easy.Logger(slog.New(slog.DiscardHandler)))
		t.Cleanup(func() { app.Close(context.Background()) })
		return app
	}
	for _, tc := range []struct {
		name string
		do   func()
		want string
	}{
		{"resource added twice", func() {
			m := ws.NewManager()
			m.AddResource("items", nil)
			m.AddResource("items", nil)
		}, `ws: resource "items" added twice`},
		{"resource without a name", func() { ws.NewManager().AddResource("", nil) }, "ws: AddResource with an empty name"},
		{"handler without a function", func() { ws.NewManager().Handler("chat", nil) }, "ws: Handler needs a group name and a HandlerFunc"},
		{"send queue of zero", func() { ws.NewManager(ws.SendQueue(0)) }, "ws: SendQueue(0): must be at least 1"},
		{"negative heartbeat", func() { ws.NewManager(ws.Heartbeat(-time.Second)) }, "ws: Heartbeat(-1s): negative interval"},
		{"rate that is not a number", func() { ws.NewManager(ws.RateLimit(math.NaN(), 1)) }, "ws: RateLimit(NaN, 1): need a rate >= 0 and a burst >= 1"},
		{"nil broker", func() { ws.NewManager(ws.ShareVia(nil)) }, "ws: ShareVia(nil)"},
		{"send queue of zero bytes", func() { ws.NewManager(ws.SendQueueBytes(0)) }, "ws: SendQueueBytes(0): must be at least 1"},
		{"no snapshots", func() { ws.NewManager(ws.MaxSnapshots(0)) }, "ws: MaxSnapshots(0): must be at least 1"},
		{"close timeout of zero", func() { ws.NewManager(ws.CloseTimeout(0)) }, "ws: CloseTimeout(0s): must be positive"},
		{"snapshot timeout of zero", func() { ws.NewManager(ws.SnapshotTimeout(0)) }, "ws: SnapshotTimeout(0s): must be positive"},
		{"negative connections per address", func() { ws.NewManager(ws.MaxConnectionsPerIP(-1)) }, "ws: MaxConnectionsPerIP(-1): negative"},
		{"malformed origin pattern", func() { ws.NewManager(ws.AllowedOrigins("*.ex[ample")) }, `ws: AllowedOrigins("*.ex[ample"): syntax error in pattern`},
		{"client read limit of zero", func() { ws.Dial(context.Background(), "ws://127.0.0.1:1/ws/items", ws.DialReadLimit(0)) }, "ws: DialReadLimit(0): must be positive"},
		{"negative client heartbeat timeout", func() {
			ws.Dial(context.Background(), "ws://127.0.0.1:1/ws/items", ws.DialHeartbeatTimeout(-time.Second))
		}, "ws: DialHeartbeatTimeout(-1s): negative"},
		{"nil HTTP client", func() { ws.Dial(context.Background(), "ws://127.0.0.1:1/ws/items", ws.DialHTTPClient(nil)) }, "ws: DialHTTPClient(nil)"},
		{"an option among the models", func() { ws.Setup(newApp(), Product{}, ws.Heartbeat(0)) }, "ws: Watch: an Option among the models: give options to NewManager"},
		{"a value that is not a model", func() { ws.Setup(newApp(), 42) }, "ws: Watch: int is not a model struct"},
		{"Watch after AddResource", func() {
			m := ws.NewManager()
			m.AddResource("items", nil)
			m.Watch(newApp(), Product{})
		}, "ws: Watch: the Manager has resources already: call Watch once, before AddResource"},
		{"Watch twice", func() {
			m := ws.NewManager(quiet)
			m.Watch(newApp(), Product{})
			m.Watch(newApp(), Note{})
		}, "ws: Watch: the Manager has resources already: call Watch once, before AddResource"},
		{"resource after Shutdown", func() {
			m := ws.NewManager()
			m.Shutdown(context.Background())
			m.AddResource("items", nil)
		}, `ws: AddResource("items") after Shutdown`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			defer func() {
				if got := fmt.Sprint(recover()); got != tc.want {
					t.Fatalf("panic %q, want %q", got, tc.want)
				}
			}()
			tc.do()
		})
	}
}

func TestGoroutinesAreReleased(t *testing.T) {
	before := runtime.NumGoroutine()
	m := ws.NewManager(quiet, ws.Heartbeat(10*time.Millisecond))
	m.AddResource("items", newStore(m))
	echo := m.Handler("echo", func(ctx context.Context, c *ws.Conn) error {
		for {
			msg, err := c.Read(ctx)
			if err != nil {
				return err
			}
			c.Send(msg)
		}
	})
	srv := serve(t, m, map[string]http.Handler{"/echo": echo})
	idle := runtime.NumGoroutine() // the server's and the fan-out goroutine

	open := func(n int) []*websocket.Conn {
		var conns []*websocket.Conn
		for i := range n {
			path := "/ws/items"
			if i%2 == 1 {
				path = "/echo"
			}
			c := dial(t, wsURL(srv, path))
			// Read in the background, as clients do, so pings are answered.
			go func() {
				for {
					if _, _, err := c.Read(context.Background()); err != nil {
						return
					}
				}
			}()
			conns = append(conns, c)
		}
		eventually(t, "all connected", func() bool { return m.Count() == n })
		return conns
	}

	// The clients leave: the server is back to its idle goroutines.
	var wg sync.WaitGroup
	for _, c := range open(20) {
		wg.Go(func() { c.Close(websocket.StatusNormalClosure, "") })
	}
	wg.Wait()
	eventually(t, "all disconnected", func() bool { return m.Count() == 0 })
	goroutinesBack(t, idle)

	// Shutdown with clients connected: nothing is left.
	open(20)
	if err := m.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	srv.Close()
	goroutinesBack(t, before)
}
