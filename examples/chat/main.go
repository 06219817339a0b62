// Command chat serves the two custom endpoints of FastAPI-Easy's WebSocket
// guide, on one ws.Manager: an echo and a chat room.
//
//	go run ./examples/chat
//	websocat ws://127.0.0.1:8000/ws/echo              # Hello → Echo: Hello
//	websocat 'ws://127.0.0.1:8000/ws/chat?name=ann'   # what anyone says, everyone hears
//
// HOST and PORT in the environment choose the address.
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"

	"github.com/fastapi-easy/easy-go/easy"
	"github.com/fastapi-easy/easy-go/easy/openapi"
	"github.com/fastapi-easy/easy-go/easy/ws"
)

func main() {
	host, port := os.Getenv("HOST"), os.Getenv("PORT")
	if host == "" {
		host = "127.0.0.1"
	}
	if port == "" {
		port = "8000"
	}
	if err := newApp().Run(net.JoinHostPort(host, port)); err != nil {
		log.Fatal(err)
	}
}

// newApp mounts the endpoints; the test serves it on a real socket.
func newApp(opts ...easy.Option) *easy.App {
	app := easy.New(opts...)
	m := ws.NewManager(
		ws.Logger(app.Logger()),
		// The chat's name comes from the query; the echo does not need one.
		ws.Authenticate(func(r *http.Request) (any, error) { return r.URL.Query().Get("name"), nil }),
	)
	app.OnShutdown(m.Shutdown) // closes every connection with 1001

	// Echo: every message comes back.
	app.Handle("/ws/echo", m.Handler("echo", func(ctx context.Context, c *ws.Conn) error {
		for {
			msg, err := c.Read(ctx)
			if err != nil {
				return err
			}
			c.Send(append([]byte("Echo: "), msg...))
		}
	}))

	// Chat: every message goes to everyone in the room, who also hears
	// who comes and goes. Described, its messages are in the AsyncAPI
	// document at /asyncapi.json; the echo's are opaque there.
	chat := ws.Describe(openapi.Channel{
		Description: "A chat room: what anyone says, everyone hears. Give a name with ?name=.",
		Query: map[string]any{"type": "object", "properties": map[string]any{
			"name": map[string]any{"type": "string", "description": "Your name in the room; guest-ID without one."},
		}},
		Send: []openapi.Message{{Name: "line", Summary: `What someone said ("ann: hello"), or who joined or left ("ann joined").`,
			Payload: "", Examples: []json.RawMessage{json.RawMessage(`"ann: hello"`)}}},
		Receive: []openapi.Message{{Name: "say", Summary: "A line to say to the room.",
			Payload: "", Examples: []json.RawMessage{json.RawMessage(`"hello"`)}}},
	})
	app.Handle("/ws/chat", m.Handler("chat", func(ctx context.Context, c *ws.Conn) error {
		name, _ := c.Principal().(string)
		if name == "" {
			name = "guest-" + c.ID()
		}
		m.Broadcast("chat", []byte(name+" joined"))
		defer m.Broadcast("chat", []byte(name+" left"))
		for {
			msg, err := c.Read(ctx)
			if err != nil {
				return err
			}
			m.Broadcast("chat", fmt.Appendf(nil, "%s: %s", name, msg))
		}
	}, chat))
	return app
}
