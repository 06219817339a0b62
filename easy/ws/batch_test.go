package ws_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
	"gorm.io/gorm"

	"github.com/fastapi-easy/easy-go/easy"
	"github.com/fastapi-easy/easy-go/easy/crud"
	"github.com/fastapi-easy/easy-go/easy/ws"
	"github.com/fastapi-easy/easy-go/internal/testkit"
)

// Gadget is a model whose CRUD router takes batches.
type Gadget struct {
	ID    uint    `json:"id" gorm:"primaryKey"`
	Name  string  `json:"name" required:"true" minLength:"1"`
	Price float64 `json:"price" minimum:"0"`
}

// inbox reads every message of a connection as it comes, so that a test
// can look at what has arrived at any moment.
type inbox struct {
	mu  sync.Mutex
	got []wire
	new chan struct{}
}

func read(t *testing.T, c *websocket.Conn) *inbox {
	in := &inbox{new: make(chan struct{}, 1)}
	go func() {
		for {
			_, b, err := c.Read(context.Background())
			if err != nil {
				return // the test closed the connection
			}
			var w wire
			if err := json.Unmarshal(b, &w); err != nil {
				t.Errorf("not JSON: %s", b)
				return
			}
			in.mu.Lock()
			in.got = append(in.got, w)
			in.mu.Unlock()
			select {
			case in.new <- struct{}{}:
			default:
			}
		}
	}()
	return in
}

// len is how many messages have arrived.
func (in *inbox) len() int {
	in.mu.Lock()
	defer in.mu.Unlock()
	return len(in.got)
}

// wait returns the first n messages, once they have arrived.
func (in *inbox) wait(t *testing.T, n int) []wire {
	t.Helper()
	deadline := time.After(5 * time.Second)
	for in.len() < n {
		select {
		case <-in.new:
		case <-deadline:
			t.Fatalf("%d messages after 5s, want %d", in.len(), n)
		}
	}
	in.mu.Lock()
	defer in.mu.Unlock()
	return slices.Clone(in.got[:n])
}

// TestBatchEventsAfterCommit checks, on each database, that a client
// connected during a batch receives one event per row, in the order of
// the operations, and none before the commit; that a failed batch sends
// none; and that a subscription filtered with an OR group and the new
// operators lets through the rows that match.
func TestBatchEventsAfterCommit(t *testing.T) {
	testkit.Each(t, nil, func(t *testing.T, db *gorm.DB) {
		var mu sync.Mutex // the hooks run in the server's goroutines
		var during []int  // messages arrived when each operation ran
		var all *inbox
		seen := func(context.Context, *gorm.DB, *Gadget) error {
			time.Sleep(20 * time.Millisecond) // time for an early event to arrive
			mu.Lock()
			defer mu.Unlock()
			during = append(during, all.len())
			return nil
		}
		app := easy.New(easy.DB(db), easy.Logger(slog.New(slog.NewTextHandler(io.Discard, nil))))
		app.Include(easy.CRUDRouter[Gadget](crud.Batch()).BeforeCreate(seen).BeforeUpdate(seen).BeforeDelete(seen))
		ws.NewManager(ws.Heartbeat(0)).Watch(app, Gadget{})
		srv := httptest.NewServer(app)
		t.Cleanup(func() {
			app.Close(context.Background())
			srv.Close()
		})
		mu.Lock()
		all = read(t, listen(t, srv, "gadgets"))
		mu.Unlock()
		filtered := listen(t, srv, "gadgets")
		send(t, filtered, `{"type":"subscribe","filter":{"or[name__istartswith]":"X","or[price__gte]":100,"name__nin":"xb,x2"}}`)
		if w := receive(t, filtered); w.Type != "initial" || string(w.Data) != "[]" {
			t.Fatalf("subscribe: %s %s", w.Type, w.Data)
		}
		some := read(t, filtered)

		status, body := request(t, srv, "POST", "/gadgets/batch", `[
			{"op":"create","body":{"name":"a","price":1}},
			{"op":"create","body":{"name":"xb","price":2}},
			{"op":"update","id":1,"body":{"price":3}},
			{"op":"delete","id":2},
			{"op":"create","body":{"name":"x3","price":4}},
			{"op":"create","body":{"name":"pricey","price":150}}
		]`)
		if status != 200 {
			t.Fatalf("batch: %d %s", status, body)
		}
		mu.Lock()
		if !slices.Equal(during, []int{0, 0, 0, 0, 0, 0}) {
			t.Errorf("messages had arrived while the batch ran: %v", during)
		}
		during = nil
		mu.Unlock()
		var results []struct {
			Body json.RawMessage `json:"body"`
		}
		json.Unmarshal([]byte(body), &results)
		want := []struct{ typ, id, data string }{
			{"create", "1", string(results[0].Body)},
			{"create", "2", string(results[1].Body)},
			{"update", "1", string(results[2].Body)},
			{"delete", "2", ""},
			{"create", "3", string(results[4].Body)},
			{"create", "4", string(results[5].Body)},
		}
		got := all.wait(t, len(want))
		for i, w := range want {
			g := got[i]
			if g.Type != w.typ || string(g.ID) != w.id || w.data != "" && !sameJSON(g.Data, w.data) || i > 0 && g.Seq != got[i-1].Seq+1 {
				t.Errorf("event %d: %s %s %s seq %d, want %s %s %s", i, g.Type, g.ID, g.Data, g.Seq, w.typ, w.id, w.data)
			}
		}

		// A batch that fails sends nothing: the next event is the POST's.
		status, body = request(t, srv, "POST", "/gadgets/batch", `[{"op":"create","body":{"name":"ghost"}},{"op":"update","id":99,"body":{"price":1}}]`)
		if status != 404 || body != `{"detail":"Operation 1: Gadget not found"}` {
			t.Errorf("failing batch: %d %s", status, body)
		}
		request(t, srv, "POST", "/gadgets", `{"name":"after","price":1}`)
		next := all.wait(t, len(want)+1)[len(want)]
		var after Gadget
		json.Unmarshal(next.Data, &after)
		if next.Type != "create" || after.Name != "after" || next.Seq != got[len(got)-1].Seq+1 {
			t.Errorf("after the failed batch: %s %s seq %d", next.Type, next.Data, next.Seq)
		}

		// The filtered subscription saw x3 and pricey alone (xb is left out
		// by name__nin, a by the OR group).
		events := some.wait(t, 2)
		if events[0].Type != "create" || string(events[0].ID) != "3" || events[1].Type != "create" || string(events[1].ID) != "4" {
			t.Errorf("filtered events: %+v", events)
		}
		time.Sleep(50 * time.Millisecond)
		if n := some.len(); n != 2 {
			t.Errorf("the filtered subscription got %d events, want 2", n)
		}
	})
}
