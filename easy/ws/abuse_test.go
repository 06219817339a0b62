package ws_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
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

// TestNeverReadingSubscribersAreClosedWith1013 replays an attack on a
// real App: clients that subscribe again and again, under the rate limit,
// and never read. Each snapshot is queued to them until their queue holds
// SendQueueBytes, then they are closed with 1013 at once and their
// sockets dropped CloseTimeout later, well before the write timeout would
// have. Meanwhile no connection's queue grows past the bound, a client
// that reads gets every event in order, and writes through the CRUD API
// go on.
func TestNeverReadingSubscribersAreClosedWith1013(t *testing.T) {
	const attackers = 4
	var mu sync.Mutex
	closedAt := map[string]time.Time{}
	codes := map[string]websocket.StatusCode{}
	app := easy.New(easy.DB(testkit.SQLite(t, nil)), easy.Logger(slog.New(slog.DiscardHandler)))
	app.Include(easy.CRUDRouter[Product]())
	m := ws.NewManager(ws.Heartbeat(0), ws.OnDisconnect(func(c *ws.Conn, code websocket.StatusCode) {
		mu.Lock()
		codes[c.ID()], closedAt[c.ID()] = code, time.Now()
		mu.Unlock()
	}))
	m.Watch(app, Product{})
	srv := httptest.NewServer(app)
	t.Cleanup(func() { app.Close(context.Background()); srv.Close() })
	url := wsURL(srv, "/ws/products")

	// 400 rows of about 450 bytes: each initial message is some 180 KB.
	name := strings.Repeat("n", 400)
	for i := range 400 {
		write(t, srv, "POST", "/products", fmt.Sprintf(`{"name":"%s%d","price":1}`, name, i))
	}

	reader := dialReady(t, url)
	readerDone := make(chan error, 1)
	var received, readBytes atomic.Int64
	first := m.Seq("products") + 1
	go func() {
		for want := first; ; want++ {
			_, b, err := reader.Read(context.Background())
			if err != nil {
				readerDone <- nil
				return
			}
			readBytes.Add(int64(len(b)))
			var ev ws.Event
			if err := json.Unmarshal(b, &ev); err != nil || ev.Seq != want {
				readerDone <- fmt.Errorf("the reading client got %.80s, want seq %d", b, want)
				return
			}
			received.Add(1)
		}
	}()

	// The attackers, and the server's side of each.
	type attacker struct {
		conn  *ws.Conn
		start time.Time
		ended time.Time // when the server started to close it
		peak  int       // the most bytes its queue held
	}
	var atk [attackers]attacker
	var attacks sync.WaitGroup
	for i := range atk {
		c := dialReady(t, url)
		conns := m.Conns()
		atk[i].conn = conns[len(conns)-1]
		atk[i].start = time.Now()
		attacks.Go(func() {
			for {
				ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
				err := c.Write(ctx, websocket.MessageText, []byte(`{"type":"subscribe"}`))
				cancel()
				if err != nil {
					return // dropped
				}
				time.Sleep(time.Second / 19)
			}
		})
	}
	watching := make(chan struct{})
	var watch sync.WaitGroup
	watch.Go(func() {
		for {
			for i := range atk {
				a := &atk[i]
				a.peak = max(a.peak, a.conn.Queued())
				if a.ended.IsZero() && a.conn.Context().Err() != nil {
					a.ended = time.Now()
				}
			}
			select {
			case <-watching:
				return
			default:
			}
			time.Sleep(200 * time.Microsecond)
		}
	})

	// Writes at a steady pace, so that what fills the attackers' queues
	// is mostly their snapshots.
	var took []time.Duration
	writes := 0
	deadline := time.Now().Add(60 * time.Second)
	for m.Stats().DroppedSlow < attackers || m.Count() > 1 {
		if time.Now().After(deadline) {
			t.Fatalf("after 60 s: %+v", m.Stats())
		}
		start := time.Now()
		status, body := timedRequest(t, srv, "PATCH", fmt.Sprintf("/products/%d", 1+writes%400), fmt.Sprintf(`{"price":%d}`, writes))
		if status != http.StatusOK {
			t.Fatalf("PATCH during the attack: %d %s", status, body)
		}
		if status, body := timedRequest(t, srv, "POST", "/products", `{"name":"new","price":2}`); status != http.StatusCreated {
			t.Fatalf("POST during the attack: %d %s", status, body)
		}
		took = append(took, time.Since(start)/2)
		writes += 2
		time.Sleep(10 * time.Millisecond)
	}
	close(watching)
	watch.Wait()
	attacks.Wait()

	mu.Lock()
	defer mu.Unlock()
	for i, a := range atk {
		id := a.conn.ID()
		if codes[id] != websocket.StatusTryAgainLater {
			t.Errorf("attacker %d closed with %d, want 1013", i, codes[id])
		}
		if a.peak > 1<<20 {
			t.Errorf("attacker %d's queue held %d bytes, more than SendQueueBytes (1 MiB)", i, a.peak)
		}
		toClose, toDrop := a.ended.Sub(a.start), closedAt[id].Sub(a.start)
		// The close frame cannot get through to a client that reads
		// nothing: its socket is dropped CloseTimeout (5 s) after.
		if toClose > 20*time.Second || toDrop > toClose+8*time.Second {
			t.Errorf("attacker %d: closed after %v, gone after %v", i, toClose, toDrop)
		}
		t.Logf("attacker %d: closed with %d after %v (its queue held %d KiB at most), gone after %v",
			i, codes[id], toClose.Round(time.Millisecond), a.peak>>10, toDrop.Round(time.Millisecond))
	}
	eventually(t, "the reading client got every event", func() bool {
		select {
		case err := <-readerDone:
			t.Fatal(err)
		default:
		}
		return uint64(received.Load()) == m.Seq("products")-first+1
	})
	slices.Sort(took)
	t.Logf("%d writes through the API during the attack, all answered: p50 %v, p99 %v, max %v", writes,
		took[len(took)/2].Round(time.Microsecond), took[len(took)*99/100].Round(time.Microsecond), took[len(took)-1].Round(time.Microsecond))
	st := m.Stats()
	if st.DroppedSlow != attackers || st.Connections != 1 {
		t.Fatalf("Stats = %+v, want %d dropped as slow and the reading client left", st, attackers)
	}
	// What the attackers were written is what the kernel took from the
	// server for clients that read nothing: its send buffer and their
	// receive windows, some 500 KB each, not the 4 MiB that Linux grows a
	// send buffer to (so some 30 snapshots, read for nothing, per
	// connection instead of 8).
	pongs := (attackers + 1) * len(`{"type":"pong"}`)
	written := (int64(st.BytesSent) - readBytes.Load() - int64(pongs)) / attackers
	t.Logf("written to each attacker: %d KiB", written>>10)
	if written > 1<<20 {
		t.Errorf("%d bytes written to each attacker's socket, want at most 1 MiB", written)
	}
}

