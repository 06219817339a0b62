package ws_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/redis/go-redis/v9"

	"github.com/fastapi-easy/easy-go/easy/ws"
	"github.com/fastapi-easy/easy-go/internal/testkit"
)

// room is an instance of a chat-like app: a custom group "room", whose
// connections are named by ?user=, and the resource "items".
type room struct {
	m   *ws.Manager
	srv *httptest.Server
}

func newRoom(t *testing.T, b ws.Broker, opts ...ws.Option) *room {
	t.Helper()
	opts = append([]ws.Option{quiet, ws.Heartbeat(0), ws.ShareVia(b),
		ws.Authenticate(func(r *http.Request) (any, error) { return r.URL.Query().Get("user"), nil })}, opts...)
	m := ws.NewManager(opts...)
	m.AddResource("items", nil)
	h := m.Handler("room", func(ctx context.Context, c *ws.Conn) error {
		for {
			msg, err := c.Read(ctx)
			if err != nil {
				return err
			}
			if string(msg) == "who" {
				p, err := m.PresenceMessage(ctx, "room")
				if err != nil {
					return err
				}
				c.Send(p)
			}
		}
	})
	return &room{m: m, srv: serve(t, m, map[string]http.Handler{"/room": h})}
}

// join connects user to the room and returns the connection and its ID.
func (r *room) join(t *testing.T, user string) (*websocket.Conn, string) {
	t.Helper()
	before := r.m.Conns()
	c := dial(t, wsURL(r.srv, "/room?user="+user))
	var id string
	eventually(t, user+" registered", func() bool {
		for _, x := range r.m.Conns() {
			if !slices.Contains(before, x) && x.Principal() == user {
				id = x.ID()
				return true
			}
		}
		return false
	})
	return c, id
}

// brokerFor returns the broker two instances share, of the given kind.
func brokerFor(t *testing.T, kind string) (ws.Broker, ws.Broker) {
	for _, bp := range brokerPairs {
		if bp.name == kind {
			return bp.pair(t)
		}
	}
	t.Fatalf("no broker %q", kind)
	return nil, nil
}

// Broadcast, Send, SendTo and BroadcastAll on one instance reach the
// connections of the other, through the broker.
func TestChannelsReachEveryInstance(t *testing.T) {
	for _, kind := range []string{"memory", "redis"} {
		t.Run(kind, func(t *testing.T) {
			ba, bb := brokerFor(t, kind)
			a, b := newRoom(t, ba), newRoom(t, bb)
			annA, _ := a.join(t, "ann")
			annB, _ := b.join(t, "ann")
			bob, bobID := b.join(t, "bob")
			items := dial(t, wsURL(b.srv, "/ws/items"))

			if n := a.m.Broadcast("room", []byte("hello")); n != 1 {
				t.Fatalf("Broadcast reached %d here, want 1", n)
			}
			expect(t, annA, "hello")
			expect(t, annB, "hello")
			expect(t, bob, "hello")

			if err := a.m.Send(bobID, []byte("to bob")); err != nil {
				t.Fatalf("Send to a connection of the other instance: %v", err)
			}
			expect(t, bob, "to bob")

			if n := a.m.SendTo("ann", []byte("for ann")); n != 1 {
				t.Fatalf("SendTo reached %d here, want 1", n)
			}
			expect(t, annA, "for ann")
			expect(t, annB, "for ann")

			if n := a.m.BroadcastAll([]byte("to all")); n != 1 {
				t.Fatalf("BroadcastAll reached %d here, want 1", n)
			}
			expect(t, annA, "to all")
			expect(t, annB, "to all")
			expect(t, bob, "to all") // not "for ann": SendTo passed bob by
			expect(t, items, "to all")

			// An ID of this instance that is not open, and one of no
			// instance, are unknown.
			aID := a.m.Conns()[0].ID()
			inst, _, _ := strings.Cut(aID, "-")
			for _, id := range []string{inst + "-999999", "nobody"} {
				if err := a.m.Send(id, []byte("x")); !errors.Is(err, ws.ErrUnknownConn) {
					t.Fatalf("Send(%q) = %v, want ErrUnknownConn", id, err)
				}
			}
		})
	}
}

