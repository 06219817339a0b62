// End-to-end tests of the whole flow, from outside: the program of the
// README, served on a real listener, driven over HTTP and WebSocket.
package easy_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/fastapi-easy/easy-go/easy"
	"github.com/fastapi-easy/easy-go/easy/ws"
)

type Item struct {
	ID    uint    `json:"id" gorm:"primaryKey"`
	Name  string  `json:"name" required:"true" minLength:"1"`
	Price float64 `json:"price" minimum:"0"`
}

func TestTheREADMEProgram(t *testing.T) {
	t.Setenv("DATABASE_URL", "sqlite:"+t.TempDir()+"/easy.db")
	app := easy.New(easy.WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil))))
	app.Include(easy.CRUDRouter[Item]())
	ws.Setup(app, Item{})

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	base := "http://" + ln.Addr().String()
	ctx, stop := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- app.Serve(ctx, ln) }()
	defer stop()

	// A browser-like client listening on /ws/items.
	wctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, _, err := websocket.Dial(wctx, "ws"+strings.TrimPrefix(base, "http")+"/ws/items", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.CloseNow()

	send := func(method, path, body string) string {
		req, _ := http.NewRequest(method, base+path, strings.NewReader(body))
		if body != "" {
			req.Header.Set("Content-Type", "application/json")
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		return string(b)
	}
	receive := func() map[string]any {
		_, b, err := conn.Read(wctx)
		if err != nil {
			t.Fatalf("read: %v", err)
		}
		var m map[string]any
		json.Unmarshal(b, &m)
		return m
	}

	// The spec documents the CRUD routes. (internal/thirdparty checks that
	// it is valid OpenAPI 3.1 and that this program's answers match it.)
	spec := send("GET", "/openapi.json", "")
	for _, id := range []string{"list_items", "create_item", "get_item", "replace_item", "update_item", "delete_item"} {
		if !strings.Contains(spec, `"operationId":"`+id+`"`) {
			t.Errorf("the spec lacks %s", id)
		}
	}

	created := send("POST", "/items", `{"name":"apple","price":10.5}`)
	if created != `{"id":1,"name":"apple","price":10.5}` {
		t.Fatalf("POST /items: %s", created)
	}
	ev := receive()
	data, _ := json.Marshal(ev["data"])
	if ev["type"] != "create" || ev["resource"] != "items" || ev["id"] != 1.0 || string(data) != created {
		t.Fatalf("create event: %v", ev)
	}
	seq := ev["seq"].(float64)

	send("PATCH", "/items/1", `{"price":12}`)
	if ev := receive(); ev["type"] != "update" || ev["seq"].(float64) != seq+1 {
		t.Fatalf("update event: %v", ev)
	}
	send("GET", "/items?name__like=app", "")
	send("POST", "/items", `{"name":""}`) // a 422 writes and publishes nothing
	send("DELETE", "/items/1", "")
	if ev := receive(); ev["type"] != "delete" || ev["id"] != 1.0 || ev["seq"].(float64) != seq+2 {
		t.Fatalf("delete event: %v", ev)
	}

	// Shutdown closes the WebSocket with 1001 and Serve returns cleanly.
	stop()
	_, _, err = conn.Read(wctx)
	if code := websocket.CloseStatus(err); code != websocket.StatusGoingAway {
		t.Fatalf("on shutdown the client got %v, want close 1001", err)
	}
	if err := <-served; err != nil {
		t.Fatalf("Serve: %v", err)
	}
	if _, err := http.Get(base + "/items"); !errors.Is(err, syscall.ECONNREFUSED) {
		t.Fatalf("after shutdown: %v, want connection refused", err)
	}
}
