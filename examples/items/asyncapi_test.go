package main

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/fastapi-easy/easy-go/easy"
	"github.com/fastapi-easy/easy-go/internal/testkit"
	"github.com/fastapi-easy/easy-go/internal/thirdparty/asyncapitest"
)

// startItems serves an app built by build on a real socket and returns
// its base URL.
func startItems(t *testing.T, build func(...easy.Option) (*easy.App, error)) string {
	t.Helper()
	t.Setenv("DATABASE_URL", "sqlite:"+t.TempDir()+"/items.db")
	app, err := build(easy.Logger(slog.New(slog.NewTextHandler(io.Discard, nil))))
	if err != nil {
		t.Fatal(err)
	}
	addr, _ := testkit.ServeOn(t, "127.0.0.1:0", app.Serve)
	return "http://" + addr
}

func fetch(t *testing.T, url string) (*http.Response, []byte) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d %s", url, resp.StatusCode, b)
	}
	return resp, b
}

// TestAsyncAPIDocumentPassesTheParser serves the app, with and without
// logins, and runs the AsyncAPI initiative's parser on its document, as
// JSON and as YAML: no error, no warning. The document's Item is the
// OpenAPI document's, the secured app's channel requires the scheme the
// REST API does, and the page and the docs link to each other.
func TestAsyncAPIDocumentPassesTheParser(t *testing.T) {
	for _, tc := range []struct {
		name  string
		build func(...easy.Option) (*easy.App, error)
	}{
		{"open", newApp},
		{"auth", func(opts ...easy.Option) (*easy.App, error) {
			return newAuthApp([]byte(strings.Repeat("k", 32)), opts...)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			base := startItems(t, tc.build)
			resp, doc := fetch(t, base+"/asyncapi.json")
			if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type %q", ct)
			}
			asyncapitest.Validate(t, doc)
			_, yml := fetch(t, base+"/asyncapi.yaml")
			asyncapitest.Validate(t, yml)

			var async, open struct {
				Info struct {
					ExternalDocs struct{ URL string } `json:"externalDocs"`
				}
				ExternalDocs struct{ URL string } `json:"externalDocs"`
				Servers      map[string]struct{ Host, Protocol string }
				Channels     map[string]struct {
					Address  string
					Messages map[string]json.RawMessage
				}
				Operations map[string]struct {
					Action   string
					Security []map[string]any
				}
				Components struct {
					Schemas         map[string]any
					SecuritySchemes map[string]map[string]any `json:"securitySchemes"`
				}
			}
			if err := json.Unmarshal(doc, &async); err != nil {
				t.Fatal(err)
			}
			_, spec := fetch(t, base+"/openapi.json")
			if err := json.Unmarshal(spec, &open); err != nil {
				t.Fatal(err)
			}
			host := strings.TrimPrefix(base, "http://")
			if s := async.Servers["websocket"]; s.Host != host || s.Protocol != "ws" {
				t.Errorf("servers.websocket = %+v, want ws at %s", s, host)
			}
			ch := async.Channels["items"]
			if ch.Address != "/ws/items" {
				t.Errorf("channel items at %q", ch.Address)
			}
			var names []string
			for n := range ch.Messages {
				names = append(names, n)
			}
			want := []string{"create", "delete", "error", "initial", "ping", "pong", "reset", "subscribe", "unsubscribe", "update"}
			if !equalSets(names, want) {
				t.Errorf("messages %v, want %v", names, want)
			}
			if !reflect.DeepEqual(async.Components.Schemas["Item"], open.Components.Schemas["Item"]) {
				t.Errorf("Item differs:\nAsyncAPI %v\nOpenAPI  %v", async.Components.Schemas["Item"], open.Components.Schemas["Item"])
			}
			if open.ExternalDocs.URL != "/asyncapi" || async.Info.ExternalDocs.URL != base+"/docs" {
				t.Errorf("links: OpenAPI → %q, AsyncAPI → %q", open.ExternalDocs.URL, async.Info.ExternalDocs.URL)
			}
			for _, action := range []string{"send", "receive"} {
				op := async.Operations["items."+action]
				if op.Action != action {
					t.Errorf("operation items.%s: action %q", action, op.Action)
				}
				if tc.name == "auth" && (len(op.Security) != 1 || op.Security[0]["$ref"] != "#/components/securitySchemes/OAuth2PasswordBearer") {
					t.Errorf("operation items.%s: security %v", action, op.Security)
				}
			}
			if tc.name == "auth" {
				if s := async.Components.SecuritySchemes["OAuth2PasswordBearer"]; s["type"] != "oauth2" {
					t.Errorf("securitySchemes %v", async.Components.SecuritySchemes)
				}
			}
			resp, page := fetch(t, base+"/asyncapi")
			if ct := resp.Header.Get("Content-Type"); ct != "text/html; charset=utf-8" ||
				!strings.Contains(string(page), `const specURL = "/asyncapi.json";`) || !strings.Contains(string(page), `<a href="/docs">`) {
				t.Errorf("page: %s\n%s", ct, page)
			}
		})
	}
}

