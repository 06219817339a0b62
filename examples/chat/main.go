// Command chat serves the two custom endpoints of FastAPI-Easy's WebSocket
// guide, on one ws.Manager: an echo and a chat room.
//
//	go run ./examples/chat
//	websocat ws://127.0.0.1:8000/ws/echo              # Hello → Echo: Hello
//	websocat 'ws://127.0.0.1:8000/ws/chat?name=ann'   # what anyone says, everyone hears
//
// In the room, "@bob psst" goes to every connection of bob alone, and
// "/who" answers with who is in the room, as JSON.
//
// HOST and PORT in the environment choose the address. With REDIS_URL
// set, several instances share one room: run two on different ports and
// what is said on one is heard on the other.
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"strings"

	"github.com/redis/go-redis/v9"

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
	var broker ws.Broker
	if url := os.Getenv("REDIS_URL"); url != "" {
		o, err := redis.ParseURL(url)
		if err != nil {
			log.Fatal("REDIS_URL: ", err)
		}
		broker = ws.NewRedisBroker(redis.NewClient(o), "chat")
	}
	if err := newApp(broker).Run(net.JoinHostPort(host, port)); err != nil {
		log.Fatal(err)
	}
}

// newApp mounts the endpoints; the test serves it on a real socket. With
// a broker, the room is shared with the other instances that use it.
func newApp(broker ws.Broker, opts ...easy.Option) *easy.App {
	app := easy.New(opts...)
	wsOpts := []ws.Option{
		ws.Logger(app.Logger()),
		// The chat's name comes from the query; the echo does not need one.
		ws.Authenticate(func(r *http.Request) (any, error) { return r.URL.Query().Get("name"), nil }),
	}
	if broker != nil {
		wsOpts = append(wsOpts, ws.ShareVia(broker))
	}
	m := ws.NewManager(wsOpts...)
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

	// Chat: every message goes to everyone in the room, on every
	// instance, who also hears who comes and goes. Described, its messages are in the AsyncAPI
	// document at /asyncapi.json; the echo's are opaque there.
	chat := ws.Describe(openapi.Channel{
		Description: "A chat room: what anyone says, everyone hears. Give a name with ?name=.",
		Query: map[string]any{"type": "object", "properties": map[string]any{
			"name": map[string]any{"type": "string", "description": "Your name in the room; guest-ID without one."},
		}},
		Send: []openapi.Message{{Name: "line", Summary: `What someone said ("ann: hello"), a private note ("ann to bob: hi"), who joined or left ("ann joined"), or the answer to /who (a presence message).`,
			Payload: "", Examples: []json.RawMessage{json.RawMessage(`"ann: hello"`)}}},
		Receive: []openapi.Message{{Name: "say", Summary: "A line to say to the room; \"@bob hi\" says it to bob alone, \"/who\" asks who is here.",
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
			text := string(msg)
			switch to, said, private := strings.Cut(text, " "); {
			case text == "/who":
				who, err := m.PresenceMessage(ctx, "chat")
				if err != nil {
					c.Send([]byte("/who is unavailable: try again"))
					continue
				}
				c.Send(who)
			case private && strings.HasPrefix(to, "@") && len(to) > 1:
				note := fmt.Appendf(nil, "%s to %s: %s", name, to[1:], said)
				m.SendTo(to[1:], note) // every connection of that name, on every instance
				c.Send(note)
			default:
				m.Broadcast("chat", fmt.Appendf(nil, "%s: %s", name, msg))
			}
		}
	}, chat))
	return app
}