// member decodes the member of a join or leave message, checking its
// type and group.
func member(t *testing.T, msg, typ, group string) ws.Member {
	t.Helper()
	var m struct {
		Type  string    `json:"type"`
		Group string    `json:"group"`
		Data  ws.Member `json:"data"`
	}
	if err := json.Unmarshal([]byte(msg), &m); err != nil || m.Type != typ || m.Group != group {
		t.Fatalf("got %s (%v), want a %s of %s", msg, err, typ, group)
	}
	return m.Data
}

// presence asks c for the presence of its group with ask and returns the
// members of the answer.
func presence(t *testing.T, c *websocket.Conn, ask, group string) []ws.Member {
	t.Helper()
	send(t, c, ask)
	var p struct {
		Type  string      `json:"type"`
		Group string      `json:"group"`
		Data  []ws.Member `json:"data"`
	}
	msg := next(t, c)
	if err := json.Unmarshal([]byte(msg), &p); err != nil || p.Type != "presence" || p.Group != group {
		t.Fatalf("got %s (%v), want the presence of %s", msg, err, group)
	}
	return p.Data
}

func ids(members []ws.Member) []string {
	out := make([]string, len(members))
	for i, m := range members {
		out[i] = m.ID + "=" + m.Principal
	}
	return out
}

// Presence lists the members of a group on both instances, oldest
// first, for Go and for a client's message; join and leave events reach
// the group's connections on both.
func TestPresenceAcrossInstances(t *testing.T) {
	for _, kind := range []string{"memory", "redis"} {
		t.Run(kind, func(t *testing.T) {
			ba, bb := brokerFor(t, kind)
			opts := []ws.Option{ws.PresenceEvents("room"), ws.PresenceQuery("items")}
			a, b := newRoom(t, ba, opts...), newRoom(t, bb, opts...)
			start := time.Now().Add(-time.Second)
			ann, annID := a.join(t, "ann")
			if got := member(t, next(t, ann), "join", "room"); got.ID != annID || got.Principal != "ann" || got.Since.Before(start) {
				t.Fatalf("ann's own join: %+v", got)
			}
			flush(t, a, b) // else ann's join may reach bob, who connects next
			bob, bobID := b.join(t, "bob")
			if got := member(t, next(t, ann), "join", "room"); got.ID != bobID || got.Principal != "bob" {
				t.Fatalf("ann hears %+v join, want bob %s", got, bobID)
			}
			member(t, next(t, bob), "join", "room")
			anon, anonID := b.join(t, "")
			for _, c := range []*websocket.Conn{ann, bob, anon} {
				if got := member(t, next(t, c), "join", "room"); got.ID != anonID || got.Principal != "" {
					t.Fatalf("join of the anonymous connection: %+v", got)
				}
			}

			want := []string{annID + "=ann", bobID + "=bob", anonID + "="}
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			for _, r := range []*room{a, b} {
				var got []ws.Member
				eventually(t, "both instances' members", func() bool {
					var err error
					got, err = r.m.Presence(ctx, "room")
					return err == nil && slices.Equal(ids(got), want)
				})
				if !got[0].Since.Before(got[1].Since) || got[0].Group != "room" {
					t.Fatalf("members not oldest first: %+v", got)
				}
			}
			if got := ids(presence(t, bob, "who", "room")); !slices.Equal(got, want) {
				t.Fatalf("the answer to who: %v, want %v", got, want)
			}

			// A resource endpoint answers {"type":"presence"}, for its own
			// group; items has no join events, as they were asked for room.
			items, _ := dialReadyPair(t, a, b)
			got := presence(t, items, `{"type":"presence"}`, "items")
			if len(got) != 2 || got[0].Group != "items" {
				t.Fatalf("presence of items: %+v", got)
			}

			bob.Close(websocket.StatusNormalClosure, "")
			for _, c := range []*websocket.Conn{ann, anon} {
				if got := member(t, next(t, c), "leave", "room"); got.ID != bobID {
					t.Fatalf("leave of %+v, want bob %s", got, bobID)
				}
			}
			eventually(t, "bob gone from the presence", func() bool {
				got, err := a.m.Presence(ctx, "room")
				return err == nil && slices.Equal(ids(got), []string{annID + "=ann", anonID + "="})
			})
		})
	}
}

