package ws_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"gorm.io/gorm"

	"github.com/fastapi-easy/easy-go/easy"
	"github.com/fastapi-easy/easy-go/easy/ws"
	"github.com/fastapi-easy/easy-go/internal/testkit"
)

// Product is a model served by CRUDRouter and watched by Setup.
type Product struct {
	ID    uint    `json:"id" gorm:"primaryKey"`
	Name  string  `json:"name" required:"true" minLength:"1"`
	Price float64 `json:"price" minimum:"0"`
}

// Note is soft-deleted.
type Note struct {
	ID        uint           `json:"id" gorm:"primaryKey"`
	Text      string         `json:"text" required:"true"`
	DeletedAt gorm.DeletedAt `json:"-" gorm:"index"`
}

type wire struct {
	Type     string          `json:"type"`
	Resource string          `json:"resource"`
	ID       json.RawMessage `json:"id"`
	Data     json.RawMessage `json:"data"`
	Seq      uint64          `json:"seq"`
	Detail   string          `json:"detail"`
}

// realtimeApp serves CRUD and realtime for Product and Note on db.
func realtimeApp(t *testing.T, db *gorm.DB) (*easy.App, *httptest.Server) {
	t.Helper()
	app := easy.New(easy.DB(db), easy.Logger(slog.New(slog.NewTextHandler(io.Discard, nil))))
	app.Include(easy.CRUDRouter[Product](), easy.CRUDRouter[Note]())
	ws.NewManager(ws.Heartbeat(0)).Watch(app, Product{}, Note{})
	srv := httptest.NewServer(app)
	t.Cleanup(func() {
		app.Close(context.Background())
		srv.Close()
	})
	return app, srv
}

// listen connects to a resource endpoint as a browser would.
func listen(t *testing.T, srv *httptest.Server, resource string) *websocket.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(srv.URL, "http")+"/ws/"+resource, nil)
	if err != nil {
		t.Fatalf("dial %s: %v", resource, err)
	}
	t.Cleanup(func() { c.CloseNow() })
	return c
}

func receive(t *testing.T, c *websocket.Conn) wire {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, b, err := c.Read(ctx)
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	var w wire
	if err := json.Unmarshal(b, &w); err != nil {
		t.Fatalf("not JSON: %s", b)
	}
	return w
}

// stream checks the events of one connection: their type, id and data
// ("-" for none, "" for any), and that seq rises by one each time.
type stream struct {
	t    *testing.T
	c    *websocket.Conn
	last uint64
}

func (s *stream) expect(typ, id, data string) wire {
	s.t.Helper()
	w := receive(s.t, s.c)
	badData := data == "-" && len(w.Data) > 0 || data != "-" && data != "" && !sameJSON(w.Data, data)
	if w.Type != typ || string(w.ID) != id || badData {
		s.t.Fatalf("got %s %s %s, want %s %s %s", w.Type, w.ID, w.Data, typ, id, data)
	}
	if s.last != 0 && w.Seq != s.last+1 {
		s.t.Fatalf("seq %d after %d: not one more", w.Seq, s.last)
	}
	s.last = w.Seq
	return w
}

func sameJSON(a json.RawMessage, b string) bool {
	var x, y any
	if json.Unmarshal(a, &x) != nil || json.Unmarshal([]byte(b), &y) != nil {
		return false
	}
	xb, _ := json.Marshal(x)
	yb, _ := json.Marshal(y)
	return string(xb) == string(yb)
}