// timedRequest is request with a deadline far above a write's usual time,
// so that a write held up by the realtime side fails the test rather than
// hanging it.
func timedRequest(t *testing.T, srv *httptest.Server, method, path, body string) (int, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, method, srv.URL+path, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

// A message larger than SendQueueBytes reaches a client that has nothing
// else queued; a snapshot larger than it, which could never be queued, is
// refused with an error message that says so, and the connection stays
// open for a smaller one.
func TestSendQueueBytesLetsOneLargeMessageThroughAndRefusesALargeSnapshot(t *testing.T) {
	m, s, srv := newServer(t, ws.SendQueueBytes(4096))
	for i := range 200 {
		s.create(fmt.Sprint("item", i), float64(i))
	}
	c := dialReady(t, wsURL(srv, "/ws/items"))
	big := `{"type":"notice","text":"` + strings.Repeat("x", 10000) + `"}`
	if n := m.Broadcast("items", []byte(big)); n != 1 {
		t.Fatalf("Broadcast reached %d connections, want 1", n)
	}
	expect(t, c, big)

	send(t, c, `{"type":"subscribe"}`)
	expect(t, c, `{"type":"error","detail":"snapshot of 7741 bytes exceeds the send queue of 4096 bytes: ask for fewer rows (limit) or narrow the filter"}`)
	send(t, c, `{"type":"subscribe","limit":2}`)
	expect(t, c, fmt.Sprintf(`{"type":"initial","resource":"items","data":[{"id":1,"name":"item0","price":0},{"id":2,"name":"item1","price":1}],"more":true,"seq":%d}`, m.Seq("items")))
	s.create("kiwi", 1)
	if ev := event(t, next(t, c)); ev.Type != ws.TypeCreate || ev.Seq != m.Seq("items") {
		t.Fatalf("after the initial: %+v", ev)
	}
	if got := m.Stats().DroppedSlow; got != 0 {
		t.Fatalf("DroppedSlow = %d, want 0", got)
	}
}
