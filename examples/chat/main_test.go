package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"io"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/redis/go-redis/v9"

	"github.com/fastapi-easy/easy-go/easy"
	"github.com/fastapi-easy/easy-go/easy/ws"
	"github.com/fastapi-easy/easy-go/internal/testkit"
)

// serve runs the app on a real socket and returns its ws:// base URL.
func serve(t *testing.T) string {
	return serveWith(t, nil)
}

// serveWith is serve for an instance that shares its room through broker.
func serveWith(t *testing.T, broker ws.Broker) string {
	t.Setenv("DATABASE_URL", "sqlite:"+t.TempDir()+"/chat.db")
	app := newApp(broker, easy.Logger(slog.New(slog.NewTextHandler(io.Discard, nil))))
	srv := httptest.NewServer(app)
	t.Cleanup(func() {
		srv.CloseClientConnections()
		app.Close(context.Background())
		srv.Close()
	})
	return "ws" + strings.TrimPrefix(srv.URL, "http")
}

func dial(t *testing.T, ctx context.Context, url string) *websocket.Conn {
	t.Helper()
	c, _, err := websocket.Dial(ctx, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.CloseNow() })
	return c
}

func send(t *testing.T, ctx context.Context, c *websocket.Conn, msg string) {
	t.Helper()
	if err := c.Write(ctx, websocket.MessageText, []byte(msg)); err != nil {
		t.Fatal(err)
	}
}

// reader is what hear reads from.
type reader interface {
	Read(ctx context.Context) (websocket.MessageType, []byte, error)
}

// lateJoin is a connection that may hear the message late once, at any
// point, which its reads pass over.
type lateJoin struct {
	*websocket.Conn
	late string
	seen bool
}

func (l *lateJoin) Read(ctx context.Context) (websocket.MessageType, []byte, error) {
	typ, msg, err := l.Conn.Read(ctx)
	if err == nil && !l.seen && string(msg) == l.late {
		l.seen = true
		return l.Conn.Read(ctx)
	}
	return typ, msg, err
}

// hear reads the next message of c and checks it is want.
func hear(t *testing.T, ctx context.Context, who string, c reader, want string) {
	t.Helper()
	typ, msg, err := c.Read(ctx)
	if err != nil {
		t.Fatalf("%s: %v, want %q", who, err, want)
	}
	if typ != websocket.MessageText || string(msg) != want {
		t.Fatalf("%s hears %v %q, want text %q", who, typ, msg, want)
	}
}

func TestEchoSendsEveryMessageBack(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c := dial(t, ctx, serve(t)+"/ws/echo")
	for _, msg := range []string{"Hello Server!", "", "ünïcode ✓"} {
		send(t, ctx, c, msg)
		hear(t, ctx, "client", c, "Echo: "+msg)
	}
	if err := c.Close(websocket.StatusNormalClosure, ""); err != nil {
		t.Errorf("close: %v", err)
	}
}

func TestChatRoomBroadcastsToEveryone(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	base := serve(t)

	ann := dial(t, ctx, base+"/ws/chat?name=ann")
	hear(t, ctx, "ann", ann, "ann joined")
	bob := dial(t, ctx, base+"/ws/chat?name=bob")
	hear(t, ctx, "ann", ann, "bob joined")
	hear(t, ctx, "bob", bob, "bob joined")

	send(t, ctx, bob, "hi")
	hear(t, ctx, "ann", ann, "bob: hi")
	hear(t, ctx, "bob", bob, "bob: hi")
	send(t, ctx, ann, "hello bob")
	hear(t, ctx, "ann", ann, "ann: hello bob")
	hear(t, ctx, "bob", bob, "ann: hello bob")

	// The echo's connections are not in the room.
	echo := dial(t, ctx, base+"/ws/echo")
	send(t, ctx, echo, "ping")
	hear(t, ctx, "echo", echo, "Echo: ping")

	if err := bob.Close(websocket.StatusNormalClosure, ""); err != nil {
		t.Fatal(err)
	}
	hear(t, ctx, "ann", ann, "bob left")
	send(t, ctx, ann, "bye")
	hear(t, ctx, "ann", ann, "ann: bye")
}

