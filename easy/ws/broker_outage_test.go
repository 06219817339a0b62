package ws_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"gorm.io/gorm"

	"github.com/fastapi-easy/easy-go/easy"
	"github.com/fastapi-easy/easy-go/easy/ws"
	"github.com/fastapi-easy/easy-go/internal/testkit"
)

// TestBrokerConnectionCutLosesNoCommittedEvent cuts every connection to
// Redis three times (CLIENT KILL) while both instances take writes: no
// write fails, and every client still receives every event once, in one
// order, with no reset.
func TestBrokerConnectionCutLosesNoCommittedEvent(t *testing.T) {
	admin := redisClient(t)
	da, db := sameDatabase(t, "postgres")
	prefix := randomPrefix()
	a := newInstance(t, da, ws.NewRedisBroker(redisClient(t), prefix))
	b := newInstance(t, db, ws.NewRedisBroker(redisClient(t), prefix))
	var recs []*recorder
	for range 5 {
		recs = append(recs, record(t, a.srv, ""), record(t, b.srv, ""))
	}
	done := make(chan int)
	go func() { done <- churnBoth(t, a, b, 5, 2, 60, 5*time.Millisecond) }()
	// Cut every connection to Redis but this one, three times over,
	// while the writes go on.
	for range 3 {
		time.Sleep(150 * time.Millisecond)
		if err := admin.Do(context.Background(), "CLIENT", "KILL", "TYPE", "normal", "SKIPME", "yes").Err(); err != nil {
			t.Fatal(err)
		}
	}
	writes := <-done
	checkStreams(t, recs, settle(t, a, b), writes, da)
	if r := a.m.Stats().BrokerReconnects + b.m.Stats().BrokerReconnects; r == 0 {
		t.Error("no reconnect counted")
	}
}

// TestStartWithRedisDownDoesNotHangAndWritesSucceed: Watch returns within
// seconds when Redis is unreachable, writes commit, and their events wait
// for the broker.
func TestStartWithRedisDownDoesNotHangAndWritesSucceed(t *testing.T) {
	client := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", MaxRetries: -1})
	defer client.Close()
	start := time.Now()
	inst := newInstance(t, testkit.SQLite(t, nil), ws.NewRedisBroker(client, randomPrefix()))
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("Watch took %v", d)
	}
	write(t, inst.srv, "POST", "/products", `{"name":"apple","price":1}`)
	deadline := time.Now().Add(5 * time.Second)
	for inst.m.Stats().BrokerPending != 1 {
		if time.Now().After(deadline) {
			t.Fatalf("pending %d, want 1", inst.m.Stats().BrokerPending)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// flaky is a Broker that fails while down is set. readsFailed counts the
// reads it failed.
type flaky struct {
	ws.Broker
	mu          sync.Mutex
	down        bool
	readsFailed atomic.Int64
}

func (f *flaky) set(down bool) { f.mu.Lock(); f.down = down; f.mu.Unlock() }

func (f *flaky) err() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.down {
		return fmt.Errorf("broker down")
	}
	return nil
}

func (f *flaky) Append(ctx context.Context, resource string, b ws.Batch) error {
	if err := f.err(); err != nil {
		return err
	}
	return f.Broker.Append(ctx, resource, b)
}

// AppendNumbered is how the outbox appends (a MemoryBroker's underneath).
func (f *flaky) AppendNumbered(ctx context.Context, resource string, entries []ws.Entry, keep int) error {
	if err := f.err(); err != nil {
		return err
	}
	return f.Broker.(*ws.MemoryBroker).AppendNumbered(ctx, resource, entries, keep)
}

func (f *flaky) Tail(ctx context.Context, resource string, n int) (uint64, []ws.Entry, error) {
	if err := f.err(); err != nil {
		return 0, nil, err
	}
	return f.Broker.Tail(ctx, resource, n)
}

func (f *flaky) Read(ctx context.Context, resource string, after uint64, wait time.Duration) ([]ws.Entry, error) {
	if err := f.err(); err != nil {
		f.readsFailed.Add(1)
		time.Sleep(10 * time.Millisecond)
		return nil, err
	}
	return f.Broker.Read(ctx, resource, after, min(wait, 50*time.Millisecond))
}

// TestBrokerOutage: while a cannot reach the broker its writes still
// commit, into the outbox, where b's relay finds them and appends them;
// when the broker is back, what a's clients missed is delivered, or, when
// the log was trimmed past it meanwhile, they get a reset.
func TestBrokerOutage(t *testing.T) {
	for _, tc := range []struct {
		name      string
		others    int // writes through b during the outage
		wantReset bool
	}{
		{"within the history", 5, false},
		{"trimmed meanwhile", 40, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			mem := ws.NewMemoryBroker()
			fa := &flaky{Broker: mem}
			da, db := sameDatabase(t, "sqlite")
			quietLog := easy.Logger(slog.New(slog.NewTextHandler(io.Discard, nil)))
			start := func(d *gorm.DB, br ws.Broker) *instance {
				app := easy.New(easy.DB(d), quietLog)
				app.Include(easy.CRUDRouter[Product]())
				m := ws.NewManager(ws.Heartbeat(0), ws.HistorySize(16), ws.ShareVia(br))
				m.Watch(app, Product{})
				srv := httptest.NewServer(app)
				t.Cleanup(func() { srv.CloseClientConnections(); app.Close(context.Background()); srv.Close() })
				return &instance{m: m, srv: srv}
			}
			a, b := start(da, fa), start(db, mem)
			rec := record(t, a.srv, "")
			write(t, a.srv, "POST", "/products", `{"name":"before","price":1}`)
			before := settle(t, a, b)

			fa.set(true)
			write(t, a.srv, "POST", "/products", `{"name":"during","price":1}`)
			for i := range tc.others {
				write(t, b.srv, "POST", "/products", fmt.Sprintf(`{"name":"other%d","price":1}`, i))
			}
			// a's write is in the outbox: a counts it as pending, and b's
			// relay appends it meanwhile, in its place.
			eventually(t, "a counts its write as pending", func() bool { return a.m.Stats().BrokerPending >= 1 })
			eventually(t, "b appends a's write", func() bool { return b.m.Seq("products") == before+1+uint64(tc.others) })
			// On a loaded machine a's reader may not have run since the
			// broker went down: it must find it down to count a reconnect.
			eventually(t, "a's reader finds the broker down", func() bool { return fa.readsFailed.Load() > 0 })
			fa.set(false)
			settle(t, a, b)
			// A last write marks the end of the stream.
			write(t, b.srv, "POST", "/products", `{"name":"after","price":1}`)
			final := settle(t, a, b)
			deadline := time.Now().Add(10 * time.Second)
			for _, last := rec.snapshot(); last.Seq != final; _, last = rec.snapshot() {
				if time.Now().After(deadline) {
					t.Fatalf("last message %+v, want seq %d", last, final)
				}
				time.Sleep(10 * time.Millisecond)
			}
			if a.m.Stats().BrokerReconnects == 0 {
				t.Error("no reconnect counted")
			}
			msgs, _ := rec.snapshot()
			resets := 0
			for _, m := range msgs {
				if strings.Contains(string(m), `"type":"reset"`) {
					resets++
				}
			}
			if tc.wantReset {
				if resets != 1 {
					t.Fatalf("%d resets, want 1, though the history was trimmed past the client", resets)
				}
				return
			}
			if len(msgs) != 3+tc.others {
				t.Fatalf("%d events, want %d", len(msgs), 3+tc.others)
			}
			for i := 1; i < len(msgs); i++ {
				var p, w wire
				json.Unmarshal(msgs[i-1], &p)
				json.Unmarshal(msgs[i], &w)
				if w.Type == "reset" || w.Seq != p.Seq+1 {
					t.Fatalf("message %d: %s after %s", i, msgs[i], msgs[i-1])
				}
			}
		})
	}
}