// flush waits until what a has sent to other instances so far has been
// delivered on b: a probe on b's items endpoint hears a broadcast that a
// sends after it, in order.
func flush(t *testing.T, a, b *room) {
	t.Helper()
	probe := dialReady(t, wsURL(b.srv, "/ws/items"))
	a.m.Broadcast("items", []byte("flush"))
	expect(t, probe, "flush")
	probe.Close(websocket.StatusNormalClosure, "")
	eventually(t, "the probe gone", func() bool {
		got, err := b.m.Presence(context.Background(), "items")
		return err == nil && len(got) == 0
	})
}

// dialReadyPair connects to items on both instances, the first one last,
// and waits until both show in the first's presence.
func dialReadyPair(t *testing.T, a, b *room) (*websocket.Conn, *websocket.Conn) {
	t.Helper()
	other := dialReady(t, wsURL(b.srv, "/ws/items"))
	c := dialReady(t, wsURL(a.srv, "/ws/items"))
	eventually(t, "both items connections present", func() bool {
		got, err := a.m.Presence(context.Background(), "items")
		return err == nil && len(got) == 2
	})
	return c, other
}

// Presence is shown to clients only when asked for; without a broker it
// is this instance's, and an unknown group is empty.
func TestPresenceOnOneInstance(t *testing.T) {
	hidden := ws.NewManager(quiet, ws.Heartbeat(0), ws.PresenceQuery("other"))
	hidden.AddResource("items", nil)
	c := dialReady(t, wsURL(serve(t, hidden, nil), "/ws/items"))
	send(t, c, `{"type":"presence"}`)
	expect(t, c, `{"type":"error","detail":"presence is not shown on this endpoint"}`)
	if got, err := hidden.Presence(context.Background(), "items"); err != nil || len(got) != 1 {
		t.Fatalf("Go sees the presence whatever the options: %+v %v", got, err)
	}

	m := ws.NewManager(quiet, ws.Heartbeat(0), ws.PresenceQuery())
	m.AddResource("items", nil)
	srv := serve(t, m, nil)
	c = dialReady(t, wsURL(srv, "/ws/items"))
	got := presence(t, c, `{"type":"presence"}`, "items")
	if len(got) != 1 || got[0].ID != m.Conns()[0].ID() || got[0].Instance != "" {
		t.Fatalf("presence without a broker: %+v", got)
	}
	// The Go client asks, and gets the members as a presence Event.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cl, err := ws.Dial(ctx, wsURL(srv, "/ws/items"), ws.DialBatch())
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	if err := cl.AskPresence(ctx); err != nil {
		t.Fatal(err)
	}
	ev, err := cl.Next(ctx)
	var members []ws.Member
	if err != nil || ev.Type != ws.TypePresence || ev.Group != "items" || ev.Decode(&members) != nil || len(members) != 2 {
		t.Fatalf("the Go client's presence: %+v %v, members %+v", ev, err, members)
	}
	if msg, err := m.PresenceMessage(context.Background(), "nobody"); err != nil || string(msg) != `{"type":"presence","group":"nobody","data":[]}` {
		t.Fatalf("presence of an empty group: %s %v", msg, err)
	}
}

