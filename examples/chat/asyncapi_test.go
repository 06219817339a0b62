package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/fastapi-easy/easy-go/internal/thirdparty/asyncapitest"
)

// TestAsyncAPIDocumentDescribesTheCustomEndpoints checks the document of
// the chat app with the AsyncAPI initiative's parser: the described chat
// has its text messages, the echo its opaque ones, and what the chat
// room says matches the schema of its line message.
func TestAsyncAPIDocumentDescribesTheCustomEndpoints(t *testing.T) {
	base := "http" + strings.TrimPrefix(serve(t), "ws")
	resp, err := http.Get(base + "/asyncapi.json")
	if err != nil {
		t.Fatal(err)
	}
	doc, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /asyncapi.json: %d %v\n%s", resp.StatusCode, err, doc)
	}
	asyncapitest.Validate(t, doc)

	type message struct {
		ContentType string `json:"contentType"`
		Payload     map[string]any
	}
	var d struct {
		Channels map[string]struct {
			Address  string
			Messages map[string]message
		}
		Operations map[string]struct{ Action string }
	}
	if err := json.Unmarshal(doc, &d); err != nil {
		t.Fatal(err)
	}
	chat, echo := d.Channels["chat"], d.Channels["echo"]
	if chat.Address != "/ws/chat" || echo.Address != "/ws/echo" {
		t.Fatalf("channels %+v", d.Channels)
	}
	for _, name := range []string{"line", "say"} {
		if m := chat.Messages[name]; m.ContentType != "text/plain" || m.Payload["type"] != "string" {
			t.Errorf("chat message %s: %+v", name, m)
		}
	}
	if m, ok := echo.Messages["message"]; !ok || len(echo.Messages) != 1 || m.Payload != nil {
		t.Errorf("echo messages %+v, want one opaque message", echo.Messages)
	}
	for _, op := range []string{"chat.send", "chat.receive", "echo.send", "echo.receive"} {
		if d.Operations[op].Action != op[strings.Index(op, ".")+1:] {
			t.Errorf("operation %s: %+v", op, d.Operations[op])
		}
	}

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	check := asyncapitest.Messages(t, doc)
	ann := dial(t, ctx, "ws"+strings.TrimPrefix(base, "http")+"/ws/chat?name=ann")
	send(t, ctx, ann, "hello")
	for range 2 { // "ann joined", "ann: hello"
		_, msg, err := ann.Read(ctx)
		if err != nil {
			t.Fatal(err)
		}
		text, _ := json.Marshal(string(msg))
		if err := check.Check("chat", "line", text); err != nil {
			t.Error(err)
		}
	}
	if err := check.Check("chat", "line", []byte(`{"said":"hello"}`)); err == nil {
		t.Error("an object passes as a chat line")
	}
}
