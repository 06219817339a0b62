package wsbaseline_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"gorm.io/driver/sqlite"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"

	"github.com/fastapi-easy/easy-go/bench/wsbaseline"
	"github.com/fastapi-easy/easy-go/internal/sqlitedb"
)

func newServer(t *testing.T) (*wsbaseline.Server, *httptest.Server) {
	t.Helper()
	conn := sqlitedb.Open(filepath.Join(t.TempDir(), "items.db"), sqlitedb.Options{})
	db, err := gorm.Open(sqlite.Dialector{Conn: conn}, &gorm.Config{Logger: logger.Discard})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	s, err := wsbaseline.New(db, 0)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	t.Cleanup(s.Hub().Close)
	return s, srv
}

func dial(t *testing.T, srv *httptest.Server) *websocket.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(srv.URL, "http")+"/ws/items", nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.CloseNow() })
	return c
}

func post(t *testing.T, srv *httptest.Server, body string) (int, string) {
	t.Helper()
	res, err := http.Post(srv.URL+"/items", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

func read(t *testing.T, c *websocket.Conn) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, b, err := c.Read(ctx)
	return string(b), err
}

func TestCreateReachesEveryClientOnceInSeqOrder(t *testing.T) {
	_, srv := newServer(t)
	clients := []*websocket.Conn{dial(t, srv), dial(t, srv)}
	for i := 1; i <= 3; i++ {
		status, body := post(t, srv, fmt.Sprintf(`{"name":"item %d","price":%d.5}`, i, i))
		want := fmt.Sprintf(`{"id":%d,"name":"item %d","price":%d.5}`, i, i, i)
		if status != http.StatusCreated || body != want {
			t.Fatalf("POST /items = %d %s, want 201 %s", status, body, want)
		}
	}
	for n, c := range clients {
		for i := 1; i <= 3; i++ {
			got, err := read(t, c)
			want := fmt.Sprintf(`{"type":"create","resource":"items","id":%d,"data":{"id":%d,"name":"item %d","price":%d.5},"seq":%d}`, i, i, i, i, i)
			if err != nil || got != want {
				t.Fatalf("client %d, event %d = %s, %v; want %s", n, i, got, err, want)
			}
		}
	}
}

func TestInvalidItemIsRefusedAndNotBroadcast(t *testing.T) {
	_, srv := newServer(t)
	c := dial(t, srv)
	if status, body := post(t, srv, `{"name":"","price":1}`); status != http.StatusUnprocessableEntity || body != `{"detail":"invalid item"}` {
		t.Fatalf("POST /items = %d %s, want 422", status, body)
	}
	post(t, srv, `{"name":"ok","price":1}`)
	if got, err := read(t, c); err != nil || !strings.HasSuffix(got, `"seq":1}`) {
		t.Fatalf("first event = %s, %v; want the valid item with seq 1", got, err)
	}
}

func TestCloseSends1001(t *testing.T) {
	s, srv := newServer(t)
	c := dial(t, srv)
	s.Hub().Close()
	_, err := read(t, c)
	if code := websocket.CloseStatus(err); code != websocket.StatusGoingAway {
		t.Fatalf("after Close, read = %v; want close 1001", err)
	}
}

func TestFullQueueClosesOnlyThatClientWith1013(t *testing.T) {
	h := wsbaseline.NewHub(1)
	srv := httptest.NewServer(h)
	defer srv.Close()
	defer h.Close()
	slow, fast := dial(t, srv), dial(t, srv)
	// fast reads each event before the next is published; slow reads
	// nothing, so once the socket buffers are full its queue of one
	// overflows.
	data := []byte(`{"id":1,"name":"` + strings.Repeat("x", 30<<10) + `","price":1}`)
	for i := 0; h.Count() == 2; i++ {
		if i == 10000 {
			t.Fatal("the slow client was never dropped")
		}
		h.Publish("create", 1, data)
		if _, err := read(t, fast); err != nil {
			t.Fatalf("fast client, event %d: %v", i, err)
		}
	}
	for {
		_, err := read(t, slow)
		if err != nil {
			if code := websocket.CloseStatus(err); code != websocket.StatusTryAgainLater {
				t.Fatalf("slow client: %v; want close 1013", err)
			}
			break
		}
	}
	h.Publish("create", 1, data)
	if _, err := read(t, fast); err != nil {
		t.Fatalf("fast client after slow was dropped: %v", err)
	}
}
