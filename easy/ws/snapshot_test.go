package ws_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"
	"gorm.io/driver/sqlite"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"

	"github.com/fastapi-easy/easy-go/easy"
	"github.com/fastapi-easy/easy-go/easy/ws"
	"github.com/fastapi-easy/easy-go/internal/testkit"
)

// gatedStore is a store whose snapshots wait at a gate, counting how many
// are being read at once.
type gatedStore struct {
	*store
	gate          chan struct{} // closed to let the snapshots through
	reading, peak atomic.Int32
	reads         atomic.Int32
}

func (g *gatedStore) Snapshot(ctx context.Context, f ws.Filter, limit int) ([]ws.Change, uint64, error) {
	n := g.reading.Add(1)
	defer g.reading.Add(-1)
	for p := g.peak.Load(); n > p && !g.peak.CompareAndSwap(p, n); p = g.peak.Load() {
	}
	g.reads.Add(1)
	select {
	case <-g.gate:
	case <-ctx.Done():
		return nil, 0, ctx.Err()
	}
	return g.store.Snapshot(ctx, f, limit)
}

// TestSnapshotBudget pins what MaxSnapshots and a connection's order
// promise: beyond the budget a subscribe waits for its turn (no error,
// no extra read), and every one is answered in the end; the subscribes of
// one connection are read one after the other, each answered in order.
func TestSnapshotBudget(t *testing.T) {
	m := ws.NewManager(quiet, ws.MaxSnapshots(2), ws.RateLimit(0, 0))
	g := &gatedStore{store: newStore(m), gate: make(chan struct{})}
	m.AddResource("items", g)
	srv := serve(t, m, nil)
	g.create("apple", 1)
	g.create("pear", 2)

	const conns = 5
	cs := make([]*websocket.Conn, conns)
	for i := range cs {
		cs[i] = dialReady(t, wsURL(srv, "/ws/items"))
		send(t, cs[i], `{"type":"subscribe"}`)
	}
	// One connection asks twice more, with filters, before any answer.
	send(t, cs[0], `{"type":"subscribe","filter":{"price__gt":"1"}}`)
	send(t, cs[0], `{"type":"subscribe","filter":{"name":"apple"}}`)

	eventually(t, "two snapshots are being read", func() bool { return g.reading.Load() == 2 })
	time.Sleep(100 * time.Millisecond) // the others wait, and are not read meanwhile
	if n, reads := g.reading.Load(), g.reads.Load(); n != 2 || reads != 2 {
		t.Fatalf("%d snapshots being read, %d begun, want 2 and 2 with MaxSnapshots(2)", n, reads)
	}
	close(g.gate)

	seq := m.Seq("items")
	initial := func(data string) string {
		return fmt.Sprintf(`{"type":"initial","resource":"items","data":%s,"seq":%d}`, data, seq)
	}
	all := initial(`[{"id":1,"name":"apple","price":1},{"id":2,"name":"pear","price":2}]`)
	expect(t, cs[0], all, initial(`[{"id":2,"name":"pear","price":2}]`), initial(`[{"id":1,"name":"apple","price":1}]`))
	for _, c := range cs[1:] {
		expect(t, c, all)
	}
	if peak, reads := g.peak.Load(), g.reads.Load(); peak != 2 || reads != conns+2 {
		t.Fatalf("at most %d snapshots at once, %d in all; want 2 and %d", peak, reads, conns+2)
	}
	// The last subscribe is in force: apple only.
	g.create("kiwi", 3)
	g.update(1, 5)
	if ev := event(t, next(t, cs[0])); ev.Type != ws.TypeUpdate || string(ev.ID) != "1" {
		t.Fatalf("after the subscribes: %+v, want the update of apple", ev)
	}
}

