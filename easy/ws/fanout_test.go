package ws_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
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

// churn runs n random creates, updates and deletes on s from each of
// writers goroutines, pausing now and then so that readers keep up, and
// closes the returned channel when all are done.
func churn(s *store, writers, n int) <-chan struct{} {
	done := make(chan struct{})
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			for i := range n {
				s.mu.Lock()
				id := rand.IntN(s.next + 1)
				s.mu.Unlock()
				switch rand.IntN(4) {
				case 0:
					s.create(fmt.Sprintf("w%d-%d-%s", w, i, []string{"odd", "even"}[i%2]), float64(i))
				case 1:
					s.delete(id)
				default:
					s.update(id, float64(i))
				}
				if i%5 == 0 {
					time.Sleep(100 * time.Microsecond)
				}
			}
		})
	}
	go func() { wg.Wait(); close(done) }()
	return done
}

func TestSnapshotThenLiveEventsHaveNoGapAndNoRepeat(t *testing.T) {
	for _, tc := range []struct {
		name   string
		filter string
		match  func(*item) bool
	}{
		{"all rows", "", func(*item) bool { return true }},
		{"filtered", `,"filter":{"name__like":"even"}`, func(it *item) bool { return strings.Contains(it.Name, "even") }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, s, srv := newServer(t, ws.SendQueue(1<<14), ws.RateLimit(0, 0))
			for i := range 20 {
				s.create(fmt.Sprintf("seed-%d-%s", i, []string{"odd", "even"}[i%2]), float64(i))
			}
			c := dialReady(t, wsURL(srv, "/ws/items"))
			done := churn(s, 2, 1500)

			// passes reports whether the logged change is one the
			// subscriber must receive: it matches, or it is a delete.
			passes := func(l logged) bool { return l.change.Row == nil || tc.match(l.change.Row.(*item)) }
			for round := 0; ; round++ {
				send(t, c, `{"type":"subscribe"`+tc.filter+`}`)
				var initial ws.Event
				for initial.Type != ws.TypeInitial {
					// Events of the stream before the initial message may come first.
					initial = event(t, next(t, c))
				}
				var rows []item
				if err := initial.Decode(&rows); err != nil {
					t.Fatal(err)
				}
				state := make(map[int]item)
				for _, it := range rows {
					state[it.ID] = it
				}

				// pos is the index in the log of the next event the
				// subscriber must get: the first one after the initial's seq
				// that passes its filter.
				s.mu.Lock()
				pos := 0
				for pos < len(s.log) && s.log[pos].seq <= initial.Seq {
					pos++
				}
				s.mu.Unlock()
				for n := 0; ; n++ {
					finished := closed(done) // before looking at the log, which is then complete
					s.mu.Lock()
					for pos < len(s.log) && !passes(s.log[pos]) {
						pos++
					}
					caughtUp := pos == len(s.log)
					var want logged
					if !caughtUp {
						want = s.log[pos]
					}
					s.mu.Unlock()
					if caughtUp && finished {
						if round == 0 {
							t.Fatal("no second subscribe happened while publishing")
						}
						if want := s.snapshotRows(filter{tc.match}); !maps.Equal(state, want) {
							t.Fatalf("after %d rounds the subscriber's rows differ from the store's: %s", round, diff(state, want))
						}
						return
					}
					if caughtUp {
						time.Sleep(time.Millisecond) // nothing to read until the writers publish again
						continue
					}
					if n >= 40 {
						break // subscribe again while the writers go on
					}
					ev := event(t, next(t, c))
					if ev.Seq != want.seq || ev.Type != want.change.Op {
						t.Fatalf("round %d, after initial %d: got %s %d, want %s %d",
							round, initial.Seq, ev.Type, ev.Seq, want.change.Op, want.seq)
					}
					pos++
					var id int
					json.Unmarshal(ev.ID, &id)
					if ev.Type == ws.TypeDelete {
						delete(state, id)
						continue
					}
					var it item
					if err := ev.Decode(&it); err != nil {
						t.Fatal(err)
					}
					state[id] = it
				}
			}
		})
	}
}