func equalSets(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	in := map[string]bool{}
	for _, x := range a {
		in[x] = true
	}
	for _, x := range b {
		if !in[x] {
			return false
		}
	}
	return true
}

// TestRealtimeMessagesMatchTheAsyncAPIDocument captures every message
// type of the resource protocol from a running app, those the client
// sends as well, and checks each against its payload schema in the
// app's document.
func TestRealtimeMessagesMatchTheAsyncAPIDocument(t *testing.T) {
	base := startItems(t, newApp)
	_, doc := fetch(t, base+"/asyncapi.json")
	check := asyncapitest.Messages(t, doc)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	wsURL := "ws" + strings.TrimPrefix(base, "http") + "/ws/items"

	seen := map[string]bool{}
	expect := func(c *websocket.Conn, typ string) {
		t.Helper()
		_, msg, err := c.Read(ctx)
		if err != nil {
			t.Fatalf("waiting for %s: %v", typ, err)
		}
		var m struct{ Type string }
		json.Unmarshal(msg, &m)
		if m.Type != typ {
			t.Fatalf("got %s, want a %s", msg, typ)
		}
		if err := check.Check("items", typ, msg); err != nil {
			t.Error(err)
		}
		seen[typ] = true
	}
	say := func(c *websocket.Conn, typ, msg string) {
		t.Helper()
		if typ != "" {
			if err := check.Check("items", typ, []byte(msg)); err != nil {
				t.Error(err)
			}
			seen[typ] = true
		}
		if err := c.Write(ctx, websocket.MessageText, []byte(msg)); err != nil {
			t.Fatal(err)
		}
	}
	rest := func(method, path, body string) {
		t.Helper()
		req, _ := http.NewRequestWithContext(ctx, method, base+path, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode >= 300 {
			t.Fatalf("%s %s: %d", method, path, resp.StatusCode)
		}
	}

	c, _, err := websocket.Dial(ctx, wsURL, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseNow()
	rest("POST", "/items", `{"name":"apple","price":10.5}`)
	expect(c, "create")
	say(c, "subscribe", `{"type":"subscribe","filter":{"price__gte":1,"name__like":"app"},"limit":10}`)
	expect(c, "initial")
	rest("PATCH", "/items/1", `{"price":12}`)
	expect(c, "update")
	rest("DELETE", "/items/1", "")
	expect(c, "delete")
	say(c, "ping", `{"type":"ping"}`)
	expect(c, "pong")
	say(c, "", `{"type":"subscribe","limit":0}`)
	expect(c, "error")
	say(c, "unsubscribe", `{"type":"unsubscribe"}`)
	c.Close(websocket.StatusNormalClosure, "")

	// A seq older than the history: the server cannot resume.
	r, _, err := websocket.Dial(ctx, wsURL+"?since=1", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer r.CloseNow()
	expect(r, "reset")

	// What the server says is checked against its schema: a message that
	// breaks it must fail, or the checks above prove nothing.
	for _, bad := range []struct{ typ, msg string }{
		{"create", `{"type":"create","resource":"items","id":1,"data":{"id":1,"name":"","price":-1},"seq":5}`},
		{"delete", `{"type":"delete","resource":"orders","id":1,"seq":5}`},
		{"subscribe", `{"type":"subscribe","limit":0}`},
	} {
		if err := check.Check("items", bad.typ, []byte(bad.msg)); err == nil {
			t.Errorf("%s passes as a %s", bad.msg, bad.typ)
		}
	}
	for _, typ := range []string{"create", "update", "delete", "initial", "reset", "pong", "error", "subscribe", "unsubscribe", "ping"} {
		if !seen[typ] {
			t.Errorf("no %s message was checked", typ)
		}
	}
}
