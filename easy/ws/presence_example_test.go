package ws_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/coder/websocket"

	"github.com/fastapi-easy/easy-go/easy/ws"
)

// Two instances share one broker (a Redis server in production): a
// notification sent on one reaches every connection of its user on both,
// and presence lists the members of both.
func ExampleManager_SendTo() {
	broker := ws.NewMemoryBroker() // ws.NewRedisBroker(client, "") across processes
	instance := func() (*ws.Manager, *httptest.Server) {
		m := ws.NewManager(ws.ShareVia(broker), ws.Authenticate(func(r *http.Request) (any, error) {
			return r.URL.Query().Get("user"), nil
		}))
		inbox := m.Handler("inbox", func(ctx context.Context, c *ws.Conn) error {
			c.CloseRead() // it only sends
			<-ctx.Done()
			return nil
		})
		return m, httptest.NewServer(inbox)
	}
	one, srv1 := instance()
	two, srv2 := instance()
	defer srv1.Close()
	defer srv2.Close()
	defer one.Shutdown(context.Background())
	defer two.Shutdown(context.Background())

	ctx := context.Background()
	tab := func(srv *httptest.Server, user string) *websocket.Conn {
		c, _, err := websocket.Dial(ctx, srv.URL+"?user="+user, nil)
		if err != nil {
			panic(err)
		}
		return c
	}
	laptop, phone := tab(srv1, "alice"), tab(srv2, "alice")
	bob := tab(srv2, "bob")
	defer bob.CloseNow()
	for one.Count()+two.Count() < 3 { // the server's side of a connection may lag its Dial
		time.Sleep(time.Millisecond)
	}

	one.SendTo("alice", []byte(`{"type":"notice","text":"your export is ready"}`))
	for name, c := range map[string]*websocket.Conn{"laptop": laptop, "phone": phone} {
		_, msg, _ := c.Read(ctx)
		fmt.Printf("alice's %s: %s\n", name, msg)
	}

	members, _ := one.Presence(ctx, "inbox")
	for len(members) < 3 { // the other instance's members reach the broker a moment after they connect
		time.Sleep(time.Millisecond)
		members, _ = one.Presence(ctx, "inbox")
	}
	for _, m := range members {
		fmt.Println("in inbox:", m.Principal)
	}
	laptop.Close(websocket.StatusNormalClosure, "")
	phone.Close(websocket.StatusNormalClosure, "")
	// Unordered output:
	// alice's laptop: {"type":"notice","text":"your export is ready"}
	// alice's phone: {"type":"notice","text":"your export is ready"}
	// in inbox: alice
	// in inbox: alice
	// in inbox: bob
}
