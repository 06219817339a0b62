package ws_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/fastapi-easy/easy-go/easy/ws"
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