func TestChatNamesAGuest(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c := dial(t, ctx, serve(t)+"/ws/chat")
	_, msg, err := c.Read(ctx)
	if err != nil || !strings.HasPrefix(string(msg), "guest-") || !strings.HasSuffix(string(msg), " joined") {
		t.Fatalf("a client without a name hears %q (%v), want guest-... joined", msg, err)
	}
}

// redisBroker returns a broker on the Redis server of the tests, under a
// prefix of its own, as the instances of one deployment would share it.
func redisBroker(t *testing.T, prefix string) ws.Broker {
	o, err := redis.ParseURL(testkit.Require(t, testkit.RedisEnv))
	if err != nil {
		t.Fatal(err)
	}
	c := redis.NewClient(o)
	t.Cleanup(func() { c.Close() })
	return ws.NewRedisBroker(c, prefix)
}

// Two instances share the room through Redis: what is said on one is
// heard on the other, a private message reaches its addressee's
// instance, and /who lists the members of both.
func TestChatRoomSpansTwoInstances(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var b [6]byte
	rand.Read(b[:])
	prefix := "chat-test-" + hex.EncodeToString(b[:])
	one, two := serveWith(t, redisBroker(t, prefix)), serveWith(t, redisBroker(t, prefix))

	ann := dial(t, ctx, one+"/ws/chat?name=ann")
	hear(t, ctx, "ann", ann, "ann joined")
	bobConn := dial(t, ctx, two+"/ws/chat?name=bob")
	// What is said on one instance reaches the other a moment later: bob,
	// who connected just after ann's join was said, may hear it, once, at
	// any point of what follows.
	bob := &lateJoin{Conn: bobConn, late: "ann joined"}
	hear(t, ctx, "ann", ann, "bob joined") // from the other instance
	hear(t, ctx, "bob", bob, "bob joined")

	send(t, ctx, bobConn, "hi from two")
	hear(t, ctx, "ann", ann, "bob: hi from two")
	hear(t, ctx, "bob", bob, "bob: hi from two")
	send(t, ctx, ann, "hi from one")
	hear(t, ctx, "ann", ann, "ann: hi from one")
	hear(t, ctx, "bob", bob, "ann: hi from one")

	// A private message: bob's every connection hears it, ann gets her
	// copy, and a third member does not.
	cat := dial(t, ctx, one+"/ws/chat?name=cat")
	hear(t, ctx, "cat", cat, "cat joined")
	hear(t, ctx, "ann", ann, "cat joined")
	hear(t, ctx, "bob", bob, "cat joined")
	send(t, ctx, ann, "@bob psst")
	hear(t, ctx, "ann", ann, "ann to bob: psst")
	hear(t, ctx, "bob", bob, "ann to bob: psst")
	send(t, ctx, cat, "meow")
	hear(t, ctx, "cat", cat, "cat: meow") // not the private message
	hear(t, ctx, "ann", ann, "cat: meow")
	hear(t, ctx, "bob", bob, "cat: meow")

	// /who lists the three, on both instances, oldest first. Each
	// instance stores a member before it announces the join, so the
	// joins heard above are in the store.
	for _, who := range []struct {
		name string
		w    *websocket.Conn
		c    reader
	}{{"ann", ann, ann}, {"bob", bobConn, bob}} {
		var names []string
		send(t, ctx, who.w, "/who")
		_, msg, err := who.c.Read(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var p struct {
			Type string `json:"type"`
			Data []struct {
				Principal string `json:"principal"`
			} `json:"data"`
		}
		if err := json.Unmarshal(msg, &p); err != nil || p.Type != "presence" {
			t.Fatalf("%s: /who answers %s (%v)", who.name, msg, err)
		}
		for _, m := range p.Data {
			names = append(names, m.Principal)
		}
		if strings.Join(names, ",") != "ann,bob,cat" {
			t.Fatalf("%s: /who lists %v, want ann, bob and cat", who.name, names)
		}
	}

	if err := bob.Close(websocket.StatusNormalClosure, ""); err != nil {
		t.Fatal(err)
	}
	hear(t, ctx, "ann", ann, "bob left")
	hear(t, ctx, "cat", cat, "bob left")
}
