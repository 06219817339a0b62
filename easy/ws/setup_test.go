package ws_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/fastapi-easy/easy-go/easy/ws"
)

// item is the model of the tests' resource "items".
type item struct {
	ID    int     `json:"id"`
	Name  string  `json:"name"`
	Price float64 `json:"price"`
}

// store is a real ws.Source over a mutex-guarded map. It honours the
// contract the way change capture does: a write and its Publish happen
// under one lock, and Snapshot reads the rows and the seq under it.
type store struct {
	m    *ws.Manager
	mu   sync.Mutex
	rows map[int]item
	next int
	log  []logged // every published change, in seq order
}

type logged struct {
	seq    uint64
	change ws.Change
}

func newStore(m *ws.Manager) *store {
	return &store{m: m, rows: make(map[int]item)}
}

func (s *store) publish(op string, it item) {
	c := ws.Change{Op: op, Key: it.ID}
	if op != ws.TypeDelete {
		c.Row = &it
		c.Data, _ = json.Marshal(it)
	}
	s.m.Publish("items", c)
	s.log = append(s.log, logged{s.m.Seq("items"), c})
}

func (s *store) create(name string, price float64) item {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.next++
	it := item{ID: s.next, Name: name, Price: price}
	s.rows[it.ID] = it
	s.publish(ws.TypeCreate, it)
	return it
}

func (s *store) update(id int, price float64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	it, ok := s.rows[id]
	if !ok {
		return
	}
	it.Price = price
	s.rows[id] = it
	s.publish(ws.TypeUpdate, it)
}

func (s *store) delete(id int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	it, ok := s.rows[id]
	if !ok {
		return
	}
	delete(s.rows, id)
	s.publish(ws.TypeDelete, it)
}

func (s *store) snapshotRows(f ws.Filter) map[int]item {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[int]item)
	for id, it := range s.rows {
		if f == nil || f.Match(&it) {
			out[id] = it
		}
	}
	return out
}

// Filter understands name, name__like and price__gt.
func (s *store) Filter(fields map[string]string) (ws.Filter, error) {
	var f filter
	for k, v := range fields {
		switch k {
		case "name":
			f = append(f, func(it *item) bool { return it.Name == v })
		case "name__like":
			f = append(f, func(it *item) bool { return strings.Contains(it.Name, v) })
		case "price__gt":
			p, err := strconv.ParseFloat(v, 64)
			if err != nil {
				return nil, fmt.Errorf("price__gt: %q is not a number", v)
			}
			f = append(f, func(it *item) bool { return it.Price > p })
		default:
			return nil, fmt.Errorf("unknown filter field %q", k)
		}
	}
	return f, nil
}

func (s *store) Snapshot(ctx context.Context, f ws.Filter, limit int) ([]ws.Change, uint64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ids := make([]int, 0, len(s.rows))
	for id := range s.rows {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	var rows []ws.Change
	for _, id := range ids {
		it := s.rows[id]
		if len(rows) == limit {
			break
		}
		if f != nil && !f.Match(&it) {
			continue
		}
		data, _ := json.Marshal(it)
		rows = append(rows, ws.Change{Key: id, Row: &it, Data: data})
	}
	return rows, s.m.Seq("items"), nil
}

type filter []func(*item) bool

func (f filter) Match(row any) bool {
	it := row.(*item)
	for _, ok := range f {
		if !ok(it) {
			return false
		}
	}
	return true
}

// newServer starts a Manager serving "items" at /ws/{resource} on a real
// socket; it is shut down when the test ends.
func newServer(t testing.TB, opts ...ws.Option) (*ws.Manager, *store, *httptest.Server) {
	t.Helper()
	m := ws.NewManager(append([]ws.Option{quiet}, opts...)...)
	s := newStore(m)
	m.AddResource("items", s)
	return m, s, serve(t, m, nil)
}

// serve mounts m at /ws/{resource} and the handlers at their patterns,
// serves them on a real socket, and shuts m down when the test ends.
func serve(t testing.TB, m *ws.Manager, handlers map[string]http.Handler) *httptest.Server {
	t.Helper()
	mux := http.NewServeMux()
	mux.Handle("/ws/{resource}", m)
	for pattern, h := range handlers {
		mux.Handle(pattern, h)
	}
	srv := httptest.NewServer(mux)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		m.Shutdown(ctx)
		srv.Close()
	})
	return srv
}

func wsURL(srv *httptest.Server, path string) string {
	return "ws" + strings.TrimPrefix(srv.URL, "http") + path
}

// dial connects to url and fails the test if it cannot.
func dial(t testing.TB, url string, opts ...func(*websocket.DialOptions)) *websocket.Conn {
	t.Helper()
	var o websocket.DialOptions
	for _, f := range opts {
		f(&o)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, _, err := websocket.Dial(ctx, url, &o)
	if err != nil {
		t.Fatalf("dial %s: %v", url, err)
	}
	c.SetReadLimit(1 << 24)
	t.Cleanup(func() { c.CloseNow() })
	return c
}

// dialReady dials and waits for the pong to a ping: the server reads
// messages only once the connection follows the resource, so events
// published afterwards reach it.
func dialReady(t testing.TB, url string) *websocket.Conn {
	t.Helper()
	c := dial(t, url)
	send(t, c, `{"type":"ping"}`)
	expect(t, c, `{"type":"pong"}`)
	return c
}

func send(t testing.TB, c *websocket.Conn, msg string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := c.Write(ctx, websocket.MessageText, []byte(msg)); err != nil {
		t.Fatalf("write %s: %v", msg, err)
	}
}

// next reads the next message as text.
func next(t testing.TB, c *websocket.Conn) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	typ, b, err := c.Read(ctx)
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	if typ != websocket.MessageText {
		t.Fatalf("read a %v message, want text", typ)
	}
	return string(b)
}

// expect reads the next messages and compares them with want, exactly.
func expect(t testing.TB, c *websocket.Conn, want ...string) {
	t.Helper()
	for i, w := range want {
		if got := next(t, c); got != w {
			t.Fatalf("message %d:\n got %s\nwant %s", i, got, w)
		}
	}
}

// event decodes a message of the resource protocol.
func event(t testing.TB, msg string) ws.Event {
	t.Helper()
	var ev ws.Event
	if err := json.Unmarshal([]byte(msg), &ev); err != nil {
		t.Fatalf("decode %s: %v", msg, err)
	}
	return ev
}

// expectClose reads until the connection ends and checks the close code.
func expectClose(t testing.TB, c *websocket.Conn, code websocket.StatusCode) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for {
		_, _, err := c.Read(ctx)
		if err == nil {
			continue
		}
		if got := websocket.CloseStatus(err); got != code {
			t.Fatalf("connection ended with %v (%v), want close code %d", got, err, code)
		}
		return
	}
}

// eventually polls cond until it holds or 10 seconds have passed.
func eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting until %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// goroutinesBack waits until no more goroutines run than before.
func goroutinesBack(t testing.TB, before int) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		n := runtime.NumGoroutine()
		if n <= before {
			return
		}
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			buf = buf[:runtime.Stack(buf, true)]
			t.Fatalf("%d goroutines remain, %d before:\n%s", n, before, buf)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

var errNope = errors.New("nope")

// quiet keeps the logs of panics and failures that tests provoke out of
// the test output.
var quiet = ws.Logger(slog.New(slog.DiscardHandler))
