package easy_test

import (
	"bufio"
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/fastapi-easy/easy-go/easy"
	"github.com/fastapi-easy/easy-go/easy/ws"
	"github.com/fastapi-easy/easy-go/internal/testkit"
)

// The App's MaxConnections holds every connection, a WebSocket's until it
// closes; ws.MaxConnections is the share of them the Manager takes, and
// answers 503 past it while the App has room for plain requests.
func TestWebSocketsCountAgainstMaxConnections(t *testing.T) {
	t.Setenv("DATABASE_URL", "sqlite:"+t.TempDir()+"/easy.db")
	app := easy.New(easy.Logger(slog.New(slog.DiscardHandler)), easy.MaxConnections(2))
	app.Include(easy.CRUDRouter[Item]())
	ws.NewManager(ws.MaxConnections(1)).Watch(app, Item{})
	addr, _ := testkit.ServeOn(t, "127.0.0.1:0", app.Serve)

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	// Each handshake on a connection of its own, closed after a refusal.
	opts := &websocket.DialOptions{HTTPClient: &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}}
	first, _, err := websocket.Dial(ctx, "ws://"+addr+"/ws/items", opts)
	if err != nil {
		t.Fatal(err)
	}
	defer first.CloseNow()
	_, res, err := websocket.Dial(ctx, "ws://"+addr+"/ws/items", opts)
	if err == nil || res == nil || res.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("a WebSocket past ws.MaxConnections(1): %v, %v; want the Manager's 503", res, err)
	}

	get := func(c net.Conn) (int, error) {
		c.SetDeadline(time.Now().Add(10 * time.Second))
		if _, err := io.WriteString(c, "GET /items HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"); err != nil {
			return 0, err
		}
		res, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			return 0, err
		}
		return res.StatusCode, nil
	}
	dial := func() net.Conn {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}
	if status, err := get(dial()); status != http.StatusOK {
		t.Fatalf("a plain request beside the WebSocket: %d, %v", status, err)
	}

	// The WebSocket and a silent connection hold the App's two: a third
	// is not served until the WebSocket closes.
	dial()
	waiting := dial()
	done := make(chan error, 1)
	go func() {
		status, err := get(waiting)
		if err == nil && status != http.StatusOK {
			err = errors.New(http.StatusText(status))
		}
		done <- err
	}()
	select {
	case err := <-done:
		t.Fatalf("a third connection was served past MaxConnections(2): %v", err)
	case <-time.After(300 * time.Millisecond):
	}
	first.Close(websocket.StatusNormalClosure, "")
	if err := <-done; err != nil {
		if errors.Is(err, os.ErrDeadlineExceeded) {
			err = errors.New("not served after the WebSocket closed")
		}
		t.Fatal(err)
	}
}
