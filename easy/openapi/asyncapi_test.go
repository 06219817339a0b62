package openapi_test

import (
	"encoding/json"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/swaggest/openapi-go/openapi31"

	"github.com/fastapi-easy/easy-go/easy/openapi"
)

// TestAsyncAPIRefusesBadChannels checks that each mistake in a channel is
// an error that names it, and leaves the document as it was.
func TestAsyncAPIRefusesBadChannels(t *testing.T) {
	ping := openapi.Message{Name: "ping"}
	for _, tc := range []struct {
		ch   openapi.Channel
		want string
	}{
		{openapi.Channel{ID: "", Address: "/ws/a"}, `asyncapi: channel ID "": use letters, digits, '.', '-' and '_'`},
		{openapi.Channel{ID: "a b", Address: "/ws/a"}, `asyncapi: channel ID "a b": use letters, digits, '.', '-' and '_'`},
		{openapi.Channel{ID: "taken", Address: "/ws/b"}, `asyncapi: channel ID "taken" is taken`},
		{openapi.Channel{ID: "a", Address: "/ws/a", Protocol: "mqtt"}, `asyncapi: channel a: protocol "mqtt" is neither ws nor sse`},
		{openapi.Channel{ID: "a", Address: "ws/a"}, `asyncapi: channel a: address "ws/a" is not a path`},
		{openapi.Channel{ID: "a", Address: "/ws/a", Send: []openapi.Message{ping, ping}}, `asyncapi: channel a: message "ping" twice`},
		{openapi.Channel{ID: "a", Address: "/ws/a", Receive: []openapi.Message{{Name: "a/b"}}}, `asyncapi: channel a: message name "a/b": use letters, digits, '.', '-' and '_'`},
		{openapi.Channel{ID: "a", Address: "/ws/a", Send: []openapi.Message{{Name: "x", Examples: []json.RawMessage{json.RawMessage(`{`)}}}},
			`asyncapi: channel a: message x: an example is not valid JSON`},
	} {
		doc := openapi.NewAsyncAPI(openapi.New(openapi.Info{}), openapi.Info{})
		if err := doc.AddChannel(openapi.Channel{ID: "taken", Address: "/ws/taken"}); err != nil {
			t.Fatal(err)
		}
		err := doc.AddChannel(tc.ch)
		if err == nil || err.Error() != tc.want {
			t.Errorf("AddChannel(%+v) = %v, want %s", tc.ch, err, tc.want)
		}
		if n := doc.Channels(); n != 1 {
			t.Errorf("after a refused channel the document has %d channels", n)
		}
	}
}

// TestAsyncAPIServersAndSchemas checks where the servers are (the
// client's host, unless the Info names a server), that a message in both
// directions is one message, that a payload's struct is the component the
// OpenAPI document has, and that a scheme missing from the OpenAPI
// document is an error.
func TestAsyncAPIServersAndSchemas(t *testing.T) {
	spec := openapi.New(openapi.Info{})
	if err := spec.Add(openapi.Operation{Method: "GET", Path: "/things/{id}", ID: "get_thing", Input: new(struct {
		ID int `path:"id"`
	}), Output: new(thing)}); err != nil {
		t.Fatal(err)
	}
	ping := openapi.Message{Name: "ping", Payload: map[string]any{"type": "object"}}
	for _, tc := range []struct {
		servers []string
		url     string
		want    string
	}{
		{nil, "http://localhost:8000/asyncapi.json", `{"websocket":{"description":"WebSocket; every message is a JSON text frame.","host":"localhost:8000","protocol":"ws"}}`},
		{[]string{"https://api.example.com/v1/"}, "http://10.0.0.1/asyncapi.json", `{"websocket":{"description":"WebSocket over TLS; every message is a JSON text frame.","host":"api.example.com","pathname":"/v1","protocol":"wss"}}`},
	} {
		doc := openapi.NewAsyncAPI(spec, openapi.Info{Servers: tc.servers})
		err := doc.AddChannel(openapi.Channel{ID: "things", Address: "/ws/things",
			Send:    []openapi.Message{ping, {Name: "thing", Payload: thing{}}},
			Receive: []openapi.Message{ping}})
		if err != nil {
			t.Fatal(err)
		}
		d, err := doc.Document(httptest.NewRequest("GET", tc.url, nil))
		if err != nil {
			t.Fatal(err)
		}
		b, _ := json.Marshal(d["servers"])
		if string(b) != tc.want {
			t.Errorf("servers for %s with %v:\n got %s\nwant %s", tc.url, tc.servers, b, tc.want)
		}
		msgs := dig(d, "channels", "things", "messages").(map[string]any)
		if len(msgs) != 2 || dig(msgs, "thing", "payload", "$ref") != "#/components/schemas/thing" {
			t.Errorf("messages %v", msgs)
		}
		a, _ := json.Marshal(dig(d, "components", "schemas", "thing"))
		o, _ := json.Marshal(dig(render(t, spec), "components", "schemas", "thing"))
		if string(a) != string(o) {
			t.Errorf("thing differs:\nAsyncAPI %s\nOpenAPI  %s", a, o)
		}
	}

	doc := openapi.NewAsyncAPI(spec, openapi.Info{})
	if err := doc.AddChannel(openapi.Channel{ID: "x", Address: "/ws/x", Security: []openapi.Security{{Name: "Nowhere"}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := doc.Document(nil); err == nil || !strings.Contains(err.Error(), "security scheme Nowhere is not in the OpenAPI document") {
		t.Errorf("a scheme the OpenAPI document lacks: %v", err)
	}
	rec := httptest.NewRecorder()
	doc.JSONHandler().ServeHTTP(rec, httptest.NewRequest("GET", "/asyncapi.json", nil))
	if rec.Code != 500 || rec.Header().Get("Content-Type") != "application/json" || rec.Body.String() != `{"detail":"Internal Server Error"}` {
		t.Errorf("the handler answers %d %s", rec.Code, rec.Body)
	}
	spec.AddSecurityScheme("Nowhere", openapi31.SecurityScheme{MutualTLS: &openapi31.MutualTLS{}})
	d, err := doc.Document(nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := dig(d, "components", "securitySchemes", "Nowhere", "type"); got != "X509" {
		t.Errorf("mutualTLS is %v, want X509", got)
	}
}
