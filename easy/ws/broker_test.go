package ws_test

import (
	"context"
	crand "crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/redis/go-redis/v9"
	"gorm.io/gorm"

	"github.com/fastapi-easy/easy-go/easy"
	"github.com/fastapi-easy/easy-go/easy/ws"
	"github.com/fastapi-easy/easy-go/internal/testkit"
)

// instance is one app of a multi-instance setup: its own database handle,
// Manager and listener.
type instance struct {
	m   *ws.Manager
	srv *httptest.Server
}

func newInstance(t *testing.T, db *gorm.DB, b ws.Broker) *instance {
	t.Helper()
	app := easy.New(easy.DB(db), easy.Logger(slog.New(slog.NewTextHandler(io.Discard, nil))))
	app.Include(easy.CRUDRouter[Product]())
	m := ws.NewManager(ws.Heartbeat(0), ws.SendQueue(4096), ws.ShareVia(b))
	m.Watch(app, Product{})
	srv := httptest.NewServer(app)
	t.Cleanup(func() {
		srv.CloseClientConnections()
		app.Close(context.Background())
		srv.Close()
	})
	return &instance{m: m, srv: srv}
}

// sameDatabase returns two handles on one new database, as two processes
// would open it: a file for SQLite, a schema for PostgreSQL.
func sameDatabase(t *testing.T, kind string) (*gorm.DB, *gorm.DB) {
	t.Helper()
	if kind == "sqlite" {
		path := filepath.Join(t.TempDir(), "shared.db")
		return testkit.SQLiteFile(t, path, nil), testkit.SQLiteFile(t, path, nil)
	}
	a := testkit.Postgres(t, nil)
	return a, testkit.Reopen(t, a, nil)
}

// redisClient connects to EASY_TEST_REDIS_URL, or skips. Without
// retries, each cut connection reaches the Manager, which retries itself.
func redisClient(t testing.TB) *redis.Client {
	t.Helper()
	o, err := redis.ParseURL(testkit.Require(t, testkit.RedisEnv))
	if err != nil {
		t.Fatal(err)
	}
	o.MaxRetries = -1
	c := redis.NewClient(o)
	t.Cleanup(func() { c.Close() })
	return c
}

func randomPrefix() string {
	var b [6]byte
	crand.Read(b[:])
	return "test-" + hex.EncodeToString(b[:])
}

// brokerPairs are the brokers two instances share: one MemoryBroker, or
// one Redis server reached by a client of each instance.
var brokerPairs = []struct {
	name string
	pair func(t *testing.T) (ws.Broker, ws.Broker)
}{
	{"memory", func(t *testing.T) (ws.Broker, ws.Broker) {
		b := ws.NewMemoryBroker()
		return b, b
	}},
	{"redis", func(t *testing.T) (ws.Broker, ws.Broker) {
		prefix := randomPrefix()
		return ws.NewRedisBroker(redisClient(t), prefix), ws.NewRedisBroker(redisClient(t), prefix)
	}},
}

// eachSetup runs fn with two instances on one database and one broker,
// for each broker and each database.
func eachSetup(t *testing.T, fn func(t *testing.T, a, b *instance, db *gorm.DB)) {
	for _, bp := range brokerPairs {
		for _, kind := range []string{"sqlite", "postgres"} {
			t.Run(bp.name+"/"+kind, func(t *testing.T) {
				ba, bb := bp.pair(t)
				da, db := sameDatabase(t, kind)
				a := newInstance(t, da, ba)
				b := newInstance(t, db, bb)
				fn(t, a, b, da)
			})
		}
	}
}

// recorder is a client that keeps every message it receives.
type recorder struct {
	mu   sync.Mutex
	msgs [][]byte
	last wire
}

func record(t *testing.T, srv *httptest.Server, query string) *recorder {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(srv.URL, "http")+"/ws/products"+query, nil)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	c.SetReadLimit(1 << 20)
	t.Cleanup(func() { c.CloseNow() })
	r := &recorder{}
	// The reader goroutine belongs to the test and ends when the
	// connection is closed.
	go func() {
		for {
			_, b, err := c.Read(context.Background())
			if err != nil {
				return
			}
			var w wire
			json.Unmarshal(b, &w)
			r.mu.Lock()
			r.msgs = append(r.msgs, b)
			r.last = w
			r.mu.Unlock()
		}
	}()
	return r
}

func (r *recorder) snapshot() ([][]byte, wire) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([][]byte(nil), r.msgs...), r.last
}

