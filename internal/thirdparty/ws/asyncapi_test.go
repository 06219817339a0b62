// Package ws_test checks the AsyncAPI documents of easy/ws apps with the
// AsyncAPI initiative's parser, and their messages against its schemas.
package ws_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
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
