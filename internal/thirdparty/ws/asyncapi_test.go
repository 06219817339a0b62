// Package ws_test checks the AsyncAPI documents of easy/ws apps with the
// AsyncAPI initiative's parser, and their messages against its schemas.
package ws_test

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/fastapi-easy/easy-go/easy"
	"github.com/fastapi-easy/easy-go/easy/openapi"
	"github.com/fastapi-easy/easy-go/easy/security"
	"github.com/fastapi-easy/easy-go/easy/ws"
	"github.com/fastapi-easy/easy-go/internal/testkit"
	"github.com/fastapi-easy/easy-go/internal/thirdparty/asyncapitest"
)

type Item struct {
	ID    uint    `json:"id" gorm:"primaryKey"`
	Name  string  `json:"name" required:"true" minLength:"1"`
	Price float64 `json:"price" minimum:"0"`
}

type user struct{ Name string }

// HasScope makes a user security.Scoped, for RequireScopes.
func (*user) HasScope(string) bool { return true }

// asyncDoc returns the AsyncAPI document app serves.
func asyncDoc(t *testing.T, app *easy.App) []byte {
	t.Helper()
	rec := httptest.NewRecorder()
	app.ServeHTTP(rec, httptest.NewRequest("GET", "http://api.example.com/asyncapi.json", nil))
	if rec.Code != http.StatusOK {
		t.Fatalf("GET /asyncapi.json: %d %s", rec.Code, rec.Body)
	}
	return rec.Body.Bytes()
}

