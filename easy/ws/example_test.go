package ws_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/coder/websocket"
	"gorm.io/driver/sqlite"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"

	"github.com/fastapi-easy/easy-go/easy"
	"github.com/fastapi-easy/easy-go/easy/ws"
)

// A resource endpoint pushes every published change; the Go client
// receives it as a typed Event.
func Example() {
	m := ws.NewManager()
	m.AddResource("items", nil) // nil: events only, no snapshots
	mux := http.NewServeMux()
	mux.Handle("/ws/{resource}", m)
	srv := httptest.NewServer(mux)
	defer srv.Close()
	defer m.Shutdown(context.Background())

	ctx := context.Background()
	client, err := ws.Dial(ctx, "ws"+strings.TrimPrefix(srv.URL, "http")+"/ws/items")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer client.Close()

	// Change capture does this after each commit.
	m.Publish("items", ws.Change{Op: ws.TypeCreate, Key: 1, Data: json.RawMessage(`{"id":1,"name":"apple","price":10.5}`)})

	ev, _ := client.Next(ctx)
	var item struct {
		Name  string  `json:"name"`
		Price float64 `json:"price"`
	}
	ev.Decode(&item)
	fmt.Println(ev.Type, ev.Resource, string(ev.ID), item.Name, item.Price)
	// Output: create items 1 apple 10.5
}

// Item is the model of the examples that watch a database.
type Item struct {
	ID    uint    `json:"id" gorm:"primaryKey"`
	Name  string  `json:"name" required:"true" minLength:"1"`
	Price float64 `json:"price" minimum:"0"`
}

// The card's line: every committed write to Item reaches the clients of
// /ws/items.
func ExampleSetup() {
	app, done := exampleApp()
	defer done()
	app.Include(easy.CRUDRouter[Item]())
	ws.Setup(app, Item{})
	srv := httptest.NewServer(app)
	defer srv.Close()

	follow(srv, "/ws/items", `{"name":"apple","price":1.5}`)
	// Output: create items 1 {"id":1,"name":"apple","price":1.5}
}

// Options go to NewManager, and Watch ties the Manager to an App and its
// models; what the options leave open (the logger, a Redis broker from
// REDIS_URL) comes from the App, as under Setup.
func ExampleManager_Watch() {
	app, done := exampleApp()
	defer done()
	app.Include(easy.CRUDRouter[Item]())
	m := ws.NewManager(ws.Prefix("/live"), ws.Heartbeat(10*time.Second), ws.MaxConnections(5000))
	m.Watch(app, Item{})
	srv := httptest.NewServer(app)
	defer srv.Close()

	follow(srv, "/live/items", `{"name":"apple","price":1.5}`)
	// Output: create items 1 {"id":1,"name":"apple","price":1.5}
}

// exampleApp is an App on a SQLite file in a temporary directory; done
// shuts it down, which closes its WebSockets with 1001, and removes the file.
func exampleApp() (app *easy.App, done func()) {
	dir, _ := os.MkdirTemp("", "ws-example")
	db, err := gorm.Open(sqlite.Open(filepath.Join(dir, "example.db")), &gorm.Config{Logger: logger.Discard, TranslateError: true})
	if err != nil {
		panic(err)
	}
	app = easy.New(easy.DB(db), easy.Logger(slog.New(slog.DiscardHandler)))
	return app, func() {
		app.Close(context.Background())
		if sqlDB, err := db.DB(); err == nil {
			sqlDB.Close()
		}
		os.RemoveAll(dir)
	}
}

// follow connects a Go client to the resource endpoint at path, creates a
// row with the CRUD route and prints the event the client receives.
func follow(srv *httptest.Server, path, row string) {
	ctx := context.Background()
	client, err := ws.Dial(ctx, "ws"+strings.TrimPrefix(srv.URL, "http")+path)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer client.Close()
	res, err := http.Post(srv.URL+"/items", "application/json", strings.NewReader(row))
	if err != nil {
		fmt.Println(err)
		return
	}
	res.Body.Close()
	ev, err := client.Next(ctx)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(ev.Type, ev.Resource, string(ev.ID), string(ev.Data))
}