// slowSnapshots makes the next snapshot of products read from db, once
// arm is called, wait until release is called: reading receives the
// read's context when the read has begun. arm may be called again while a
// read waits, for the read after it, which then waits for the next
// release.
//
// A test that means the read to go on past its SnapshotTimeout waits for
// that context to end before release: the timer that ends it runs on a
// goroutine of its own, so a sleep, or another subscribe's timeout, does
// not show that it has.
func slowSnapshots(t *testing.T, db *gorm.DB) (arm func(), reading <-chan context.Context, release func()) {
	var mu sync.Mutex
	gate := make(chan struct{}) // closed by release, and made anew
	ended := make(chan struct{})
	begun := make(chan context.Context, 1)
	var armed atomic.Bool
	err := db.Callback().Query().Before("gorm:query").Register("test:slow_snapshot", func(tx *gorm.DB) {
		if _, ok := tx.Statement.Dest.(*[]Product); ok && armed.CompareAndSwap(true, false) {
			mu.Lock()
			g := gate
			mu.Unlock()
			select {
			case begun <- tx.Statement.Context:
			case <-ended:
			}
			select {
			case <-g:
			case <-ended:
			}
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	release = func() {
		mu.Lock()
		defer mu.Unlock()
		close(gate)
		gate = make(chan struct{})
	}
	t.Cleanup(func() { close(ended) })
	return func() { armed.Store(true) }, begun, release
}

// TestCommitsGoOnWhileASnapshotIsRead holds a snapshot's read of the rows
// at its start, and writes through the CRUD API meanwhile: the writes
// commit at once (the read does not hold them off), the snapshot shows the
// rows as they were when its seq was taken, and the writes follow it as
// events, one seq after the other. The history is off: the events that
// came during the read were kept for the subscriber.
func TestCommitsGoOnWhileASnapshotIsRead(t *testing.T) {
	testkit.Each(t, nil, func(t *testing.T, db *gorm.DB) {
		arm, reading, release := slowSnapshots(t, db)
		app := easy.New(easy.DB(db), easy.Logger(slog.New(slog.DiscardHandler)))
		app.Include(easy.CRUDRouter[Product]())
		m := ws.NewManager(quiet, ws.Heartbeat(0), ws.HistorySize(0))
		m.Watch(app, Product{})
		srv := httptest.NewServer(app)
		t.Cleanup(func() { release(); app.Close(context.Background()); srv.Close() })
		write(t, srv, "POST", "/products", `{"name":"apple","price":1}`)
		write(t, srv, "POST", "/products", `{"name":"pear","price":2}`)

		c := dialReady(t, wsURL(srv, "/ws/products"))
		seq := m.Seq("products")
		arm()
		send(t, c, `{"type":"subscribe"}`)
		<-reading
		if status, body := timedRequest(t, srv, "PATCH", "/products/1", `{"price":10}`); status != 200 {
			t.Fatalf("PATCH while a snapshot is read: %d %s", status, body)
		}
		if status, body := timedRequest(t, srv, "POST", "/products", `{"name":"kiwi","price":3}`); status != 201 {
			t.Fatalf("POST while a snapshot is read: %d %s", status, body)
		}
		release()
		expect(t, c,
			fmt.Sprintf(`{"type":"initial","resource":"products","data":[{"id":1,"name":"apple","price":1},{"id":2,"name":"pear","price":2}],"seq":%d}`, seq),
			fmt.Sprintf(`{"type":"update","resource":"products","id":1,"data":{"id":1,"name":"apple","price":10},"seq":%d}`, seq+1),
			fmt.Sprintf(`{"type":"create","resource":"products","id":3,"data":{"id":3,"name":"kiwi","price":3},"seq":%d}`, seq+2))
	})
}

// Where the database cannot give a read its own view beside the writers
// (SQLite in its default journal mode; so with a pool of one connection,
// or a database other than PostgreSQL and SQLite), the rows are read while
// commits are held off: a write waits for the read, and the snapshot and
// the events still agree.
func TestSnapshotWithoutAViewOfItsOwnHoldsCommitsOff(t *testing.T) {
	db, err := gorm.Open(sqlite.Open(filepath.Join(t.TempDir(), "rollback-journal.db")+"?_busy_timeout=5000"),
		&gorm.Config{Logger: logger.Discard, TranslateError: true})
	if err != nil {
		t.Fatal(err)
	}
	arm, reading, release := slowSnapshots(t, db)
	app := easy.New(easy.DB(db), easy.Logger(slog.New(slog.DiscardHandler)))
	app.Include(easy.CRUDRouter[Product]())
	m := ws.NewManager(quiet, ws.Heartbeat(0))
	m.Watch(app, Product{})
	srv := httptest.NewServer(app)
	t.Cleanup(func() { release(); app.Close(context.Background()); srv.Close() })
	write(t, srv, "POST", "/products", `{"name":"apple","price":1}`)

	c := dialReady(t, wsURL(srv, "/ws/products"))
	seq := m.Seq("products")
	arm()
	send(t, c, `{"type":"subscribe"}`)
	<-reading
	patched := make(chan int)
	go func() {
		status, _ := request(t, srv, "PATCH", "/products/1", `{"price":10}`)
		patched <- status
	}()
	select {
	case status := <-patched:
		t.Fatalf("PATCH answered %d while the snapshot held commits off", status)
	case <-time.After(200 * time.Millisecond):
	}
	release()
	if status := <-patched; status != 200 {
		t.Fatalf("PATCH after the snapshot: %d", status)
	}
	expect(t, c,
		fmt.Sprintf(`{"type":"initial","resource":"products","data":[{"id":1,"name":"apple","price":1}],"seq":%d}`, seq),
		fmt.Sprintf(`{"type":"update","resource":"products","id":1,"data":{"id":1,"name":"apple","price":10},"seq":%d}`, seq+1))
}

// TestAClientWaitingForItsSnapshotIsNotDroppedByTheHeartbeat: while a
// subscribe waits for its snapshot, the connection's reader does not
// read, and a pong that arrives meanwhile is not seen. The client is
// alive all the same, and keeps its connection.
func TestAClientWaitingForItsSnapshotIsNotDroppedByTheHeartbeat(t *testing.T) {
	m := ws.NewManager(quiet, ws.Heartbeat(50*time.Millisecond), ws.WriteTimeout(time.Second))
	g := &gatedStore{store: newStore(m), gate: make(chan struct{})}
	m.AddResource("items", g)
	srv := serve(t, m, nil)
	g.create("apple", 1)
	c := dialReady(t, wsURL(srv, "/ws/items"))
	send(t, c, `{"type":"subscribe"}`)
	// Some sixty heartbeats go by, their pongs unseen for seconds, before
	// the snapshot is read.
	time.AfterFunc(3*time.Second, func() { close(g.gate) })
	msg := next(t, c)
	for msg == `{"type":"ping"}` {
		msg = next(t, c)
	}
	if want := fmt.Sprintf(`{"type":"initial","resource":"items","data":[{"id":1,"name":"apple","price":1}],"seq":%d}`, m.Seq("items")); msg != want {
		t.Fatalf("got %s, want %s", msg, want)
	}
}

// TestACutSnapshotSaysSo: on each database, a snapshot of a table with
// one row more than its limit (SnapshotLimit, or the subscribe's own)
// holds the first rows by primary key and "more":true, over the
// WebSocket, over SSE and to the Go client; one with exactly its limit's
// rows has no "more".
func TestACutSnapshotSaysSo(t *testing.T) {
	testkit.Each(t, nil, func(t *testing.T, db *gorm.DB) {
		_, m, srv := sseApp(t, db, ws.SnapshotLimit(2))
		initial := func(rows string, more bool) string {
			if more {
				return fmt.Sprintf(`{"type":"initial","resource":"products","data":[%s],"more":true,"seq":%d}`, rows, m.Seq("products"))
			}
			return fmt.Sprintf(`{"type":"initial","resource":"products","data":[%s],"seq":%d}`, rows, m.Seq("products"))
		}
		const apple, pear, fig = `{"id":1,"name":"apple","price":1}`, `{"id":2,"name":"pear","price":2}`, `{"id":3,"name":"fig","price":3}`
		write(t, srv, "POST", "/products", `{"name":"apple","price":1}`)
		write(t, srv, "POST", "/products", `{"name":"pear","price":2}`)
		c := dialReady(t, wsURL(srv, "/ws/products"))
		send(t, c, `{"type":"subscribe"}`)
		expect(t, c, initial(apple+","+pear, false))
		if got := openSSE(t, srv.URL+"/sse/products?snapshot=1").next(t).Data; got != initial(apple+","+pear, false) {
			t.Errorf("SSE with two rows of two: %s", got)
		}

		write(t, srv, "POST", "/products", `{"name":"fig","price":3}`)
		expect(t, c, fmt.Sprintf(`{"type":"create","resource":"products","id":3,"data":%s,"seq":%d}`, fig, m.Seq("products")))
		for _, tc := range []struct{ subscribe, want string }{
			{`{"type":"subscribe"}`, initial(apple+","+pear, true)},
			{`{"type":"subscribe","limit":1}`, initial(apple, true)},
			{`{"type":"subscribe","filter":{"price__gt":1}}`, initial(pear+","+fig, false)},
			{`{"type":"subscribe","filter":{"price__gt":1},"limit":1}`, initial(pear, true)},
		} {
			send(t, c, tc.subscribe)
			expect(t, c, tc.want)
		}
		if got := openSSE(t, srv.URL+"/sse/products?snapshot=1").next(t).Data; got != initial(apple+","+pear, true) {
			t.Errorf("SSE with two rows of three: %s", got)
		}

		cl := dialClient(t, wsURL(srv, "/ws/products"))
		for _, tc := range []struct {
			filter map[string]string
			more   bool
		}{{nil, true}, {map[string]string{"price__gt": "1"}, false}} {
			if err := cl.Subscribe(context.Background(), tc.filter, 0); err != nil {
				t.Fatal(err)
			}
			if ev := nextEvent(t, cl); ev.Type != ws.TypeInitial || ev.More != tc.more {
				t.Errorf("the Go client's initial with filter %v: %+v, want more %v", tc.filter, ev, tc.more)
			}
		}
	})
}

// TestTheRestOfACutSnapshotIsReadFromTheRESTList follows what the docs
// tell a client whose initial says "more", on each database, for a text
// key and a numeric key: the REST list with the same filter, walked from
// its first page by the Link header's cursor, holds every row that
// matches, the snapshot's among them. A numeric key may start after the
// snapshot's last row instead (id__gt); a text key has no such filter, a
// 422.
func TestTheRestOfACutSnapshotIsReadFromTheRESTList(t *testing.T) {
	testkit.Each(t, nil, func(t *testing.T, db *gorm.DB) {
		app := easy.New(easy.DB(db), easy.Logger(slog.New(slog.DiscardHandler)))
		app.Include(easy.CRUDRouter[Product](), easy.CRUDRouter[Sku]())
		ws.NewManager(quiet, ws.Heartbeat(0)).Watch(app, Product{}, Sku{})
		srv := httptest.NewServer(app)
		t.Cleanup(func() { app.Close(context.Background()); srv.Close() })
		for i, price := range []int{12, 3, 10, 40, 1, 11, 10, 2, 99} {
			write(t, srv, "POST", "/products", fmt.Sprintf(`{"name":"p%d","price":%d}`, i, price))
		}
		// Keys whose order is the database's collation's.
		for _, id := range []string{"k01", "K02", "k-03", "k 04", "k_05", "Ka06", "k07", "ä08", "B09"} {
			name := "keep"
			if id == "k-03" || id == "B09" {
				name = "drop"
			}
			if err := db.Create(&Sku{ID: id, Name: name}).Error; err != nil {
				t.Fatal(err)
			}
		}
		for _, tc := range []struct {
			resource, filter, query string
			want                    []string // the ids that match
		}{
			{"products", `{"price__gte":"10"}`, "price__gte=10", []string{"1", "3", "4", "6", "7", "9"}},
			{"skus", `{"name":"keep"}`, "name=keep", []string{`"k01"`, `"K02"`, `"k 04"`, `"k_05"`, `"Ka06"`, `"k07"`, `"ä08"`}},
		} {
			c := dialReady(t, wsURL(srv, "/ws/"+tc.resource))
			send(t, c, `{"type":"subscribe","filter":`+tc.filter+`,"limit":2}`)
			ev := event(t, next(t, c))
			snapshot := rowIDs(t, ev.Data)
			if ev.Type != ws.TypeInitial || !ev.More || len(snapshot) != 2 {
				t.Fatalf("%s: %+v %s, want an initial of 2 rows and more", tc.resource, ev, ev.Data)
			}
			got := walkList(t, srv, "/"+tc.resource+"?"+tc.query+"&limit=2")
			if !sameSet(got, tc.want) || !sameSet(append(got[:0:0], snapshot...), got[:2]) {
				t.Errorf("%s: the list walked from its first page has %v, want %v, the snapshot's %v first", tc.resource, got, tc.want, snapshot)
			}
			after := "/" + tc.resource + "?" + tc.query + "&id__gt=" + url.QueryEscape(strings.Trim(snapshot[1], `"`))
			if tc.resource == "products" {
				if rest := walkList(t, srv, after+"&limit=2"); !sameSet(append(snapshot, rest...), tc.want) {
					t.Errorf("products: after the snapshot's last row %v, want the rest of %v", rest, tc.want)
				}
			} else if status, body := request(t, srv, "GET", after, ""); status != 422 || !strings.Contains(body, `"filter_operator"`) {
				t.Errorf("skus: id__gt on a text key: %d %s, want a 422", status, body)
			}
		}
	})
}

// walkList reads a list from path, page after page, following each
// answer's Link header, and returns the ids of its rows, as JSON.
func walkList(t *testing.T, srv *httptest.Server, path string) []string {
	t.Helper()
	var ids []string
	for path != "" {
		res, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != 200 {
			t.Fatalf("GET %s: %d %s", path, res.StatusCode, b)
		}
		ids = append(ids, rowIDs(t, b)...)
		link := res.Header.Get("Link")
		target, ok := strings.CutPrefix(link, "<")
		target, rel, _ := strings.Cut(target, ">")
		if link != "" && (!ok || rel != `; rel="next"`) {
			t.Fatalf("GET %s: Link %q", path, link)
		}
		path = target
	}
	return ids
}

// rowIDs returns the ids of a JSON array of rows, as JSON.
func rowIDs(t *testing.T, rows []byte) []string {
	t.Helper()
	var list []struct{ ID json.RawMessage }
	if err := json.Unmarshal(rows, &list); err != nil {
		t.Fatalf("rows %s: %v", rows, err)
	}
	ids := make([]string, len(list))
	for i, r := range list {
		ids[i] = string(r.ID)
	}
	return ids
}

// sameSet reports whether a and b hold the same strings, each once.
func sameSet(a, b []string) bool {
	seen := make(map[string]int, len(a))
	for _, s := range a {
		seen[s]++
	}
	for _, s := range b {
		seen[s]--
	}
	for _, n := range seen {
		if n != 0 {
			return false
		}
	}
	return len(a) == len(b)
}

// TestASnapshotThatOutlastsSnapshotTimeoutIsAnError: on PostgreSQL,
// another transaction holds the table locked, so a snapshot's read
// waits for it. The subscribe is answered with an error that says why
// while the lock is still held, and the connection goes on as it was:
// its earlier filter in force, and a later subscribe answered once the
// lock is gone.
func TestASnapshotThatOutlastsSnapshotTimeoutIsAnError(t *testing.T) {
	db := testkit.Postgres(t, nil)
	_, m, srv := sseApp(t, db, ws.SnapshotTimeout(300*time.Millisecond))
	write(t, srv, "POST", "/products", `{"name":"apple","price":1}`)
	write(t, srv, "POST", "/products", `{"name":"pear","price":2}`)
	c := dialReady(t, wsURL(srv, "/ws/products"))
	send(t, c, `{"type":"subscribe","filter":{"name":"apple"}}`)
	expect(t, c, fmt.Sprintf(`{"type":"initial","resource":"products","data":[{"id":1,"name":"apple","price":1}],"seq":%d}`, m.Seq("products")))

	lock := testkit.Reopen(t, db, nil).Begin()
	if err := lock.Exec("LOCK TABLE products IN ACCESS EXCLUSIVE MODE").Error; err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { lock.Rollback() })
	send(t, c, `{"type":"subscribe"}`)
	expect(t, c, `{"type":"error","detail":"the snapshot took longer than 300ms to read: subscribe again later, or narrow the filter"}`)
	if err := lock.Rollback().Error; err != nil {
		t.Fatal(err)
	}

	write(t, srv, "PATCH", "/products/2", `{"price":3}`) // pear: not for the apple filter
	write(t, srv, "PATCH", "/products/1", `{"price":4}`)
	expect(t, c, fmt.Sprintf(`{"type":"update","resource":"products","id":1,"data":{"id":1,"name":"apple","price":4},"seq":%d}`, m.Seq("products")))
	send(t, c, `{"type":"subscribe"}`)
	expect(t, c, fmt.Sprintf(`{"type":"initial","resource":"products","data":[{"id":1,"name":"apple","price":4},{"id":2,"name":"pear","price":3}],"seq":%d}`, m.Seq("products")))
}

// TestASubscribeWaitingForItsTurnHasSnapshotTimeout: on each database,
// with MaxSnapshots(1), one connection's snapshot read takes the only
// turn and outlasts SnapshotTimeout without stopping (a Source may not
// heed its context; here the read waits before its query). Another
// connection's subscribe, waiting for that turn, is answered with the
// timeout's error while the first read still waits: SnapshotTimeout
// bounds the whole subscribe, its wait included, so that its reader is
// back to hear the heartbeat. Both connections go on.
func TestASubscribeWaitingForItsTurnHasSnapshotTimeout(t *testing.T) {
	testkit.Each(t, nil, func(t *testing.T, db *gorm.DB) {
		arm, reading, release := slowSnapshots(t, db)
		_, m, srv := sseApp(t, db, ws.MaxSnapshots(1), ws.SnapshotTimeout(300*time.Millisecond))
		t.Cleanup(release) // before the app closes
		write(t, srv, "POST", "/products", `{"name":"apple","price":1}`)
		first, second := dialReady(t, wsURL(srv, "/ws/products")), dialReady(t, wsURL(srv, "/ws/products"))
		const timedOut = `{"type":"error","detail":"the snapshot took longer than 300ms to read: subscribe again later, or narrow the filter"}`

		arm()
		send(t, first, `{"type":"subscribe"}`)
		read := <-reading
		send(t, second, `{"type":"subscribe"}`)
		expect(t, second, timedOut)
		<-read.Done()
		release()
		expect(t, first, timedOut) // its read began its query past the deadline

		initial := fmt.Sprintf(`{"type":"initial","resource":"products","data":[{"id":1,"name":"apple","price":1}],"seq":%d}`, m.Seq("products"))
		for _, c := range []*websocket.Conn{first, second} {
			send(t, c, `{"type":"subscribe"}`)
			expect(t, c, initial)
		}
	})
}

// TestASubscribesSnapshotTriesShareOneSnapshotTimeout: a subscribe whose
// first snapshot cannot be joined to the events after it (more was
// written meanwhile than its connection may keep, and the history is off)
// reads another in what is left of its SnapshotTimeout, not in a
// SnapshotTimeout of its own. The first read takes half the timeout; the
// second has the first's deadline, waits until it has passed, and
// fails: the connection, which lost the events written meanwhile, gets a
// reset, then the timeout's error.
func TestASubscribesSnapshotTriesShareOneSnapshotTimeout(t *testing.T) {
	const timeout = time.Second
	db := testkit.SQLite(t, nil)
	arm, reading, release := slowSnapshots(t, db)
	_, m, srv := sseApp(t, db, ws.HistorySize(0), ws.SendQueueBytes(1000), ws.SnapshotTimeout(timeout))
	t.Cleanup(release) // before the app closes
	write(t, srv, "POST", "/products", `{"name":"apple","price":1}`)
	plain := dialReady(t, wsURL(srv, "/ws/products"))
	c := dialReady(t, wsURL(srv, "/ws/products"))

	arm()
	send(t, c, `{"type":"subscribe","filter":{"price__lt":2}}`)
	first := <-reading
	const figs = 14 // some 100 bytes each kept: past 1,000 at the 11th
	// The fan-out hands each event to every connection in turn: once plain
	// has the last, the held one has dropped them all. plain reads each
	// before the next write, as its send queue holds fewer than figs.
	for i := range figs {
		write(t, srv, "POST", "/products", fmt.Sprintf(`{"name":"fig%d","price":2}`, i))
		if ev := event(t, next(t, plain)); ev.Type != ws.TypeCreate {
			t.Fatalf("the plain connection got %+v, want a create", ev)
		}
	}
	arm() // the second read waits too
	time.Sleep(timeout / 2)
	release()
	select {
	case read := <-reading: // let it go once the timeout has passed
		want, _ := first.Deadline()
		if got, _ := read.Deadline(); !got.Equal(want) {
			t.Errorf("the second read's deadline is %v after the first's, want the same", got.Sub(want))
		}
		<-read.Done()
		release()
	case <-time.After(timeout): // the first read outlasted the timeout on its own: the same answer
	}
	expect(t, c,
		`{"type":"reset","resource":"products"}`,
		`{"type":"error","detail":"the snapshot took longer than 1s to read: subscribe again later, or narrow the filter"}`)

	write(t, srv, "POST", "/products", `{"name":"kiwi","price":1}`)
	expect(t, c, fmt.Sprintf(`{"type":"create","resource":"products","id":%d,"data":{"id":%d,"name":"kiwi","price":1},"seq":%d}`, figs+2, figs+2, m.Seq("products")))
}

// TestSnapshotTriesRunOutWithAResetThenAnError: while each of a
// subscribe's snapshots is read, more is written than its connection may
// keep (rows its filter leaves out, so that the snapshots stay small),
// and the history is off, so none can be joined to the events after it.
// After the third the subscribe is answered with an error. A WebSocket,
// which followed the resource, has lost those events: a reset comes
// before the error, and the connection goes on: it gets the next write,
// and a subscribe is answered. An SSE stream, whose client cannot ask
// again, gets the error and ends (restartedSSE).
func TestSnapshotTriesRunOutWithAResetThenAnError(t *testing.T) {
	for _, transport := range []string{"websocket", "sse"} {
		t.Run(transport, func(t *testing.T) {
			db := testkit.SQLite(t, nil)
			arm, reading, release := slowSnapshots(t, db)
			_, m, srv := sseApp(t, db, ws.HistorySize(0), ws.SendQueueBytes(1000))
			t.Cleanup(release) // before the app closes
			write(t, srv, "POST", "/products", `{"name":"apple","price":1}`)
			plain := dialReady(t, wsURL(srv, "/ws/products"))

			arm()
			var c *websocket.Conn
			var s *sseStream
			sseURL := srv.URL + "/sse/products?snapshot=1&filter=" + url.QueryEscape(`{"price__lt":2}`)
			if transport == "sse" {
				s = openSSE(t, sseURL)
			} else {
				c = dialReady(t, wsURL(srv, "/ws/products"))
				send(t, c, `{"type":"subscribe","filter":{"price__lt":2}}`)
			}
			const figs = 14 // some 100 bytes each kept: past 1,000 at the 11th
			for try := 1; try <= 3; try++ {
				select {
				case <-reading:
				case <-time.After(10 * time.Second):
					t.Fatalf("snapshot %d was not read", try)
				}
				// The fan-out hands each event to every connection in turn:
				// once plain has the last, the held one has dropped them all.
				// plain reads each before the next write, as its send queue
				// holds fewer than figs.
				for i := range figs {
					write(t, srv, "POST", "/products", fmt.Sprintf(`{"name":"fig%d.%d","price":2}`, try, i))
					if ev := event(t, next(t, plain)); ev.Type != ws.TypeCreate {
						t.Fatalf("the plain connection got %+v, want a create", ev)
					}
				}
				if try < 3 {
					arm() // the next read waits too
				}
				release()
			}
			const failed = `{"type":"error","detail":"the rows changed faster than a snapshot could be read: subscribe again later, or narrow the filter"}`
			const kiwi = 2 + 3*figs
			if s != nil {
				restartedSSE(t, s, failed)
				write(t, srv, "POST", "/products", `{"name":"kiwi","price":1}`)
				if got, want := openSSE(t, sseURL).next(t).Data, fmt.Sprintf(`{"type":"initial","resource":"products","data":[{"id":1,"name":"apple","price":1},{"id":%d,"name":"kiwi","price":1}],"seq":%d}`, kiwi, m.Seq("products")); got != want {
					t.Fatalf("the stream opened again: %s, want %s", got, want)
				}
				return
			}
			expect(t, c, `{"type":"reset","resource":"products"}`, failed)
			write(t, srv, "POST", "/products", `{"name":"kiwi","price":1}`)
			expect(t, c, fmt.Sprintf(`{"type":"create","resource":"products","id":%d,"data":{"id":%d,"name":"kiwi","price":1},"seq":%d}`, kiwi, kiwi, m.Seq("products")))
			send(t, c, `{"type":"subscribe","filter":{"name":"kiwi"}}`)
			expect(t, c, fmt.Sprintf(`{"type":"initial","resource":"products","data":[{"id":%d,"name":"kiwi","price":1}],"seq":%d}`, kiwi, m.Seq("products")))
		})
	}
}

// restartedSSE checks that s, a stream whose snapshot failed, has the
// error, then a close event of 1013 with an empty id, which clears
// EventSource's last event ID, and ends: its client reconnects (without
// Last-Event-ID) to a fresh snapshot.
func restartedSSE(t *testing.T, s *sseStream, failed string) {
	t.Helper()
	if got := s.next(t).Data; got != failed {
		t.Fatalf("got %s, want %s", got, failed)
	}
	rest := s.ended(t)
	if len(rest) != 1 || rest[0].Event != "close" || !rest[0].ClearsID || rest[0].Data != `{"code":1013,"reason":"snapshot failed"}` {
		t.Fatalf("after the error: %+v, want a close event of 1013 with an empty id, then the end", rest)
	}
}
