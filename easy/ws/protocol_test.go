package ws_test

import (
	"context"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/fastapi-easy/easy-go/easy/ws"
)

func TestConnectedClientGetsEveryEventWithoutSubscribing(t *testing.T) {
	m, s, srv := newServer(t)
	c := dialReady(t, wsURL(srv, "/ws/items"))
	base := m.Seq("items")

	s.create("apple", 10.5)
	s.update(1, 12)
	s.delete(1)

	expect(t, c,
		fmt.Sprintf(`{"type":"create","resource":"items","id":1,"data":{"id":1,"name":"apple","price":10.5},"seq":%d}`, base+1),
		fmt.Sprintf(`{"type":"update","resource":"items","id":1,"data":{"id":1,"name":"apple","price":12},"seq":%d}`, base+2),
		fmt.Sprintf(`{"type":"delete","resource":"items","id":1,"seq":%d}`, base+3),
	)
}

func TestEventDataIsSentAsPublished(t *testing.T) {
	m, _, srv := newServer(t)
	c := dialReady(t, wsURL(srv, "/ws/items"))
	base := m.Seq("items")

	m.Publish("items", ws.Change{Op: ws.TypeCreate, Key: "a<b", Data: []byte(`{"name":"<b>&"}`)})

	expect(t, c, fmt.Sprintf(`{"type":"create","resource":"items","id":"a<b","data":{"name":"<b>&"},"seq":%d}`, base+1))
}

func TestSubscribeAnswersWithSnapshotThenLaterEvents(t *testing.T) {
	m, s, srv := newServer(t)
	s.create("apple", 10.5)
	s.create("pear", 3)
	c := dialReady(t, wsURL(srv, "/ws/items"))
	seq := m.Seq("items")

	send(t, c, `{"type":"subscribe"}`)
	expect(t, c, fmt.Sprintf(`{"type":"initial","resource":"items","data":[{"id":1,"name":"apple","price":10.5},{"id":2,"name":"pear","price":3}],"seq":%d}`, seq))
	s.create("plum", 1)
	expect(t, c, fmt.Sprintf(`{"type":"create","resource":"items","id":3,"data":{"id":3,"name":"plum","price":1},"seq":%d}`, seq+1))
}

// A snapshot cut at its limit says so with "more"; one that holds every
// row that matched has no such field.
func TestSubscribeLimitCapsTheSnapshot(t *testing.T) {
	m, s, srv := newServer(t)
	s.create("apple", 10.5)
	s.create("pear", 3)
	c := dialReady(t, wsURL(srv, "/ws/items"))

	send(t, c, `{"type":"subscribe","limit":1}`)
	expect(t, c, fmt.Sprintf(`{"type":"initial","resource":"items","data":[{"id":1,"name":"apple","price":10.5}],"more":true,"seq":%d}`, m.Seq("items")))
	send(t, c, `{"type":"subscribe","limit":2}`)
	expect(t, c, fmt.Sprintf(`{"type":"initial","resource":"items","data":[{"id":1,"name":"apple","price":10.5},{"id":2,"name":"pear","price":3}],"seq":%d}`, m.Seq("items")))
}

func TestSubscribeFilterNarrowsSnapshotAndEvents(t *testing.T) {
	m, s, srv := newServer(t)
	s.create("apple", 10.5)
	s.create("pear", 3)
	c := dialReady(t, wsURL(srv, "/ws/items"))
	seq := m.Seq("items")

	send(t, c, `{"type":"subscribe","filter":{"price__gt":5}}`) // a number is taken as its text
	expect(t, c, fmt.Sprintf(`{"type":"initial","resource":"items","data":[{"id":1,"name":"apple","price":10.5}],"seq":%d}`, seq))

	s.create("plum", 1)   // does not match: not sent
	s.update(2, 7)        // now matches: sent
	s.delete(3)           // a delete without a row passes every filter
	s.create("melon", 20) // matches
	expect(t, c,
		fmt.Sprintf(`{"type":"update","resource":"items","id":2,"data":{"id":2,"name":"pear","price":7},"seq":%d}`, seq+2),
		fmt.Sprintf(`{"type":"delete","resource":"items","id":3,"seq":%d}`, seq+3),
		fmt.Sprintf(`{"type":"create","resource":"items","id":4,"data":{"id":4,"name":"melon","price":20},"seq":%d}`, seq+4),
	)
}

func TestUnsubscribeStopsEventsUntilNextSubscribe(t *testing.T) {
	m, s, srv := newServer(t)
	c := dialReady(t, wsURL(srv, "/ws/items"))

	send(t, c, `{"type":"unsubscribe"}`)
	send(t, c, `{"type":"ping"}`)
	expect(t, c, `{"type":"pong"}`) // the unsubscribe has been handled
	s.create("apple", 10.5)
	send(t, c, `{"type":"ping"}`)
	expect(t, c, `{"type":"pong"}`) // the create was not sent before it

	send(t, c, `{"type":"subscribe"}`)
	seq := m.Seq("items")
	expect(t, c, fmt.Sprintf(`{"type":"initial","resource":"items","data":[{"id":1,"name":"apple","price":10.5}],"seq":%d}`, seq))
	s.create("pear", 3)
	expect(t, c, fmt.Sprintf(`{"type":"create","resource":"items","id":2,"data":{"id":2,"name":"pear","price":3},"seq":%d}`, seq+1))
}