func TestResumeUnderConcurrentPublishHasNoGapAndNoRepeat(t *testing.T) {
	m, s, srv := newServer(t, ws.SendQueue(1<<14))
	c := dialReady(t, wsURL(srv, "/ws/items"))
	first := m.Seq("items") + 1
	done := churn(s, 1, 3000)

	last := first - 1
	for reconnects := 0; ; {
		finished := closed(done) // before reading the seq, which is then the last
		if last == m.Seq("items") {
			if finished {
				if reconnects < 5 {
					t.Fatalf("only %d reconnects happened while publishing", reconnects)
				}
				return
			}
			time.Sleep(time.Millisecond) // nothing to read until the writer publishes again
			continue
		}
		ev := event(t, next(t, c))
		if ev.Seq != last+1 {
			t.Fatalf("after %d reconnects got seq %d, want %d", reconnects, ev.Seq, last+1)
		}
		last = ev.Seq
		if (last-first)%300 == 299 {
			c.Close(websocket.StatusNormalClosure, "")
			c = dial(t, wsURL(srv, fmt.Sprintf("/ws/items?since=%d", last)))
			reconnects++
		}
	}
}

func closed(done <-chan struct{}) bool {
	select {
	case <-done:
		return true
	default:
		return false
	}
}

// smallSocket makes the server's socket buffers small, so that a client
// that does not read fills them after a few messages.
var smallSocket = ws.SocketSendBuffer(8 << 10)

// dialStuck connects a client with a small socket buffer that follows the
// resource at url and, once its pong is in, reads nothing more.
func dialStuck(t testing.TB, url string) *websocket.Conn {
	t.Helper()
	c := dial(t, url, func(o *websocket.DialOptions) {
		o.HTTPClient = &http.Client{Transport: &http.Transport{
			DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
				c, err := (&net.Dialer{}).DialContext(ctx, network, addr)
				if err == nil {
					c.(*net.TCPConn).SetReadBuffer(4 << 10)
				}
				return c, err
			},
		}}
	})
	send(t, c, `{"type":"ping"}`)
	expect(t, c, `{"type":"pong"}`)
	return c
}

func TestSlowConsumerIsClosedWith1013WhileOthersGetEveryEvent(t *testing.T) {
	var mu sync.Mutex
	codes := make(map[string]websocket.StatusCode)
	m := ws.NewManager(quiet, smallSocket, ws.SendQueue(32), ws.WriteTimeout(30*time.Second), ws.CloseTimeout(30*time.Second),
		ws.OnDisconnect(func(c *ws.Conn, code websocket.StatusCode) {
			mu.Lock()
			codes[c.ID()] = code
			mu.Unlock()
		}))
	s := newStore(m)
	m.AddResource("items", s)
	srv := httptest.NewServer(m)
	t.Cleanup(func() { m.Shutdown(context.Background()); srv.Close() })
	url := wsURL(srv, "/ws/items")

	slow := dialStuck(t, url)
	slowID := m.Conns()[0].ID()

	const fast = 100
	base := m.Seq("items")
	var received [fast]atomic.Uint64 // the last seq each fast client got
	var readers sync.WaitGroup
	failures := make(chan error, fast)
	for i := range fast {
		c := dialReady(t, url)
		readers.Go(func() {
			for want := base + 1; ; want++ {
				_, b, err := c.Read(context.Background())
				if err != nil {
					return // the test is over
				}
				var ev ws.Event
				json.Unmarshal(b, &ev)
				if ev.Seq != want {
					failures <- fmt.Errorf("fast client %d got %s, want seq %d", i, b, want)
					return
				}
				received[i].Store(ev.Seq)
			}
		})
	}

	payload := strings.Repeat("x", 1024)
	var slowest time.Duration
	publish := func(n int) {
		for range n {
			start := time.Now()
			s.create(payload, 1)
			slowest = max(slowest, time.Since(start))
		}
		eventually(t, "the fast clients got every event", func() bool {
			select {
			case err := <-failures:
				t.Fatal(err)
			default:
			}
			for i := range received {
				if received[i].Load() != m.Seq("items") {
					return false
				}
			}
			return true
		})
	}
	for m.Stats().DroppedSlow == 0 {
		if m.Seq("items")-base > 5000 {
			t.Fatal("5000 events published and the slow client is still open")
		}
		publish(8)
	}
	publish(20) // the others go on as before

	if slowest > time.Second {
		t.Fatalf("a Publish took %v while a client was stuck", slowest)
	}
	if got := m.Stats().DroppedSlow; got != 1 {
		t.Fatalf("DroppedSlow = %d, want 1", got)
	}
	// What the server wrote before it gave up is still on its way; then
	// comes the close frame.
	expectClose(t, slow, websocket.StatusTryAgainLater)
	eventually(t, "the slow connection is gone", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return codes[slowID] == websocket.StatusTryAgainLater
	})
	if st := m.Stats(); st.Connections != fast || st.DroppedSlow != 1 {
		t.Fatalf("Stats = %+v, want %d connections and DroppedSlow 1", st, fast)
	}
	for i := range fast {
		if got := received[i].Load(); got != m.Seq("items") {
			t.Fatalf("fast client %d stopped at %d of %d", i, got, m.Seq("items"))
		}
	}
	m.Shutdown(context.Background())
	readers.Wait()
}

