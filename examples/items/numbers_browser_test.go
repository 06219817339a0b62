package main

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// The dashboard shows, live, the connections open on /ws/items and the
// events published per second, as /metrics counts them.
func TestBrowserDashboardShowsLiveNumbers(t *testing.T) {
	ctx := newBrowser(t)
	s := startServer(t, filepath.Join(t.TempDir(), "items.db"), "127.0.0.1:0")
	openDashboard(t, ctx, s)
	waitFor(t, ctx, 5*time.Second, "the page counts its own connection",
		`document.getElementById("connections").textContent === "1"`)

	dctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, _, err := websocket.Dial(dctx, "ws://"+s.addr+"/ws/items", nil)
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, ctx, 5*time.Second, "a second client is counted",
		`document.getElementById("connections").textContent === "2"`)

	for i := range 5 {
		s.create(t, fmt.Sprint("item", i), 1)
	}
	waitFor(t, ctx, 5*time.Second, "the events are counted per second",
		`Number(document.getElementById("events-rate").textContent) > 0`)
	waitFor(t, ctx, 5*time.Second, "the rate falls back when nothing happens",
		`document.getElementById("events-rate").textContent === "0.0"`)

	c.Close(websocket.StatusNormalClosure, "")
	waitFor(t, ctx, 5*time.Second, "the client that left is no longer counted",
		`document.getElementById("connections").textContent === "1"`)
}