// The echo endpoint of FastAPI-Easy's WebSocket guide.
func ExampleManager_Handler_echo() {
	m := ws.NewManager()
	echo := m.Handler("echo", func(ctx context.Context, c *ws.Conn) error {
		for {
			msg, err := c.Read(ctx)
			if err != nil {
				return err
			}
			c.Send(append([]byte("Echo: "), msg...))
		}
	})
	srv := httptest.NewServer(echo)
	defer srv.Close()
	defer m.Shutdown(context.Background())

	ctx := context.Background()
	conn, _, err := websocket.Dial(ctx, srv.URL, nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	conn.Write(ctx, websocket.MessageText, []byte("Hello Server!"))
	_, reply, _ := conn.Read(ctx)
	fmt.Println(string(reply))
	conn.Close(websocket.StatusNormalClosure, "")
	// Output: Echo: Hello Server!
}

// A chat room: every message goes to everyone in the room, and the room
// hears who comes and goes.
func ExampleManager_Handler_chat() {
	m := ws.NewManager(ws.Authenticate(func(r *http.Request) (any, error) {
		name := r.URL.Query().Get("name")
		if name == "" {
			return nil, errors.New("no name") // 403 before the upgrade
		}
		return name, nil
	}))
	chat := m.Handler("chat", func(ctx context.Context, c *ws.Conn) error {
		name := c.Principal().(string)
		m.Broadcast("chat", []byte(name+" joined"))
		defer m.Broadcast("chat", []byte(name+" left"))
		for {
			msg, err := c.Read(ctx)
			if err != nil {
				return err
			}
			m.Broadcast("chat", fmt.Appendf(nil, "%s: %s", name, msg))
		}
	})
	srv := httptest.NewServer(chat)
	defer srv.Close()
	defer m.Shutdown(context.Background())

	ctx := context.Background()
	join := func(name string) *websocket.Conn {
		c, _, err := websocket.Dial(ctx, srv.URL+"?name="+name, nil)
		if err != nil {
			panic(err)
		}
		return c
	}
	hear := func(who string, c *websocket.Conn) {
		_, msg, _ := c.Read(ctx)
		fmt.Printf("%s hears %q\n", who, msg)
	}
	alice := join("alice")
	hear("alice", alice)
	bob := join("bob")
	hear("alice", alice)
	hear("bob", bob)
	bob.Write(ctx, websocket.MessageText, []byte("hi"))
	hear("alice", alice)
	hear("bob", bob)
	bob.Close(websocket.StatusNormalClosure, "")
	hear("alice", alice)
	alice.Close(websocket.StatusNormalClosure, "")
	// Output:
	// alice hears "alice joined"
	// alice hears "bob joined"
	// bob hears "bob joined"
	// alice hears "bob: hi"
	// bob hears "bob: hi"
	// alice hears "bob left"
}

// The heartbeat, the timeouts, the limits and the authentication of the
// guide are options of the Manager.
func ExampleNewManager() {
	m := ws.NewManager(
		ws.Heartbeat(30*time.Second),             // {"type":"ping"} and a protocol ping
		ws.WriteTimeout(10*time.Second),          // a client that cannot take a message in time is dropped
		ws.ReadLimit(64<<10),                     // a bigger message closes with 1009
		ws.RateLimit(20, 40),                     // a flood closes with 1008
		ws.MaxConnections(10000),                 // one more gets 503
		ws.AllowedOrigins("https://app.example"), // other browsers' origins get 403
		ws.Authenticate(func(r *http.Request) (any, error) {
			if r.URL.Query().Get("token") != "secret" {
				return nil, errors.New("bad token") // 403 before the upgrade
			}
			return "alice", nil
		}),
	)
	m.AddResource("items", nil)
	srv := httptest.NewServer(m)
	defer srv.Close()
	defer m.Shutdown(context.Background())

	_, err := ws.Dial(context.Background(), "ws"+strings.TrimPrefix(srv.URL, "http")+"/ws/items?token=wrong")
	fmt.Println(err)
	// Output: ws: handshake refused with 403 Forbidden
}

// A push-only endpoint, like the guide's "real-time data push", calls
// CloseRead so that pings and the close handshake are still answered.
func ExampleConn_CloseRead() {
	m := ws.NewManager()
	ticker := m.Handler("ticker", func(ctx context.Context, c *ws.Conn) error {
		c.CloseRead()
		for i := 1; i <= 3; i++ {
			if err := c.SendJSON(map[string]int{"tick": i}); err != nil {
				return err
			}
		}
		return nil // closes with 1000 once the ticks are written
	})
	srv := httptest.NewServer(ticker)
	defer srv.Close()
	defer m.Shutdown(context.Background())

	ctx := context.Background()
	conn, _, _ := websocket.Dial(ctx, srv.URL, nil)
	for {
		_, msg, err := conn.Read(ctx)
		if err != nil {
			fmt.Println("closed with", websocket.CloseStatus(err))
			return
		}
		fmt.Println(string(msg))
	}
	// Output:
	// {"tick":1}
	// {"tick":2}
	// {"tick":3}
	// closed with StatusNormalClosure
}

// Subscribe gets a snapshot, then the events after it; the client resumes
// by itself after a dropped connection.
func ExampleClient_Subscribe() {
	m := ws.NewManager()
	m.AddResource("items", fruit{m})
	srv := httptest.NewServer(m)
	defer srv.Close()
	defer m.Shutdown(context.Background())

	ctx := context.Background()
	client, err := ws.Dial(ctx, "ws"+strings.TrimPrefix(srv.URL, "http")+"/ws/items")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer client.Close()
	client.Subscribe(ctx, nil, 100)
	for {
		ev, err := client.Next(ctx)
		if err != nil {
			fmt.Println(err)
			return
		}
		if ev.Type == ws.TypeReset {
			client.Subscribe(ctx, nil, 100) // what was missed is gone: start again
			continue
		}
		fmt.Println(ev.Type, string(ev.Data))
		if ev.Type == ws.TypeInitial {
			return
		}
	}
	// Output: initial [{"name":"apple"},{"name":"pear"}]
}

// fruit is a Source with two fixed rows.
type fruit struct{ m *ws.Manager }

func (fruit) Filter(map[string]string) (ws.Filter, error) { return nil, errors.New("no filters") }

func (f fruit) Snapshot(context.Context, ws.Filter, int) ([]ws.Change, uint64, error) {
	return []ws.Change{
		{Key: 1, Data: json.RawMessage(`{"name":"apple"}`)},
		{Key: 2, Data: json.RawMessage(`{"name":"pear"}`)},
	}, f.m.Seq("items"), nil
}