func request(t *testing.T, srv *httptest.Server, method, path, body string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

func TestCommittedWritesReachClients(t *testing.T) {
	testkit.Each(t, nil, func(t *testing.T, db *gorm.DB) {
		_, srv := realtimeApp(t, db)
		s := &stream{t: t, c: listen(t, srv, "products")}
		notes := &stream{t: t, c: listen(t, srv, "notes")}

		// Through the CRUD routes: data is the row as the REST API renders it.
		status, body := request(t, srv, "POST", "/products", `{"name":"apple","price":10.5}`)
		if status != 201 {
			t.Fatalf("POST: %d %s", status, body)
		}
		s.expect("create", "1", body)
		_, body = request(t, srv, "PATCH", "/products/1", `{"price":12}`)
		s.expect("update", "1", body)
		_, body = request(t, srv, "PUT", "/products/1", `{"name":"orange","price":12}`)
		s.expect("update", "1", body)
		request(t, srv, "DELETE", "/products/1", "")
		s.expect("delete", "1", "-")

		// A rejected request writes nothing and publishes nothing.
		if status, _ := request(t, srv, "POST", "/products", `{"name":""}`); status != 422 {
			t.Fatalf("invalid POST: %d", status)
		}

		// A transaction: its events, in order, after COMMIT.
		err := db.Transaction(func(tx *gorm.DB) error {
			if err := tx.Create(&Product{Name: "a", Price: 1}).Error; err != nil {
				return err
			}
			return tx.Create(&Product{Name: "b", Price: 2}).Error
		})
		if err != nil {
			t.Fatal(err)
		}
		s.expect("create", "2", `{"id":2,"name":"a","price":1}`)
		s.expect("create", "3", `{"id":3,"name":"b","price":2}`)

		// A rollback: nothing (the next event is the one after it).
		db.Transaction(func(tx *gorm.DB) error {
			tx.Create(&Product{Name: "ghost", Price: 1})
			return errors.New("changed my mind")
		})
		// A nested transaction rolled back to its savepoint: none of its
		// events, though the outer one commits.
		err = db.Transaction(func(tx *gorm.DB) error {
			if err := tx.Create(&Product{Name: "kept", Price: 1}).Error; err != nil {
				return err
			}
			tx.Transaction(func(tx2 *gorm.DB) error {
				tx2.Create(&Product{Name: "dropped", Price: 1})
				return errors.New("inner fails")
			})
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		var kept Product
		db.Where("name = ?", "kept").First(&kept)
		s.expect("create", jsonID(kept.ID), `{"id":`+jsonID(kept.ID)+`,"name":"kept","price":1}`)

		// Begin/Commit by hand.
		tx := db.Begin()
		manual := Product{Name: "manual", Price: 3}
		tx.Create(&manual)
		if err := tx.Commit().Error; err != nil {
			t.Fatal(err)
		}
		s.expect("create", jsonID(manual.ID), `{"id":`+jsonID(manual.ID)+`,"name":"manual","price":3}`)

		// A batch create: one event per row.
		batch := []Product{{Name: "x", Price: 5}, {Name: "y", Price: 6}}
		db.Create(&batch)
		for _, p := range batch {
			s.expect("create", jsonID(p.ID), "")
		}

		// A bulk update and delete: one event per affected row, with its id.
		db.Model(&Product{}).Where("price >= ?", 5).Update("price", 7)
		for _, p := range batch {
			s.expect("update", jsonID(p.ID), `{"id":`+jsonID(p.ID)+`,"name":"`+p.Name+`","price":7}`)
		}
		db.Where("price = ?", 7).Delete(&Product{})
		for _, p := range batch {
			s.expect("delete", jsonID(p.ID), "-")
		}

		// Save both ways.
		saved := Product{Name: "saved", Price: 1}
		db.Save(&saved)
		s.expect("create", jsonID(saved.ID), "")
		saved.Price = 2
		db.Save(&saved)
		s.expect("update", jsonID(saved.ID), `{"id":`+jsonID(saved.ID)+`,"name":"saved","price":2}`)

		// Raw SQL publishes nothing: the next event is the soft delete below.
		db.Exec("UPDATE products SET price = 99")

		// A soft delete is a delete.
		request(t, srv, "POST", "/notes", `{"text":"hello"}`)
		notes.expect("create", "1", `{"id":1,"text":"hello"}`)
		request(t, srv, "DELETE", "/notes/1", "")
		notes.expect("delete", "1", "-")

		db.Delete(&saved)
		s.expect("delete", jsonID(saved.ID), "-")
	})
}

func TestSubscribeSnapshotThenStream(t *testing.T) {
	testkit.Each(t, nil, func(t *testing.T, db *gorm.DB) {
		_, srv := realtimeApp(t, db)
		for _, body := range []string{`{"name":"apple","price":1}`, `{"name":"pear","price":20}`} {
			request(t, srv, "POST", "/products", body)
		}
		c := listen(t, srv, "products")
		ctx := context.Background()
		c.Write(ctx, websocket.MessageText, []byte(`{"type":"subscribe","filter":{"price__gte":"10"}}`))
		initial := receive(t, c)
		if initial.Type != "initial" || !sameJSON(initial.Data, `[{"id":2,"name":"pear","price":20}]`) {
			t.Fatalf("initial: %s %s", initial.Type, initial.Data)
		}
		// The filter narrows the stream; the next event is seq+1 of the
		// snapshot's... or later, for rows filtered out.
		request(t, srv, "POST", "/products", `{"name":"cheap","price":1}`)
		request(t, srv, "POST", "/products", `{"name":"dear","price":50}`)
		w := receive(t, c)
		if w.Type != "create" || string(w.ID) != "4" || w.Seq != initial.Seq+2 {
			t.Fatalf("after the snapshot at %d: %s id %s seq %d", initial.Seq, w.Type, w.ID, w.Seq)
		}
		// A bad filter is an error message, and the connection stays.
		c.Write(ctx, websocket.MessageText, []byte(`{"type":"subscribe","filter":{"price__gt":"abc"}}`))
		if e := receive(t, c); e.Type != "error" || !strings.Contains(e.Detail, "price__gt") {
			t.Fatalf("bad filter: %+v", e)
		}
		c.Write(ctx, websocket.MessageText, []byte(`{"type":"ping"}`))
		if p := receive(t, c); p.Type != "pong" {
			t.Fatalf("ping: %+v", p)
		}
	})
}

func TestClientJSIsServed(t *testing.T) {
	_, srv := realtimeApp(t, testkit.SQLite(t, nil))
	status, body := request(t, srv, "GET", "/ws/client.js", "")
	if status != 200 || !strings.Contains(body, "export function connect") {
		t.Fatalf("/ws/client.js: %d %.200s", status, body)
	}
	if status, _ := request(t, srv, "GET", "/ws/nothing", ""); status != 404 {
		t.Fatalf("unknown resource: %d, want 404", status)
	}
}

// TestWatchTakesWhatTheOptionsLeaveFromTheApp: the options given to
// NewManager hold for what Watch mounts, and what they leave open (the
// logger here, the broker in TestSetupPicksRedisFromREDIS_URL) comes from
// the App.
func TestWatchTakesWhatTheOptionsLeaveFromTheApp(t *testing.T) {
	t.Run("options", func(t *testing.T) {
		app := easy.New(easy.DB(testkit.SQLite(t, nil)), easy.Logger(slog.New(slog.DiscardHandler)))
		app.Include(easy.CRUDRouter[Product]())
		ws.NewManager(ws.Prefix("/live"), ws.Heartbeat(0)).Watch(app, Product{})
		srv := httptest.NewServer(app)
		t.Cleanup(func() {
			app.Close(context.Background())
			srv.Close()
		})
		c := dial(t, wsURL(srv, "/live/products"))
		body := write(t, srv, "POST", "/products", `{"name":"apple","price":1}`)
		if w := receive(t, c); w.Type != "create" || !sameJSON(w.Data, body) {
			t.Fatalf("got %s %s, want create %s", w.Type, w.Data, body)
		}
		for path, want := range map[string]int{"/live/client.js": 200, "/ws/products": 404, "/ws/client.js": 404} {
			if status, _ := request(t, srv, "GET", path, ""); status != want {
				t.Errorf("GET %s: %d, want %d", path, status, want)
			}
		}
	})
	t.Run("logger", func(t *testing.T) {
		dropped := ws.Change{Op: ws.TypeCreate, Key: 1, Data: json.RawMessage(`{"id":1}`)}
		var appLog, ownLog strings.Builder
		app := easy.New(easy.DB(testkit.SQLite(t, nil)), easy.Logger(slog.New(slog.NewTextHandler(&appLog, nil))))
		m := ws.NewManager()
		m.Watch(app, Product{})
		m.Publish("nothing", dropped) // logged, on this goroutine
		if !strings.Contains(appLog.String(), "ws: events dropped") {
			t.Errorf("without Logger, the App's log has %q", appLog.String())
		}

		appLog.Reset()
		app = easy.New(easy.DB(testkit.SQLite(t, nil)), easy.Logger(slog.New(slog.NewTextHandler(&appLog, nil))))
		m = ws.NewManager(ws.Logger(slog.New(slog.NewTextHandler(&ownLog, nil))))
		m.Watch(app, Product{})
		m.Publish("nothing", dropped)
		if !strings.Contains(ownLog.String(), "ws: events dropped") || strings.Contains(appLog.String(), "ws: events dropped") {
			t.Errorf("with Logger, its log has %q and the App's %q", ownLog.String(), appLog.String())
		}
	})
}

func jsonID(id uint) string {
	b, _ := json.Marshal(id)
	return string(b)
}