// An answer to a presence question cut at SnapshotLimit says so with
// "more", to a client and to the Go client; one that names every member
// has no "more".
func TestACutPresenceAnswerSaysSo(t *testing.T) {
	m := ws.NewManager(quiet, ws.Heartbeat(0), ws.PresenceQuery(), ws.SnapshotLimit(1))
	m.AddResource("items", nil)
	srv := serve(t, m, nil)
	a := dialReady(t, wsURL(srv, "/ws/items"))
	answer := func(more string) string {
		members, err := m.Presence(context.Background(), "items")
		if err != nil {
			t.Fatal(err)
		}
		mem, _ := json.Marshal(members[0]) // the oldest
		return `{"type":"presence","group":"items","data":[` + string(mem) + `]` + more + `}`
	}
	send(t, a, `{"type":"presence"}`)
	expect(t, a, answer(""))

	cl := dialClient(t, wsURL(srv, "/ws/items"))
	eventually(t, "two members", func() bool { return m.Count() == 2 })
	send(t, a, `{"type":"presence"}`)
	expect(t, a, answer(`,"more":true`))
	if err := cl.AskPresence(context.Background()); err != nil {
		t.Fatal(err)
	}
	var members []ws.Member
	if ev := nextEvent(t, cl); ev.Type != ws.TypePresence || !ev.More || ev.Decode(&members) != nil || len(members) != 1 {
		t.Fatalf("the Go client's presence: %+v, want one member and more", ev)
	}
}

// A Redis broker that cannot be reached answers a client's presence with
// an error message, and the connection stays open.
func TestPresenceWithRedisDown(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens there now
	client := redis.NewClient(&redis.Options{Addr: addr, MaxRetries: -1, DialTimeout: 200 * time.Millisecond})
	defer client.Close()
	m := ws.NewManager(quiet, ws.Heartbeat(0), ws.PresenceQuery(), ws.ShareVia(ws.NewRedisBroker(client, randomPrefix())))
	m.AddResource("items", nil)
	srv := serve(t, m, nil)
	c := dial(t, wsURL(srv, "/ws/items"))
	send(t, c, `{"type":"presence"}`)
	expect(t, c, `{"type":"error","detail":"presence is unavailable: try again later"}`)
	send(t, c, `{"type":"ping"}`)
	expect(t, c, `{"type":"pong"}`)
}

// The child instance of TestKilledInstanceLeavesWithinTheTimeout: it
// serves a room on Redis and waits to be killed.
const childEnv = "EASY_WS_PRESENCE_CHILD"

func TestMain(m *testing.M) {
	if prefix := os.Getenv(childEnv); prefix != "" {
		runChild(prefix)
		return
	}
	os.Exit(m.Run())
}