// diff lists the rows that differ between the subscriber's and the store's.
func diff(got, want map[int]item) string {
	var b strings.Builder
	for id, it := range got {
		if w, ok := want[id]; !ok || w != it {
			fmt.Fprintf(&b, "\n  id %d: subscriber %+v, store %+v (present %t)", id, it, w, ok)
		}
	}
	for id, w := range want {
		if _, ok := got[id]; !ok {
			fmt.Fprintf(&b, "\n  id %d: subscriber lacks %+v", id, w)
		}
	}
	return b.String()
}

// TestSlowConsumerDoesNotHoldUpWritesThroughTheAPI writes through a CRUD
// route of a real App while one client reads nothing: every POST is
// answered (each has a deadline far above its usual time, so one that
// waited for the stuck client fails the test rather than hanging it), the
// stuck client is closed with 1013, and a client that reads gets every
// event. BenchmarkPostWithStalledClient measures that the writes are not
// slowed.
func TestSlowConsumerDoesNotHoldUpWritesThroughTheAPI(t *testing.T) {
	app := easy.New(easy.DB(testkit.SQLite(t, nil)), easy.Logger(slog.New(slog.DiscardHandler)))
	app.Include(easy.CRUDRouter[Product]())
	// A queue deep enough that the reading client, which the POSTs do not
	// wait for, never falls that far behind; the stuck one fills it.
	m := ws.NewManager(ws.Heartbeat(0), smallSocket, ws.SendQueue(256), ws.WriteTimeout(30*time.Second), ws.CloseTimeout(30*time.Second))
	m.Watch(app, Product{})
	srv := httptest.NewServer(app)
	t.Cleanup(func() { app.Close(context.Background()); srv.Close() })
	url := wsURL(srv, "/ws/products")

	slow := dialStuck(t, url)
	slowID := m.Conns()[0].ID()

	reader := dialReady(t, url)
	var received atomic.Int64
	var closing atomic.Bool
	failures := make(chan error, 1)
	done := make(chan struct{})
	first := m.Seq("products") + 1
	go func() {
		defer close(done)
		for want := first; ; want++ {
			_, b, err := reader.Read(context.Background())
			if err != nil {
				if !closing.Load() {
					failures <- fmt.Errorf("the reading client's connection ended: %w", err)
				}
				return
			}
			var ev ws.Event
			if err := json.Unmarshal(b, &ev); err != nil || ev.Type != ws.TypeCreate || ev.Seq != want {
				failures <- fmt.Errorf("the reading client got %.80s, want a create with seq %d", b, want)
				return
			}
			received.Add(1)
		}
	}()

	body := fmt.Sprintf(`{"name":%q,"price":1}`, strings.Repeat("x", 1024))
	posts := 0
	post := func() {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		req, _ := http.NewRequestWithContext(ctx, "POST", srv.URL+"/products", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("POST %d while a client is stuck: %v", posts+1, err)
		}
		io.Copy(io.Discard, res.Body)
		res.Body.Close()
		if res.StatusCode != http.StatusCreated {
			t.Fatalf("POST %d: status %d", posts+1, res.StatusCode)
		}
		posts++
	}
	stuck := func() bool {
		for _, c := range m.Conns() {
			if c.ID() == slowID {
				return true
			}
		}
		return false
	}
	for m.Stats().DroppedSlow == 0 {
		if posts == 5000 {
			t.Fatal("5000 writes and the stuck client is still open")
		}
		post()
	}
	for range 20 {
		post() // and the writes go on
	}
	select {
	case err := <-failures:
		t.Fatalf("%v, %d clients dropped as slow (the stuck one still open: %t)", err, m.Stats().DroppedSlow, stuck())
	default:
	}

	expectClose(t, slow, websocket.StatusTryAgainLater)
	eventually(t, "the reading client got every event", func() bool {
		select {
		case err := <-failures:
			t.Fatal(err)
		default:
		}
		return received.Load() == int64(posts)
	})
	var n int64
	if err := app.DB().Model(&Product{}).Count(&n).Error; err != nil || n != int64(posts) {
		t.Fatalf("the table holds %d rows (%v), want %d", n, err, posts)
	}
	closing.Store(true)
	reader.CloseNow()
	<-done
}

