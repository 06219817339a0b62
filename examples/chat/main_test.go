package main

import (
	"context"
	"io"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/fastapi-easy/easy-go/easy"
)

// serve runs the app on a real socket and returns its ws:// base URL.
func serve(t *testing.T) string {
	t.Setenv("DATABASE_URL", "sqlite:"+t.TempDir()+"/chat.db")
	srv := httptest.NewServer(newApp(easy.Logger(slog.New(slog.NewTextHandler(io.Discard, nil)))))
	t.Cleanup(srv.Close)
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

// hear reads the next message of c and checks it is want.
func hear(t *testing.T, ctx context.Context, who string, c *websocket.Conn, want string) {
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