func runChild(prefix string) {
	o, err := redis.ParseURL(os.Getenv(testkit.RedisEnv))
	if err != nil {
		fmt.Println("error", err)
		os.Exit(1)
	}
	m := ws.NewManager(ws.Heartbeat(0), ws.PresenceEvents(), ws.PresenceTimeout(time.Second),
		ws.ShareVia(ws.NewRedisBroker(redis.NewClient(o), prefix)),
		ws.Authenticate(func(r *http.Request) (any, error) { return r.URL.Query().Get("user"), nil }))
	h := m.Handler("room", func(ctx context.Context, c *ws.Conn) error {
		_, err := c.Read(ctx)
		return err
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Println("error", err)
		os.Exit(1)
	}
	fmt.Println("addr", ln.Addr())
	go http.Serve(ln, h)
	bufio.NewReader(os.Stdin).ReadString('\n') // ends with the parent
	os.Exit(0)
}

// An instance killed with SIGKILL, which cannot say goodbye, has its
// members removed by the other instance, with a leave event each, within
// the presence timeout and one beat of the survivor.
func TestKilledInstanceLeavesWithinTheTimeout(t *testing.T) {
	testkit.Require(t, testkit.RedisEnv)
	prefix := randomPrefix()
	const timeout = time.Second
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"="+prefix)
	stdin, _ := cmd.StdinPipe()
	stdout, _ := cmd.StdoutPipe()
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		stdin.Close()
		cmd.Process.Kill()
		cmd.Wait()
	})
	line, err := bufio.NewReader(stdout).ReadString('\n')
	addr, ok := strings.CutPrefix(strings.TrimSpace(line), "addr ")
	if err != nil || !ok {
		t.Fatalf("child said %q (%v)", line, err)
	}

	survivor := newRoom(t, ws.NewRedisBroker(redisClient(t), prefix), ws.PresenceEvents(), ws.PresenceTimeout(timeout))
	ann, annID := survivor.join(t, "ann")
	member(t, next(t, ann), "join", "room")
	carol := dial(t, "ws://"+addr+"/?user=carol")
	defer carol.CloseNow()
	carolMember := member(t, next(t, ann), "join", "room")
	if carolMember.Principal != "carol" || carolMember.Instance == "" {
		t.Fatalf("carol's join: %+v", carolMember)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	eventually(t, "carol present", func() bool {
		got, err := survivor.m.Presence(ctx, "room")
		return err == nil && slices.Equal(ids(got), []string{annID + "=ann", carolMember.ID + "=carol"})
	})

	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	killed := time.Now()
	cmd.Wait()
	got := member(t, next(t, ann), "leave", "room")
	took := time.Since(killed)
	if got.ID != carolMember.ID {
		t.Fatalf("leave of %+v, want carol's", got)
	}
	if got, err := survivor.m.Presence(ctx, "room"); err != nil || !slices.Equal(ids(got), []string{annID + "=ann"}) {
		t.Fatalf("after the kill: %v %v", ids(got), err)
	}
	// The documented bound is the timeout and one beat (a third of it);
	// the rest is slack for a loaded machine.
	bound := timeout + timeout/3
	t.Logf("carol left %v after the kill; the bound is %v", took.Round(time.Millisecond), bound)
	if took > bound+2*time.Second {
		t.Fatalf("carol left %v after the kill, over the bound of %v", took, bound)
	}
}

// While Redis cannot be reached, Broadcast still reaches this instance's
// connections at once, and what waits for Redis stays within its bound:
// past 10,000 messages the oldest are dropped and counted.
func TestMessagesWaitingForRedisAreBounded(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	client := redis.NewClient(&redis.Options{Addr: addr, MaxRetries: -1, DialTimeout: 200 * time.Millisecond})
	defer client.Close()
	r := newRoom(t, ws.NewRedisBroker(client, randomPrefix()))
	ann, _ := r.join(t, "ann")
	if n := r.m.Broadcast("room", []byte("here")); n != 1 {
		t.Fatalf("Broadcast reached %d here, want 1", n)
	}
	expect(t, ann, "here")
	for range 10_200 {
		r.m.Broadcast("nobody", []byte("x"))
	}
	// 10,202 operations were queued (ann's join, "here", then 10,200
	// broadcasts); the sender took the first and retries it, unless it
	// had not been scheduled yet: 10,000 wait.
	if d := r.m.Stats().BrokerDropped; d < 201 || d > 202 {
		t.Fatalf("BrokerDropped = %d, want 201 or 202", d)
	}
}