// Every kind of security scheme ws.Secure takes (and an OAuth 2 scope
// requirement) makes a document the parser accepts, whose channels'
// operations require the scheme the OpenAPI document has.
func TestAsyncAPISecuritySchemesPassTheParser(t *testing.T) {
	verify := func(ctx context.Context, token string) (*user, error) { return &user{token}, nil }
	oauth := security.OAuth2Password("/token", verify,
		security.Scopes(map[string]string{"items:read": "Read items."}))
	for _, tc := range []struct {
		name   string
		secure ws.Option
		scheme string // its name in components.securitySchemes
		want   map[string]any
	}{
		{"bearer", ws.Secure(security.HTTPBearer(verify, security.BearerFormat("JWT"), security.TokenQuery("access_token"))), "HTTPBearer",
			map[string]any{"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}},
		{"apikey", ws.Secure(security.APIKeyQuery("api_key", verify)), "APIKeyQuery",
			map[string]any{"type": "httpApiKey", "name": "api_key", "in": "query"}},
		{"basic", ws.Secure(security.HTTPBasic(func(ctx context.Context, u, p string) (*user, error) { return &user{u}, nil })), "HTTPBasic",
			map[string]any{"type": "http", "scheme": "basic"}},
		{"oauth2", ws.Secure(security.RequireScopes(oauth, "items:read")), "OAuth2PasswordBearer",
			map[string]any{"type": "oauth2", "scopes": []any{}, "flows": map[string]any{"password": map[string]any{
				"tokenUrl": "http://api.example.com/token", "availableScopes": map[string]any{"items:read": "Read items."}}}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			app := easy.New(easy.DB(testkit.SQLite(t, nil)), easy.Logger(slog.New(slog.DiscardHandler)))
			app.Include(easy.CRUDRouter[Item]())
			m := ws.NewManager(tc.secure)
			m.Watch(app, Item{})
			app.Handle("/ws/echo", m.Handler("echo", func(ctx context.Context, c *ws.Conn) error { return nil }))
			t.Cleanup(func() { m.Shutdown(context.Background()) })
			doc := asyncDoc(t, app)
			asyncapitest.Validate(t, doc)

			var d struct {
				Operations map[string]struct{ Security []map[string]any }
				Components struct {
					SecuritySchemes map[string]map[string]any `json:"securitySchemes"`
				}
			}
			if err := json.Unmarshal(doc, &d); err != nil {
				t.Fatal(err)
			}
			got := d.Components.SecuritySchemes[tc.scheme]
			delete(got, "description")
			if g, w := jsonText(got), jsonText(tc.want); g != w {
				t.Errorf("scheme %s:\n got %s\nwant %s", tc.scheme, g, w)
			}
			for _, op := range []string{"items.send", "items.receive", "echo.send", "echo.receive"} {
				sec := d.Operations[op].Security
				if len(sec) != 1 {
					t.Fatalf("operation %s: security %v", op, sec)
				}
				if tc.name == "oauth2" {
					if jsonText(sec[0]["scopes"]) != `["items:read"]` || sec[0]["type"] != "oauth2" {
						t.Errorf("operation %s: security %v, want the scheme with scope items:read", op, sec)
					}
				} else if sec[0]["$ref"] != "#/components/securitySchemes/"+tc.scheme {
					t.Errorf("operation %s: security %v", op, sec)
				}
			}
		})
	}
}

func jsonText(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// The server's heartbeat, which the items app sends every 30 s, is caught
// here with a short one, and matches the ping message's schema.
func TestAsyncAPIHeartbeatMatchesItsSchema(t *testing.T) {
	app := easy.New(easy.DB(testkit.SQLite(t, nil)), easy.Logger(slog.New(slog.DiscardHandler)))
	app.Include(easy.CRUDRouter[Item]())
	ws.NewManager(ws.Heartbeat(50*time.Millisecond)).Watch(app, Item{})
	addr, _ := testkit.ServeOn(t, "127.0.0.1:0", app.Serve)
	check := asyncapitest.Messages(t, asyncDoc(t, app))

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, _, err := websocket.Dial(ctx, "ws://"+addr+"/ws/items", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseNow()
	_, msg, err := c.Read(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if string(msg) != `{"type":"ping"}` {
		t.Fatalf("heard %s, want the heartbeat", msg)
	}
	if err := check.Check("items", "ping", msg); err != nil {
		t.Error(err)
	}
	if err := check.Check("items", "ping", []byte(`{"type":"ping","seq":1}`)); err == nil {
		t.Error("a ping with a seq passes the server's ping schema")
	}
}

// A Server-Sent Events channel, with its query, a model in its payload
// and the path parameters of its address, passes the parser; its server
// is HTTP and its operation has the HTTP binding of its handshake.
func TestAsyncAPIServerSentEventsChannelPassesTheParser(t *testing.T) {
	spec := openapi.New(openapi.Info{Title: "Shop", Version: "1.0.0"})
	doc := openapi.NewAsyncAPI(spec, openapi.Info{Title: "Shop", Version: "1.0.0"})
	for _, ch := range []openapi.Channel{
		{ID: "items.sse", Address: "/sse/items", Protocol: "sse",
			Query: map[string]any{"type": "object", "properties": map[string]any{"since": map[string]any{"type": "integer"}}},
			Send:  []openapi.Message{{Name: "create", Payload: map[string]any{"type": "object", "properties": map[string]any{"data": openapi.SchemaOf{V: Item{}}}}}}},
		{ID: "rooms", Address: "/ws/rooms/{room:[a-z]+}",
			Send:    []openapi.Message{{Name: "line", Payload: ""}},
			Receive: []openapi.Message{{Name: "line", Payload: ""}}},
	} {
		if err := doc.AddChannel(ch); err != nil {
			t.Fatal(err)
		}
	}
	b, err := doc.MarshalRequest(httptest.NewRequest("GET", "https://shop.example.com/asyncapi.json", nil))
	if err != nil {
		t.Fatal(err)
	}
	asyncapitest.Validate(t, b)
	for _, want := range []string{
		`"http":{"description":"Server-Sent Events (text/event-stream) over HTTPS.","host":"shop.example.com","protocol":"https"}`,
		`"address":"/ws/rooms/{room}"`,
		`"parameters":{"room":`,
		`"bindings":{"http":{"bindingVersion":"0.3.0","method":"GET","query":`,
		`"Item":{`,
	} {
		if !strings.Contains(string(b), want) {
			t.Errorf("the document lacks %s:\n%s", want, b)
		}
	}
}

// With presence on, a running app's presence answer, join and leave, the
// client's presence question, and a batched frame (a resume replayed to a
// client that asked for batch=1) each match their schema in its document,
// which the parser accepts. Every element of the array frame matches its
// own message too.
func TestAsyncAPIPresenceAndBatchMatchTheirSchemas(t *testing.T) {
	app := easy.New(easy.DB(testkit.SQLite(t, nil)), easy.Logger(slog.New(slog.DiscardHandler)))
	app.Include(easy.CRUDRouter[Item]())
	m := ws.NewManager(ws.Heartbeat(0), ws.PresenceEvents("items", "room"))
	m.Watch(app, Item{})
	app.Handle("/ws/room", m.Handler("room", func(ctx context.Context, c *ws.Conn) error { return nil }))
	addr, _ := testkit.ServeOn(t, "127.0.0.1:0", app.Serve)
	doc := asyncDoc(t, app)
	asyncapitest.Validate(t, doc)
	for _, want := range []string{`"room.send":{"action":"send","channel":{"$ref":"#/channels/room"},"messages":[{"$ref":"#/channels/room/messages/message"},{"$ref":"#/channels/room/messages/join"},{"$ref":"#/channels/room/messages/leave"}]`} {
		if !strings.Contains(string(doc), want) {
			t.Errorf("the document lacks %s", want)
		}
	}
	check := asyncapitest.Messages(t, doc)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	base := "ws://" + addr + "/ws/items"

	seen := map[string]bool{}
	dial := func(url string) *websocket.Conn {
		t.Helper()
		c, _, err := websocket.Dial(ctx, url, nil)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.CloseNow() })
		return c
	}
	// next reads frames until one holds a message of type typ; each
	// message read is checked against its schema, and an array frame
	// against batch's.
	next := func(c *websocket.Conn, typ string) json.RawMessage {
		t.Helper()
		for {
			_, frame, err := c.Read(ctx)
			if err != nil {
				t.Fatalf("waiting for %s: %v", typ, err)
			}
			msgs := []json.RawMessage{frame}
			if frame[0] == '[' {
				if err := check.Check("items", "batch", frame); err != nil {
					t.Error(err)
				}
				seen["batch"] = true
				if err := json.Unmarshal(frame, &msgs); err != nil {
					t.Fatal(err)
				}
			}
			var found json.RawMessage
			for _, msg := range msgs {
				var m struct{ Type string }
				json.Unmarshal(msg, &m)
				if err := check.Check("items", m.Type, msg); err != nil {
					t.Error(err)
				}
				seen[m.Type] = true
				if m.Type == typ && found == nil {
					found = msg
				}
			}
			if found != nil {
				return found
			}
		}
	}

	a := dial(base)
	next(a, "join") // its own
	question := []byte(`{"type":"presence"}`)
	if err := check.Check("items", "presenceQuery", question); err != nil {
		t.Error(err)
	}
	if err := a.Write(ctx, websocket.MessageText, question); err != nil {
		t.Fatal(err)
	}
	if answer := next(a, "presence"); !strings.Contains(string(answer), `"group":"items","data":[{"id":`) {
		t.Errorf("presence answer %s", answer)
	}
	b := dial(base)
	next(a, "join")
	b.Close(websocket.StatusNormalClosure, "")
	next(a, "leave")

	// Three events a client missed, replayed on resume as one item of its
	// queue: with batch=1 they come as one array frame.
	since := m.Seq("items")
	for _, name := range []string{"apple", "pear", "fig"} {
		req, _ := http.NewRequestWithContext(ctx, "POST", "http://"+addr+"/items", strings.NewReader(`{"name":"`+name+`","price":1}`))
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusCreated {
			t.Fatalf("POST /items: %d", resp.StatusCode)
		}
	}
	r := dial(base + "?batch=1&since=" + strconv.FormatUint(since, 10))
	for !seen["batch"] {
		next(r, "create")
	}

	// A stream of the SSE channel gets its own join too.
	req, _ := http.NewRequestWithContext(ctx, "GET", "http://"+addr+"/sse/items", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	events := bufio.NewScanner(resp.Body)
	for events.Scan() {
		data, ok := strings.CutPrefix(events.Text(), "data: ")
		if !ok {
			continue
		}
		var m struct{ Type string }
		json.Unmarshal([]byte(data), &m)
		if err := check.Check("items.sse", m.Type, []byte(data)); err != nil {
			t.Error(err)
		}
		if m.Type == "join" {
			seen["sse join"] = true
			break
		}
	}
	resp.Body.Close()

	// The schemas say no to what breaks them, or the checks above prove
	// nothing.
	for _, bad := range []struct{ name, msg string }{
		{"join", `{"type":"join","group":"items","data":{"id":"x","group":"items"}}`}, // no since
		{"leave", `{"type":"leave","group":"chat","data":{"id":"x","since":"2026-11-30T08:00:00Z","group":"chat"}}`},
		{"presence", `{"type":"presence","group":"items","data":{}}`},
		{"batch", `[{"type":"ping"},{"type":"pong"}]`}, // a heartbeat goes alone
		{"batch", `[{"type":"pong"}]`},                 // one message goes as itself
	} {
		if err := check.Check("items", bad.name, []byte(bad.msg)); err == nil {
			t.Errorf("%s passes as %s", bad.msg, bad.name)
		}
	}
	for _, typ := range []string{"presence", "join", "leave", "batch", "create", "sse join"} {
		if !seen[typ] {
			t.Errorf("no %s message was checked", typ)
		}
	}
}

// A snapshot and a presence answer cut at SnapshotLimit carry "more":
// the messages a running app sends, over the WebSocket and over SSE,
// match their schemas in its document, which the parser accepts.
func TestAsyncAPICutAnswersMatchTheirSchemas(t *testing.T) {
	app := easy.New(easy.DB(testkit.SQLite(t, nil)), easy.Logger(slog.New(slog.DiscardHandler)))
	app.Include(easy.CRUDRouter[Item]())
	ws.NewManager(ws.Heartbeat(0), ws.SnapshotLimit(1), ws.PresenceQuery("items")).Watch(app, Item{})
	addr, _ := testkit.ServeOn(t, "127.0.0.1:0", app.Serve)
	doc := asyncDoc(t, app)
	asyncapitest.Validate(t, doc)
	check := asyncapitest.Messages(t, doc)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	for _, name := range []string{"apple", "pear"} {
		req, _ := http.NewRequestWithContext(ctx, "POST", "http://"+addr+"/items", strings.NewReader(`{"name":"`+name+`","price":1}`))
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	var conns []*websocket.Conn
	for range 2 {
		c, _, err := websocket.Dial(ctx, "ws://"+addr+"/ws/items", nil)
		if err != nil {
			t.Fatal(err)
		}
		defer c.CloseNow()
		conns = append(conns, c)
	}
	c := conns[1] // the presence answer holds the oldest, conns[0], and more
	for _, ask := range []struct{ msg, answer string }{
		{`{"type":"subscribe"}`, "initial"},
		{`{"type":"presence"}`, "presence"},
	} {
		if err := c.Write(ctx, websocket.MessageText, []byte(ask.msg)); err != nil {
			t.Fatal(err)
		}
		_, msg, err := c.Read(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(msg), `"type":"`+ask.answer+`"`) || !strings.Contains(string(msg), `"more":true`) {
			t.Fatalf("the answer to %s: %s, want a cut %s", ask.msg, msg, ask.answer)
		}
		if err := check.Check("items", ask.answer, msg); err != nil {
			t.Error(err)
		}
	}
	req, _ := http.NewRequestWithContext(ctx, "GET", "http://"+addr+"/sse/items?snapshot=1", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	events := bufio.NewScanner(resp.Body)
	for events.Scan() {
		if data, ok := strings.CutPrefix(events.Text(), "data: "); ok {
			if !strings.Contains(data, `"more":true`) {
				t.Errorf("the SSE snapshot %s is not cut", data)
			}
			if err := check.Check("items.sse", "initial", []byte(data)); err != nil {
				t.Error(err)
			}
			break
		}
	}
	// "more" is left out when false: false is no message the server sends.
	if err := check.Check("items", "initial", []byte(`{"type":"initial","resource":"items","data":[],"more":false,"seq":1}`)); err == nil {
		t.Error(`an initial with "more":false passes its schema`)
	}
}

// presenceScript runs the JavaScript client under Node: it connects to
// the URL in argv[2] with the client module at argv[1], asks for presence
// once it has joined, prints every message onPresence gets as a line of
// JSON, and stops after a leave.
const presenceScript = `
const { connect } = await import(process.argv[1]);
let asked = false;
const live = connect("items", {
  url: process.argv[2], transport: "websocket", snapshot: false,
  onPresence(msg) {
    console.log(JSON.stringify(msg));
    if (msg.type === "join" && !asked) asked = live.presence();
    if (msg.type === "leave") { live.close(); process.exit(0); }
  },
  onError(detail) { console.error(detail); process.exit(1); },
});
`

// The JavaScript client the app serves, run under Node against the app
// with PresenceEvents: live.presence() is answered, onPresence gets the
// answer, its own join and another's leave, and each matches its schema
// in the app's AsyncAPI document.
func TestJavaScriptClientPresenceAgainstTheServer(t *testing.T) {
	node, err := exec.LookPath("node")
	if err != nil {
		testkit.Unavailable(t, "node is not on PATH")
	}
	app := easy.New(easy.DB(testkit.SQLite(t, nil)), easy.Logger(slog.New(slog.DiscardHandler)))
	app.Include(easy.CRUDRouter[Item]())
	ws.NewManager(ws.Heartbeat(0), ws.PresenceEvents("items")).Watch(app, Item{})
	addr, _ := testkit.ServeOn(t, "127.0.0.1:0", app.Serve)
	check := asyncapitest.Messages(t, asyncDoc(t, app))
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()

	resp, err := http.Get("http://" + addr + "/ws/client.js")
	if err != nil {
		t.Fatal(err)
	}
	js, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /ws/client.js: %d %v", resp.StatusCode, err)
	}
	module := filepath.Join(t.TempDir(), "client.mjs")
	if err := os.WriteFile(module, js, 0o600); err != nil {
		t.Fatal(err)
	}
	other, _, err := websocket.Dial(ctx, "ws://"+addr+"/ws/items", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer other.CloseNow()

	args := []string{"--input-type=module", "-e", presenceScript, "file://" + module, "ws://" + addr + "/ws/items"}
	if exec.CommandContext(ctx, node, "-e", `typeof WebSocket === "function" || process.exit(1)`).Run() != nil {
		args = append([]string{"--experimental-websocket"}, args...) // Node 20 and 21
	}
	cmd := exec.CommandContext(ctx, node, args...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var got []string
	lines := bufio.NewScanner(stdout)
	for lines.Scan() {
		line := lines.Bytes()
		var m struct {
			Type string
			Data json.RawMessage
		}
		if err := json.Unmarshal(line, &m); err != nil {
			t.Fatalf("node printed %s", line)
		}
		if err := check.Check("items", m.Type, line); err != nil {
			t.Error(err)
		}
		got = append(got, m.Type)
		if m.Type == "presence" {
			var members []ws.Member
			json.Unmarshal(m.Data, &members)
			if len(members) != 2 {
				t.Errorf("presence lists %s, want the two connections", m.Data)
			}
			other.Close(websocket.StatusNormalClosure, "") // its leave ends the script
		}
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("node: %v\n%s", err, stderr.String())
	}
	if want := []string{"join", "presence", "leave"}; !slices.Equal(got, want) {
		t.Errorf("onPresence got %v, want %v", got, want)
	}
}