// settle waits until both instances have published what they queued and
// read the same last seq, and returns it.
func settle(t *testing.T, a, b *instance) uint64 {
	t.Helper()
	var prev uint64
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		sa, sb := a.m.Stats(), b.m.Stats()
		seq := a.m.Seq("products")
		if sa.BrokerPending == 0 && sb.BrokerPending == 0 && seq == b.m.Seq("products") {
			if seq == prev {
				return seq
			}
			prev = seq
		}
	}
	t.Fatalf("instances did not settle: seq %d and %d, pending %d and %d",
		a.m.Seq("products"), b.m.Seq("products"), a.m.Stats().BrokerPending, b.m.Stats().BrokerPending)
	return 0
}

// checkStreams checks that every recorder received the same messages, in
// the same order, with seq rising by one up to final, no reset, at least
// writes events, and that the last event of each row is the row in db.
func checkStreams(t *testing.T, recs []*recorder, final uint64, writes int, db *gorm.DB) {
	t.Helper()
	for i, r := range recs {
		deadline := time.Now().Add(30 * time.Second)
		for {
			_, last := r.snapshot()
			if last.Seq == final {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("client %d: last seq %d, want %d", i, last.Seq, final)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	ref, _ := recs[0].snapshot()
	if len(ref) < writes {
		t.Fatalf("%d events for %d writes", len(ref), writes)
	}
	t.Logf("%d clients, %d events for %d writes", len(recs), len(ref), writes)
	lastOf := map[string]wire{}
	var prev uint64
	for i, b := range ref {
		var w wire
		json.Unmarshal(b, &w)
		if w.Type == "reset" {
			t.Fatalf("event %d is a reset", i)
		}
		if prev != 0 && w.Seq != prev+1 {
			t.Fatalf("seq %d after %d", w.Seq, prev)
		}
		prev = w.Seq
		lastOf[string(w.ID)] = w
	}
	for i, r := range recs[1:] {
		got, _ := r.snapshot()
		if len(got) != len(ref) {
			t.Fatalf("client %d got %d messages, client 0 %d", i+1, len(got), len(ref))
		}
		for j := range got {
			if string(got[j]) != string(ref[j]) {
				t.Fatalf("client %d message %d:\n%s\nclient 0:\n%s", i+1, j, got[j], ref[j])
			}
		}
	}
	var rows []Product
	db.Order("id").Find(&rows)
	inDB := map[string]Product{}
	for _, p := range rows {
		inDB[fmt.Sprint(p.ID)] = p
	}
	for id, w := range lastOf {
		p, ok := inDB[id]
		switch {
		case !ok && w.Type != "delete":
			t.Errorf("row %s: last event %s, but the row is gone", id, w.Type)
		case ok:
			want, _ := json.Marshal(p)
			if w.Type == "delete" || !sameJSON(w.Data, string(want)) {
				t.Errorf("row %s: last event %s %s, database %s", id, w.Type, w.Data, want)
			}
		}
	}
	for id := range inDB {
		if _, ok := lastOf[id]; !ok {
			t.Errorf("row %s has no event", id)
		}
	}
}

// write sends a write to srv and fails the test unless it succeeds. It
// may be called from any goroutine of the test.
func write(t *testing.T, srv *httptest.Server, method, path, body string) string {
	t.Helper()
	req, _ := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Errorf("%s %s: %v", method, path, err)
		return ""
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if res.StatusCode >= 300 {
		t.Errorf("%s %s: %d %s", method, path, res.StatusCode, b)
	}
	return string(b)
}

// churnBoth creates rows rows through a, then has writers writers on each
// instance update them at random, n times each, pausing between writes;
// it returns how many writes it made.
func churnBoth(t *testing.T, a, b *instance, rows, writers, n int, pause time.Duration) int {
	for i := range rows {
		write(t, a.srv, "POST", "/products", fmt.Sprintf(`{"name":"p%d","price":1}`, i))
	}
	var wg sync.WaitGroup
	for w := range 2 * writers {
		srv := a.srv
		if w%2 == 1 {
			srv = b.srv
		}
		wg.Go(func() {
			for i := range n {
				id := 1 + rand.IntN(rows)
				write(t, srv, "PATCH", fmt.Sprintf("/products/%d", id), fmt.Sprintf(`{"price":%d}`, w*1000+i))
				time.Sleep(pause)
			}
		})
	}
	wg.Wait()
	return rows + 2*writers*n
}

// TestTwoInstancesDeliverEveryEventOnceInOneOrder runs two apps on one
// database and one broker, 50 clients on each, and 8 REST writers split
// across them updating the same 10 rows: every client receives the same
// messages byte for byte, seq rising by one with no reset, and the last
// event of each row is the row in the database.
func TestTwoInstancesDeliverEveryEventOnceInOneOrder(t *testing.T) {
	eachSetup(t, func(t *testing.T, a, b *instance, db *gorm.DB) {
		var recs []*recorder
		for range 50 {
			recs = append(recs, record(t, a.srv, ""), record(t, b.srv, ""))
		}
		writes := churnBoth(t, a, b, 10, 4, 25, 0)
		checkStreams(t, recs, settle(t, a, b), writes, db)
	})
}

// TestResumeOnTheOtherInstance: a client that leaves a and reconnects to
// b with since gets exactly what a client connected to b all along got
// after that seq, none missing, none twice.
func TestResumeOnTheOtherInstance(t *testing.T) {
	eachSetup(t, func(t *testing.T, a, b *instance, db *gorm.DB) {
		whole := record(t, b.srv, "")
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		c, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(a.srv.URL, "http")+"/ws/products", nil)
		if err != nil {
			t.Fatal(err)
		}
		for i := range 5 {
			write(t, a.srv, "POST", "/products", fmt.Sprintf(`{"name":"p%d","price":1}`, i))
		}
		var last wire
		for range 5 {
			last = receive(t, c)
		}
		c.Close(websocket.StatusNormalClosure, "")
		for i := range 5 {
			write(t, b.srv, "PATCH", fmt.Sprintf("/products/%d", i+1), `{"price":2}`)
		}
		final := settle(t, a, b)
		resumed := record(t, b.srv, fmt.Sprintf("?since=%d", last.Seq))
		checkStreams(t, []*recorder{whole}, final, 10, db)
		checkStreams(t, []*recorder{resumed}, final, 5, db)
		// The resumed client gets exactly what a client connected all
		// along got after last.Seq (a correcting update included, when an
		// instance read a row already changed by the other).
		all, _ := whole.snapshot()
		got, _ := resumed.snapshot()
		i := slices.IndexFunc(all, func(b []byte) bool {
			var w wire
			json.Unmarshal(b, &w)
			return w.Seq == last.Seq
		})
		if i < 0 || len(got) != len(all)-i-1 {
			t.Fatalf("resumed after %d with %d events; the whole stream has %d, %d of them after it", last.Seq, len(got), len(all), len(all)-i-1)
		}
		for j := range got {
			if string(got[j]) != string(all[i+1+j]) {
				t.Fatalf("resumed event %d: %s, want %s", j, got[j], all[i+1+j])
			}
		}
	})
}

// TestSnapshotOnOneInstanceWhileAnotherWrites subscribes on b while
// writers create, update and delete rows through a's database handle: the
// snapshot plus the events after its seq rebuild the table exactly.
func TestSnapshotOnOneInstanceWhileAnotherWrites(t *testing.T) {
	eachSetup(t, func(t *testing.T, a, b *instance, db *gorm.DB) {
		seedProducts(db, 20)
		stop := churnDB(db, 3, 9)
		c := listen(t, b.srv, "products")
		time.Sleep(50 * time.Millisecond)
		rep := subscribeReplica(t, c, "")
		time.Sleep(200 * time.Millisecond)
		stop()
		// The sentinel marks the end: a's publisher appends in order, so
		// every earlier write's events come before it.
		rep.followToEnd(t, c, db)
		rep.matches(t, db)
	})
}

// TestSetupPicksRedisFromREDIS_URL: with REDIS_URL set, two apps that do
// not mention a broker share their events, one set up with Setup, the
// other with options and Watch.
func TestSetupPicksRedisFromREDIS_URL(t *testing.T) {
	t.Setenv("REDIS_URL", testkit.Require(t, testkit.RedisEnv))
	da, db := sameDatabase(t, "sqlite")
	var srvs []*httptest.Server
	for i, d := range []*gorm.DB{da, db} {
		app := easy.New(easy.DB(d), easy.Logger(slog.New(slog.NewTextHandler(io.Discard, nil))))
		app.Include(easy.CRUDRouter[Product]())
		if i == 0 {
			ws.Setup(app, Product{})
		} else {
			ws.NewManager(ws.Heartbeat(0)).Watch(app, Product{})
		}
		srv := httptest.NewServer(app)
		t.Cleanup(func() { srv.CloseClientConnections(); app.Close(context.Background()); srv.Close() })
		srvs = append(srvs, srv)
	}
	c := listen(t, srvs[1], "products")
	body := write(t, srvs[0], "POST", "/products", `{"name":"apple","price":1}`)
	if w := receive(t, c); w.Type != "create" || !sameJSON(w.Data, body) {
		t.Fatalf("got %s %s, want create %s", w.Type, w.Data, body)
	}
}