// The store's side of an instance taken for dead: the first beat after
// the timeout removes it with its members, once; a join puts the
// instance back, and its next beat reports it fresh, so that it joins
// all its members again.
func TestPresenceStoreSweepsASilentInstanceOnce(t *testing.T) {
	for _, kind := range []string{"memory", "redis"} {
		t.Run(kind, func(t *testing.T) {
			ba, bb := brokerFor(t, kind)
			a, b := ba.(ws.PresenceStore), bb.(ws.PresenceStore)
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			const timeout = 200 * time.Millisecond
			x := ws.Member{ID: "x-1", Principal: "ann", Since: time.Now().UTC().Round(0), Group: "room", Instance: "x"}
			if _, fresh, err := a.Beat(ctx, "x", timeout); err != nil || !fresh {
				t.Fatalf("first beat of x: fresh %v, %v", fresh, err)
			}
			if err := a.Join(ctx, x); err != nil {
				t.Fatal(err)
			}
			if _, fresh, err := a.Beat(ctx, "x", timeout); err != nil || fresh {
				t.Fatalf("second beat of x: fresh %v, %v", fresh, err)
			}
			if got, err := b.Members(ctx, "room", timeout); err != nil || len(got) != 1 || got[0] != x {
				t.Fatalf("members: %+v %v, want x", got, err)
			}

			time.Sleep(timeout + 50*time.Millisecond) // x stops beating
			if got, err := b.Members(ctx, "room", timeout); err != nil || len(got) != 0 {
				t.Fatalf("members of a silent instance still listed: %+v %v", got, err)
			}
			gone, _, err := b.Beat(ctx, "y", timeout)
			if err != nil || len(gone) != 1 || gone[0] != x {
				t.Fatalf("y's beat removed %+v (%v), want x", gone, err)
			}
			if gone, _, err := a.Beat(ctx, "z", timeout); err != nil || len(gone) != 0 {
				t.Fatalf("a second sweeper removed %+v (%v) again", gone, err)
			}

			// x was only slow: a join of its puts it back, and its next beat
			// says to join the rest again.
			x2 := ws.Member{ID: "x-2", Since: time.Now().UTC().Round(0), Group: "room", Instance: "x"}
			if err := a.Join(ctx, x2); err != nil {
				t.Fatal(err)
			}
			if _, fresh, err := a.Beat(ctx, "x", timeout); err != nil || !fresh {
				t.Fatalf("beat of x after it was swept: fresh %v, %v; want fresh", fresh, err)
			}
			if got, err := b.Forget(ctx, "x"); err != nil || len(got) != 1 || got[0] != x2 {
				t.Fatalf("Forget(x) = %+v %v, want x2", got, err)
			}
			if got, err := b.Members(ctx, "room", timeout); err != nil || len(got) != 0 {
				t.Fatalf("members after Forget: %+v %v", got, err)
			}
		})
	}
}

// Shutdown stops what sharing started: the listener, the sender and the
// beat of each instance, with nothing left running.
func TestShutdownStopsTheSharingGoroutines(t *testing.T) {
	for _, kind := range []string{"memory", "redis"} {
		t.Run(kind, func(t *testing.T) {
			before := runtime.NumGoroutine()
			var ba, bb ws.Broker
			var clients []*redis.Client
			if kind == "memory" {
				ba = ws.NewMemoryBroker()
				bb = ba
			} else {
				o, err := redis.ParseURL(testkit.Require(t, testkit.RedisEnv))
				if err != nil {
					t.Fatal(err)
				}
				prefix := randomPrefix()
				clients = []*redis.Client{redis.NewClient(o), redis.NewClient(o)}
				ba, bb = ws.NewRedisBroker(clients[0], prefix), ws.NewRedisBroker(clients[1], prefix)
			}
			var servers []*httptest.Server
			var managers []*ws.Manager
			for _, b := range []ws.Broker{ba, bb} {
				m := ws.NewManager(quiet, ws.Heartbeat(0), ws.ShareVia(b), ws.PresenceEvents())
				h := m.Handler("room", func(ctx context.Context, c *ws.Conn) error {
					_, err := c.Read(ctx)
					return err
				})
				managers = append(managers, m)
				servers = append(servers, httptest.NewServer(h))
			}
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			a, _, err := websocket.Dial(ctx, wsURL(servers[0], "/"), nil)
			if err != nil {
				t.Fatal(err)
			}
			b, _, err := websocket.Dial(ctx, wsURL(servers[1], "/"), nil)
			if err != nil {
				t.Fatal(err)
			}
			member(t, next(t, a), "join", "room")
			member(t, next(t, a), "join", "room") // b's, from the other instance
			managers[1].Broadcast("room", []byte("hi"))
			expect(t, a, "hi")
			a.CloseNow()
			b.CloseNow()
			for i, m := range managers {
				if err := m.Shutdown(ctx); err != nil {
					t.Fatal(err)
				}
				servers[i].Close()
			}
			for _, c := range clients {
				c.Close()
			}
			goroutinesBack(t, before)
		})
	}
}