func TestBadMessagesGetAnErrorAndTheConnectionStaysOpen(t *testing.T) {
	_, _, srv := newServer(t)
	c := dialReady(t, wsURL(srv, "/ws/items"))

	for _, tc := range []struct {
		name, msg, detail string
	}{
		{"invalid JSON", `{nope`, `invalid JSON: expected an object with a \"type\"`},
		{"not an object", `[1,2]`, `invalid JSON: expected an object with a \"type\"`},
		{"no type", `{"filter":{}}`, `message has no \"type\"`},
		{"unknown type", `{"type":"dance"}`, `unknown message type \"dance\"`},
		{"filter not an object", `{"type":"subscribe","filter":"x"}`, `filter must be an object`},
		{"filter value null", `{"type":"subscribe","filter":{"name":null}}`, `filter \"name\" must be a string, a number or a boolean`},
		{"unknown filter field", `{"type":"subscribe","filter":{"colour":"red"}}`, `unknown filter field \"colour\"`},
		{"bad filter value", `{"type":"subscribe","filter":{"price__gt":"cheap"}}`, `price__gt: \"cheap\" is not a number`},
		{"limit zero", `{"type":"subscribe","limit":0}`, `limit must be an integer from 1 to 1000`},
		{"limit not a number", `{"type":"subscribe","limit":"ten"}`, `limit must be an integer from 1 to 1000`},
		{"limit too high", `{"type":"subscribe","limit":1001}`, `limit must be an integer from 1 to 1000`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			send(t, c, tc.msg)
			expect(t, c, `{"type":"error","detail":"`+tc.detail+`"}`)
		})
	}
	send(t, c, `{"type":"ping"}`)
	expect(t, c, `{"type":"pong"}`)
}

func TestHeartbeatSendsPing(t *testing.T) {
	_, _, srv := newServer(t, ws.Heartbeat(20*time.Millisecond))
	c := dial(t, wsURL(srv, "/ws/items"))
	expect(t, c, `{"type":"ping"}`, `{"type":"ping"}`)
}

func TestDeadPeerIsDropped(t *testing.T) {
	var codes = make(chan websocket.StatusCode, 1)
	m, _, srv := newServer(t,
		ws.Heartbeat(20*time.Millisecond),
		ws.WriteTimeout(200*time.Millisecond),
		ws.OnDisconnect(func(_ *ws.Conn, code websocket.StatusCode) { codes <- code }))
	dial(t, wsURL(srv, "/ws/items")) // never read: pings are not answered

	eventually(t, "the silent peer is dropped", func() bool { return m.Count() == 0 && len(codes) == 1 })
	if code := <-codes; code != websocket.StatusAbnormalClosure {
		t.Fatalf("dropped with %v, want 1006", code)
	}
}

func TestResumeWithSinceReplaysMissedEvents(t *testing.T) {
	m, s, srv := newServer(t)
	base := m.Seq("items")
	for i := range 5 {
		s.create(fmt.Sprint("item", i+1), float64(i))
	}
	c := dial(t, wsURL(srv, fmt.Sprintf("/ws/items?since=%d", base+3)))
	expect(t, c,
		fmt.Sprintf(`{"type":"create","resource":"items","id":4,"data":{"id":4,"name":"item4","price":3},"seq":%d}`, base+4),
		fmt.Sprintf(`{"type":"create","resource":"items","id":5,"data":{"id":5,"name":"item5","price":4},"seq":%d}`, base+5),
	)
	s.create("item6", 5)
	expect(t, c, fmt.Sprintf(`{"type":"create","resource":"items","id":6,"data":{"id":6,"name":"item6","price":5},"seq":%d}`, base+6))
}

func TestResumeWithSinceKeepsTheFilter(t *testing.T) {
	m, s, srv := newServer(t)
	base := m.Seq("items")
	s.create("apple", 10)
	s.create("pear", 1)
	c := dial(t, wsURL(srv, fmt.Sprintf(`/ws/items?since=%d&filter={"price__gt":"5"}`, base)))
	expect(t, c, fmt.Sprintf(`{"type":"create","resource":"items","id":1,"data":{"id":1,"name":"apple","price":10},"seq":%d}`, base+1))
	s.create("melon", 20)
	expect(t, c, fmt.Sprintf(`{"type":"create","resource":"items","id":3,"data":{"id":3,"name":"melon","price":20},"seq":%d}`, base+3))
}

