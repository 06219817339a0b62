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
	"net/http/httptest"
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
	app := easy.New(easy.Logger(slog.New(slog.NewTextHandler(io.Discard, nil))))
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

// A malformed query string is refused with a 422 that says what is wrong,
// the same on a CRUD list, a typed operation and a realtime endpoint,
// where it used to be dropped in part: a filter, a sort or a limit lost,
// and every row served.
func TestMalformedQueryIsRefusedEverywhere(t *testing.T) {
	t.Setenv("DATABASE_URL", "sqlite:"+t.TempDir()+"/easy.db")
	app := easy.New(easy.Logger(slog.New(slog.NewTextHandler(io.Discard, nil))))
	app.Include(easy.CRUDRouter[Item]())
	ws.Setup(app, Item{})
	type helloIn struct {
		Name  string `path:"name"`
		Shout bool   `query:"shout"`
	}
	type greeting struct {
		Message string `json:"message"`
	}
	easy.Get(app, "/hello/{name}", func(ctx context.Context, in *helloIn) (*greeting, error) {
		return &greeting{Message: "Hello, " + in.Name}, nil
	})
	srv := httptest.NewServer(app)
	defer srv.Close()
	defer app.Close(context.Background())
	for _, body := range []string{`{"name":"apple","price":1}`, `{"name":"pear","price":2}`} {
		res, err := http.Post(srv.URL+"/items", "application/json", strings.NewReader(body))
		if err != nil || res.StatusCode != 201 {
			t.Fatalf("POST: %v %v", res, err)
		}
		res.Body.Close()
	}

	// encoding/json writes & as \u0026.
	const semicolon = `"msg":"Invalid query string: a semicolon does not separate parameters; use \u0026 between parameters, and %3B for a semicolon in a value"`
	many := strings.Repeat("price__gte=0&", 1000) + "name=apple&limit=1"
	for _, c := range []struct{ query, body string }{
		{"/items?name=zzz;x", `{"detail":[{"type":"query_parsing","loc":["query"],` + semicolon + `,"input":"name=zzz;x"}]}`},
		{"/items?sort=name;DROP%20TABLE%20items", `{"detail":[{"type":"query_parsing","loc":["query"],` + semicolon + `,"input":"sort=name;DROP%20TABLE%20items"}]}`},
		{"/items?name=%zz", `{"detail":[{"type":"query_parsing","loc":["query"],"msg":"Invalid query string: a % must start an escape of two hexadecimal digits, such as %25","input":"name=%zz"}]}`},
		{"/items?" + many, `{"detail":[{"type":"too_many_parameters","loc":["query"],"msg":"Query string should have at most 1000 parameters, not 1002","input":"` +
			strings.ReplaceAll(many[:200], "&", `\u0026`) + `…","ctx":{"max_parameters":1000}}]}`},
		{"/hello/ann?shout=true;x", `{"detail":[{"type":"query_parsing","loc":["query"],` + semicolon + `,"input":"shout=true;x"}]}`},
	} {
		res, err := http.Get(srv.URL + c.query)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != 422 || string(b) != c.body {
			t.Errorf("GET %.60s: %d %s\nwant 422 %s", c.query, res.StatusCode, b, c.body)
		}
	}

	// On the realtime endpoint the same query is refused before the
	// upgrade, with the same body; a subscribe with a bad filter gets an
	// error, not every row.
	wsBase := "ws" + strings.TrimPrefix(srv.URL, "http") + "/ws/items"
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, res, err := websocket.Dial(ctx, wsBase+`?filter={"name":"apple"};`, nil)
	if err == nil || res == nil {
		t.Fatalf("dial with a malformed query: %v", err)
	}
	b, _ := io.ReadAll(res.Body)
	if want := `{"detail":[{"type":"query_parsing","loc":["query"],` + semicolon + `,"input":"filter={\"name\":\"apple\"};"}]}`; res.StatusCode != 422 || string(b) != want {
		t.Errorf("dial: %d %s\nwant 422 %s", res.StatusCode, b, want)
	}
	conn, _, err := websocket.Dial(ctx, wsBase, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.CloseNow()
	conn.Write(ctx, websocket.MessageText, []byte(`{"type":"subscribe","filter":{"name":"apple;x","price__gte":"x"}}`))
	if _, msg, err := conn.Read(ctx); err != nil || string(msg) != `{"type":"error","detail":"filter price__gte: Input should be a valid number, unable to parse string as a number"}` {
		t.Errorf("subscribe with a bad filter: %s %v", msg, err)
	}
	conn.Write(ctx, websocket.MessageText, []byte(`{"type":"subscribe","filter":{"name":"apple;x"}}`))
	if _, msg, err := conn.Read(ctx); err != nil || !strings.HasPrefix(string(msg), `{"type":"initial","resource":"items","data":[]`) {
		t.Errorf("subscribe to a name with a semicolon: %s %v", msg, err)
	}

	// Nothing was dropped or written: both rows are there.
	res, err = http.Get(srv.URL + "/items")
	if err != nil {
		t.Fatal(err)
	}
	b, _ = io.ReadAll(res.Body)
	res.Body.Close()
	if string(b) != `[{"id":1,"name":"apple","price":1},{"id":2,"name":"pear","price":2}]` {
		t.Errorf("the table: %s", b)
	}
}
