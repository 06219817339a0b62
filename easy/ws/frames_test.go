package ws_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fastapi-easy/easy-go/easy/ws"
)

// publishN publishes n creates of items, numbered from 1.
func publishN(m *ws.Manager, n int) {
	changes := make([]ws.Change, n)
	for i := range changes {
		changes[i] = ws.Change{Op: ws.TypeCreate, Key: i + 1, Data: json.RawMessage(fmt.Sprintf(`{"id":%d}`, i+1))}
	}
	m.Publish("items", changes...)
}

// creates is what the events of publishN are on the wire, after base.
func creates(base uint64, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf(`{"type":"create","resource":"items","id":%d,"data":{"id":%d},"seq":%d}`, i+1, i+1, base+uint64(i)+1)
	}
	return out
}

// A resume replays the missed events as one item of the queue: with
// batch=1 they arrive as one frame, a JSON array in order; without, one
// frame each.
func TestBatchJoinsQueuedMessagesInOneFrame(t *testing.T) {
	m := ws.NewManager(quiet, ws.Heartbeat(0))
	m.AddResource("items", nil)
	srv := serve(t, m, nil)
	base := m.Seq("items")
	publishN(m, 5)
	want := creates(base, 5)

	batched := dial(t, wsURL(srv, fmt.Sprintf("/ws/items?since=%d&batch=1", base)))
	expect(t, batched, "["+strings.Join(want, ",")+"]")
	plain := dial(t, wsURL(srv, fmt.Sprintf("/ws/items?since=%d&batch=0", base)))
	expect(t, plain, want...)

	// One message queued alone goes as itself, not as an array of one.
	send(t, batched, `{"type":"ping"}`)
	expect(t, batched, `{"type":"pong"}`)
}

// A batched frame stays within 64 KiB: a longer replay is split into
// several frames that, together, hold every message once and in order.
func TestBatchSplitsFramesAtTheirBound(t *testing.T) {
	m := ws.NewManager(quiet, ws.Heartbeat(0))
	m.AddResource("items", nil)
	srv := serve(t, m, nil)
	base := m.Seq("items")
	pad := strings.Repeat("x", 1000)
	changes := make([]ws.Change, 200)
	for i := range changes {
		changes[i] = ws.Change{Op: ws.TypeCreate, Key: i + 1, Data: json.RawMessage(fmt.Sprintf(`{"id":%d,"pad":%q}`, i+1, pad))}
	}
	m.Publish("items", changes...)

	c := dial(t, wsURL(srv, fmt.Sprintf("/ws/items?since=%d&batch=true", base)))
	var got []ws.Event
	frames := 0
	for len(got) < len(changes) {
		msg := next(t, c)
		if len(msg) > 64<<10 {
			t.Fatalf("a frame of %d bytes, over 64 KiB", len(msg))
		}
		var evs []ws.Event
		if err := json.Unmarshal([]byte(msg), &evs); err != nil {
			t.Fatalf("frame %d is not an array: %.100s", frames, msg)
		}
		got = append(got, evs...)
		frames++
	}
	for i, ev := range got {
		if ev.Seq != base+uint64(i)+1 {
			t.Fatalf("event %d has seq %d, want %d", i, ev.Seq, base+uint64(i)+1)
		}
	}
	if frames < 4 || frames > 200/2 {
		t.Fatalf("%d events of ~1 KiB came in %d frames, want 4 (of 64 KiB) to 100", len(got), frames)
	}
}

func TestBatchMustBeABoolean(t *testing.T) {
	m := ws.NewManager(quiet)
	m.AddResource("items", nil)
	srv := serve(t, m, nil)
	status, body := refusal(t, wsURL(srv, "/ws/items?batch=maybe"), nil)
	const want = `{"detail":[{"type":"bool_parsing","loc":["query","batch"],"msg":"Input should be a valid boolean, unable to interpret input","input":"maybe"}]}`
	if status != 422 || body != want {
		t.Fatalf("batch=maybe: %d %s\nwant 422 %s", status, body, want)
	}
}

// The Go client with DialBatch asks for batched frames and unpacks them
// into its events: the three events of the history it resumes from go
// out together as one frame.
func TestClientDialBatchUnpacksFrames(t *testing.T) {
	m := ws.NewManager(quiet, ws.Heartbeat(0))
	m.AddResource("items", nil)
	var asked atomic.Value // the batch parameter of the handshake
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		asked.Store(r.URL.Query().Get("batch"))
		m.ServeHTTP(w, r)
	}))
	t.Cleanup(func() { m.Shutdown(context.Background()); srv.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	base := m.Seq("items")
	publishN(m, 3)
	cl, err := ws.Dial(ctx, wsURL(srv, fmt.Sprintf("/ws/items?since=%d", base)), ws.DialBatch())
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	for i := range 3 {
		ev, err := cl.Next(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if ev.Type != ws.TypeCreate || ev.Seq != base+uint64(i)+1 {
			t.Fatalf("event %d: %+v", i, ev)
		}
	}
	if seq, _ := cl.Seq(); seq != base+3 {
		t.Fatalf("client seq %d, want %d", seq, base+3)
	}
	if got, _ := asked.Load().(string); got != "1" {
		t.Fatalf("the client's handshake asked batch=%q, want 1", got)
	}
}
