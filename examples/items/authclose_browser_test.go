package main

import (
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// A page whose token the server refuses learns why, over either transport,
// and stops: over a WebSocket the server (ws.CloseOnAuthFailure) accepts
// the handshake (the client says "connected" for that moment) and closes
// it with 1008 and the detail; over SSE the
// client reads the 401's JSON body. One connection each, no retries.
func TestBrowserRefusedTokenIsShownAndNotRetried(t *testing.T) {
	ctx := newBrowser(t)
	opened := webSocketsOpened(t, ctx)
	s := startAuthServer(t, filepath.Join(t.TempDir(), "items.db"))
	do(t, ctx, chromedp.Navigate(s.url+"/items"))
	for _, c := range []struct {
		transport, query, detail string
		webSockets               int
	}{
		{"websocket", "?access_token=forged", "Could not validate credentials", 1},
		{"websocket", "", "Not authenticated", 2},
		{"sse", "?access_token=forged", "Could not validate credentials", 2},
		{"sse", "", "Not authenticated", 2},
	} {
		name := c.transport + " " + c.query
		eval[bool](t, ctx, fmt.Sprintf(`window.log = [];
			import("/ws/client.js").then(({ connect }) => connect("items", {
				url: "/ws/items%[1]s", sseUrl: "/sse/items%[1]s", transport: %[2]q,
				backoff: { initial: 20, max: 40 },
				onStatus: (s) => log.push(s), onError: (d) => log.push("error: " + d),
			}));
			true`, c.query, c.transport))
		waitFor(t, ctx, 5*time.Second, name+": the client stops", `log.includes("offline")`)
		time.Sleep(300 * time.Millisecond) // time for retries, were there any
		got := eval[[]string](t, ctx, `log`)
		want := []string{"connecting", "offline", "error: " + c.detail}
		if c.transport == "websocket" { // the handshake succeeds, then the close comes
			want = []string{"connecting", "connected", "offline", "error: " + c.detail}
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("%s: %q, want %q", name, got, want)
		}
		if n := opened(); n != c.webSockets {
			t.Errorf("%s: %d WebSockets opened in all, want %d", name, n, c.webSockets)
		}
	}
}