// SocketSendBuffer reaches the socket of an App that Serve serves, under
// the connection Serve wraps, of a WebSocket and of a server-sent events
// stream (whose handler streams without taking the connection over): a
// client that reads nothing leaves what its socket cannot take in the
// server's queue, where the slow-consumer close sees it. Left to the
// kernel, the socket would take all 200 KiB.
func TestSocketSendBufferUnderServe(t *testing.T) {
	for _, c := range []struct {
		name string
		open func(t *testing.T, addr string) // a client that reads nothing
	}{
		{"websocket", func(t *testing.T, addr string) { dialStuck(t, "ws://"+addr+"/ws/products") }},
		{"sse", func(t *testing.T, addr string) {
			conn, err := net.Dial("tcp", addr)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { conn.Close() })
			conn.(*net.TCPConn).SetReadBuffer(4 << 10)
			if _, err := fmt.Fprintf(conn, "GET /sse/products HTTP/1.1\r\nHost: %s\r\nAccept: text/event-stream\r\n\r\n", addr); err != nil {
				t.Fatal(err)
			}
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			app := easy.New(easy.DB(testkit.SQLite(t, nil)), easy.Logger(slog.New(slog.DiscardHandler)))
			m := ws.NewManager(quiet, smallSocket, ws.Heartbeat(0))
			m.Watch(app, Product{})
			addr, _ := testkit.ServeOn(t, "127.0.0.1:0", app.Serve)
			t.Cleanup(func() { m.Shutdown(context.Background()) })
			c.open(t, addr)
			eventually(t, "the client is connected", func() bool { return len(m.Conns()) == 1 })
			conns := m.Conns()

			data := fmt.Sprintf(`{"id":1,"name":%q,"price":1}`, strings.Repeat("x", 1000))
			const events = 200
			for range events {
				m.Publish("products", ws.Change{Op: ws.TypeUpdate, Key: uint(1), Data: json.RawMessage(data)})
			}
			// The socket takes some 30 KiB (8 KiB asked, which Linux
			// doubles, and the client's 4 KiB window); the rest stays queued.
			eventually(t, "most of 200 KiB queued for the client that reads nothing", func() bool {
				return conns[0].Queued() > events*len(data)/2
			})
		})
	}
}
