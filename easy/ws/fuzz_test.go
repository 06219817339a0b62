package ws_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/fastapi-easy/easy-go/easy"
	"github.com/fastapi-easy/easy-go/easy/ws"
	"github.com/fastapi-easy/easy-go/internal/testkit"
)

// FuzzClientMessage sends arbitrary bytes as a client's message to the
// resource endpoint of a real App (SQLite, so that filters and snapshots
// run through the query language and the database), then a ping. Whatever the
// message, the connection stays open and answers it before the pong: with
// one error message for bad input, and for good input with its reply (a
// pong for a ping, an initial message or an error for a subscribe,
// nothing for an unsubscribe). No panic, no hang. go test runs the seeds
// of testdata/fuzz/FuzzClientMessage; go test -fuzz FuzzClientMessage
// looks for more.
func FuzzClientMessage(f *testing.F) {
	const readLimit = 32 << 10
	app := easy.New(easy.DB(testkit.SQLite(f, nil)), easy.Logger(slog.New(slog.DiscardHandler)))
	app.Include(easy.CRUDRouter[Product]())
	m := ws.NewManager(quiet, ws.RateLimit(0, 0), ws.ReadLimit(readLimit), ws.Heartbeat(0))
	m.Watch(app, Product{})
	srv := httptest.NewServer(app)
	f.Cleanup(func() { app.Close(context.Background()); srv.Close() })
	app.DB().Create(&[]Product{{Name: "apple", Price: 1}, {Name: "pear", Price: 2}})
	c := dialReady(f, wsURL(srv, "/ws/products"))

	f.Fuzz(func(t *testing.T, msg []byte) {
		if len(msg) > readLimit {
			t.Skip("over the read limit, which closes with 1009 (TestCloseCodes)")
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := c.Write(ctx, websocket.MessageText, msg); err != nil {
			t.Fatalf("write %q: %v", msg, err)
		}
		if err := c.Write(ctx, websocket.MessageText, []byte(`{"type":"ping"}`)); err != nil {
			t.Fatalf("write the ping after %q: %v", msg, err)
		}
		var got []ws.Event
		for {
			_, b, err := c.Read(ctx)
			if err != nil {
				t.Fatalf("after %q: %v", msg, err)
			}
			var ev ws.Event
			if err := json.Unmarshal(b, &ev); err != nil {
				t.Fatalf("after %q the server sent %q, not JSON", msg, b)
			}
			if ev.Type == ws.TypePong && (len(got) > 0 || !isType(msg, ws.TypePing)) {
				break // the answer to our ping: everything before it answered msg
			}
			got = append(got, ev)
		}

		want := []string{ws.TypeError}
		var req struct{ Type *string }
		if json.Unmarshal(msg, &req) == nil && req.Type != nil {
			switch *req.Type {
			case ws.TypePing:
				want = []string{ws.TypePong}
			case ws.TypeUnsubscribe:
				want = nil
			case ws.TypeSubscribe:
				want = []string{ws.TypeInitial} // or an error, for a bad filter or limit
				if len(got) == 1 && got[0].Type == ws.TypeError {
					want = []string{ws.TypeError}
				}
			}
		}
		if len(got) != len(want) || len(got) == 1 && got[0].Type != want[0] {
			t.Fatalf("%q got %+v, want %v", msg, got, want)
		}
		if len(got) == 1 && got[0].Type == ws.TypeError && got[0].Detail == "" {
			t.Fatalf("%q got an error without a detail", msg)
		}
		if n := m.Count(); n != 1 {
			t.Fatalf("after %q the Manager has %d connections, want 1", msg, n)
		}
	})
}

// isType reports whether msg is a request of type typ.
func isType(msg []byte, typ string) bool {
	var req struct{ Type *string }
	return json.Unmarshal(msg, &req) == nil && req.Type != nil && *req.Type == typ
}