// TestEventsWrittenWhileTheBrokerIsDownAtStartReachItWhenItIsBack: an
// instance that starts while its broker is down numbers its writes from
// the outbox's counter, below the seq its resources start at. Trimming
// the outbox must leave them until they are in the broker's log.
func TestEventsWrittenWhileTheBrokerIsDownAtStartReachItWhenItIsBack(t *testing.T) {
	t.Cleanup(ws.SetOutboxTrimEvery(20 * time.Millisecond)) // put back after the Apps have closed
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "shared.db")
	mem := ws.NewMemoryBroker()
	tail := func() uint64 {
		seq, _, err := mem.Tail(ctx, "products", 0)
		if err != nil {
			t.Fatal(err)
		}
		return seq
	}
	// A first run, with the broker up, leaves an event in the outbox.
	first := easy.New(easy.DB(testkit.SQLiteFile(t, path, nil)), easy.Logger(slog.New(slog.NewTextHandler(io.Discard, nil))))
	first.Include(easy.CRUDRouter[Product]())
	ws.NewManager(ws.Heartbeat(0), ws.ShareVia(mem)).Watch(first, Product{})
	srv := httptest.NewServer(first)
	before := tail()
	write(t, srv, "POST", "/products", `{"name":"apple","price":1}`)
	eventually(t, "the apple's event reaches the broker", func() bool { return tail() == before+1 })
	srv.Close()
	if err := first.Close(ctx); err != nil {
		t.Fatal(err)
	}
	// The second run's resources start at the time, in microseconds, some
	// way above the outbox's counter.
	time.Sleep(10 * time.Millisecond)
	down := &flaky{Broker: mem}
	down.set(true)
	second := newInstance(t, testkit.SQLiteFile(t, path, nil), down)
	write(t, second.srv, "POST", "/products", `{"name":"pear","price":2}`)
	time.Sleep(200 * time.Millisecond) // some ten trims
	down.set(false)
	eventually(t, "the pear's event reaches the broker", func() bool { return tail() == before+2 })
}
