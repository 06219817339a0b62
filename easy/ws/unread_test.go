package ws_test

import (
	"context"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fastapi-easy/easy-go/easy/ws"
)

// countingStore counts the snapshots read from it.
type countingStore struct {
	*store
	reads atomic.Int32
}

func (s *countingStore) Snapshot(ctx context.Context, f ws.Filter, limit int) ([]ws.Change, uint64, error) {
	s.reads.Add(1)
	return s.store.Snapshot(ctx, f, limit)
}

// A client that has not read its last snapshot for a second is not
// reading: its next subscribes are answered with an error, without a read
// of the database, so that a flood of subscribes from a client that never
// reads costs one snapshot. Once it reads, it finds the snapshot, then
// the errors, in order.
func TestSubscribeWhileTheLastSnapshotIsUnread(t *testing.T) {
	m := ws.NewManager(quiet, smallSocket, ws.WriteTimeout(30*time.Second), ws.CloseTimeout(30*time.Second))
	s := &countingStore{store: newStore(m)}
	m.AddResource("items", s)
	for i := range 2000 {
		s.create(strings.Repeat("x", 80)+string(rune('a'+i%26)), float64(i))
	}
	srv := httptest.NewServer(m)
	t.Cleanup(func() { m.Shutdown(context.Background()); srv.Close() })
	c := dialStuck(t, wsURL(srv, "/ws/items"))

	send(t, c, `{"type":"subscribe"}`) // about 250 KB: more than the socket takes
	eventually(t, "the first snapshot read", func() bool { return s.reads.Load() == 1 })
	time.Sleep(1200 * time.Millisecond)
	for range 3 {
		send(t, c, `{"type":"subscribe"}`)
	}
	const refused = `{"type":"error","detail":"the last snapshot has not been read: read it before subscribing again"}`
	if ev := event(t, next(t, c)); ev.Type != "initial" {
		t.Fatalf("first message %s, want initial", ev.Type)
	}
	expect(t, c, refused, refused, refused)
	if n := s.reads.Load(); n != 1 {
		t.Errorf("%d snapshots read, want 1", n)
	}

	// Having read, the client subscribes again and gets a snapshot.
	send(t, c, `{"type":"subscribe","limit":1}`)
	if ev := event(t, next(t, c)); ev.Type != "initial" {
		t.Errorf("after reading: %s, want initial", ev.Type)
	}
}