func TestResumeImpossibleGetsReset(t *testing.T) {
	m, s, srv := newServer(t, ws.HistorySize(3))
	base := m.Seq("items")
	for i := range 5 {
		s.create(fmt.Sprint("item", i+1), float64(i))
	}
	for _, tc := range []struct {
		name  string
		since func() uint64
	}{
		{"older than the history", func() uint64 { return base + 1 }},
		{"from an earlier run of the server", func() uint64 { return 41 }},
		{"ahead of the last event", func() uint64 { return m.Seq("items") + 1 }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := dial(t, wsURL(srv, fmt.Sprintf("/ws/items?since=%d", tc.since())))
			expect(t, c, `{"type":"reset","resource":"items"}`)
			s.create("next", 1) // after a reset, the events from now on
			ev := event(t, next(t, c))
			if ev.Type != ws.TypeCreate || ev.Seq != m.Seq("items") {
				t.Fatalf("after reset got %+v, want the create with seq %d", ev, m.Seq("items"))
			}
		})
	}
	t.Run("oldest event still held", func(t *testing.T) {
		seq := m.Seq("items")
		c := dial(t, wsURL(srv, fmt.Sprintf("/ws/items?since=%d", seq-3)))
		for want := seq - 2; want <= seq; want++ {
			if ev := event(t, next(t, c)); ev.Seq != want {
				t.Fatalf("got seq %d, want %d", ev.Seq, want)
			}
		}
	})
}

func TestOnMessageExtendsTheProtocol(t *testing.T) {
	_, _, srv := newServer(t, ws.OnMessage(func(ctx context.Context, c *ws.Conn, msg []byte) error {
		if string(msg) == `{"type":"hello"}` {
			return c.Send([]byte(`{"type":"hi"}`))
		}
		return fmt.Errorf("cannot handle %s", msg)
	}))
	c := dialReady(t, wsURL(srv, "/ws/items"))

	send(t, c, `{"type":"hello"}`)
	expect(t, c, `{"type":"hi"}`)
	send(t, c, `{"type":"other"}`)
	expect(t, c, `{"type":"error","detail":"cannot handle {\"type\":\"other\"}"}`)
}

func TestSubscribeWithoutSourceIsAnError(t *testing.T) {
	m := ws.NewManager(quiet)
	m.AddResource("logs", nil)
	srv := serve(t, m, nil)
	c := dialReady(t, wsURL(srv, "/ws/logs"))

	send(t, c, `{"type":"subscribe"}`)
	expect(t, c, `{"type":"error","detail":"subscribe is not available for this resource"}`)
	m.Publish("logs", ws.Change{Op: ws.TypeCreate, Key: 1, Data: []byte(`{"line":"x"}`)})
	expect(t, c, fmt.Sprintf(`{"type":"create","resource":"logs","id":1,"data":{"line":"x"},"seq":%d}`, m.Seq("logs")))
}

func TestAuthorizeHidesEventsAndSnapshotRows(t *testing.T) {
	m, s, srv := newServer(t,
		ws.Authenticate(func(r *http.Request) (any, error) { return r.URL.Query().Get("user"), nil }),
		ws.Authorize(func(principal any, resource string, c ws.Change) bool {
			// "cheap" sees only rows under 5; a delete has no row to judge.
			return principal != "cheap" || c.Row == nil || c.Row.(*item).Price < 5
		}))
	s.create("apple", 10)
	s.create("pear", 3)
	c := dialReady(t, wsURL(srv, "/ws/items?user=cheap"))
	seq := m.Seq("items")

	send(t, c, `{"type":"subscribe"}`)
	expect(t, c, fmt.Sprintf(`{"type":"initial","resource":"items","data":[{"id":2,"name":"pear","price":3}],"seq":%d}`, seq))
	s.create("melon", 20)
	s.create("plum", 1)
	expect(t, c, fmt.Sprintf(`{"type":"create","resource":"items","id":4,"data":{"id":4,"name":"plum","price":1},"seq":%d}`, seq+2))
}

func TestEventPublishedRightAfterTheHandshakeIsDelivered(t *testing.T) {
	m, s, srv := newServer(t)
	for i := range 50 {
		c := dial(t, wsURL(srv, "/ws/items")) // no ping first: the handshake alone is enough
		it := s.create("apple", float64(i))
		if ev := event(t, next(t, c)); ev.Seq != m.Seq("items") || string(ev.ID) != fmt.Sprint(it.ID) {
			t.Fatalf("connection %d got %+v, want the create of %d", i, ev, it.ID)
		}
		c.CloseNow()
	}
}

func TestResumeLongerThanTheSendQueueIsNotASlowConsumer(t *testing.T) {
	m, s, srv := newServer(t, ws.SendQueue(4), ws.HistorySize(100))
	base := m.Seq("items")
	// A witness sees the 60 events go by, so that the fan-out is past them
	// when the resuming client connects: what it missed is then one resume
	// from the history, not 60 live events racing a 4-slot queue.
	witness := dial(t, wsURL(srv, "/ws/items"))
	for i := range 60 {
		s.create(fmt.Sprint("item", i), float64(i))
		next(t, witness)
	}
	c := dial(t, wsURL(srv, fmt.Sprintf("/ws/items?since=%d", base)))
	for want := base + 1; want <= base+60; want++ {
		if ev := event(t, next(t, c)); ev.Seq != want {
			t.Fatalf("got seq %d, want %d", ev.Seq, want)
		}
	}
	if got := m.Stats().DroppedSlow; got != 0 {
		t.Fatalf("DroppedSlow = %d, want 0", got)
	}
}
