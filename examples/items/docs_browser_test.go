package main

import (
	"context"
	"encoding/json"
	"log/slog"
	"maps"
	"net/url"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/fastapi-easy/easy-go/easy"
	"github.com/fastapi-easy/easy-go/easy/openapi"
	"github.com/fastapi-easy/easy-go/internal/testkit"
)

func TestBrowserDocsRunSwaggerUIOffline(t *testing.T) {
	ctx := newBrowser(t)
	s := startServer(t, filepath.Join(t.TempDir(), "items.db"), "127.0.0.1:0")
	s.create(t, "quince", 2)

	requests := recordRequests(t, ctx)

	do(t, ctx, chromedp.Navigate(s.url+"/docs"))
	waitFor(t, ctx, 10*time.Second, "Swagger UI lists the operations", `document.querySelectorAll(".opblock").length >= 6`)
	screenshot(t, ctx, "docs.png")
	ops := eval[[]string](t, ctx, `[...document.querySelectorAll(".opblock")].map(o =>
		o.querySelector(".opblock-summary-method").textContent + " " + o.querySelector(".opblock-summary-path").dataset.path)`)
	for _, op := range []string{"GET /items", "POST /items", "GET /items/{id}", "PUT /items/{id}", "PATCH /items/{id}", "DELETE /items/{id}"} {
		if !slices.Contains(ops, op) {
			t.Errorf("Swagger UI does not list %s; it lists %q", op, ops)
		}
	}

	// Try it out: GET /items, as a user would.
	list := `#operations-items-list_items `
	do(t, ctx,
		chromedp.Click(chromedp.CSS(list+`.opblock-summary-control`)),
		chromedp.Click(chromedp.CSS(list+`.try-out__btn`)),
		chromedp.Click(chromedp.CSS(list+`.execute`)),
	)
	waitFor(t, ctx, 5*time.Second, `"Execute" on GET /items answers 200`,
		`document.querySelector("`+list+`.live-responses-table tr.response .response-col_status")?.textContent.trim() === "200"`)
	body := eval[string](t, ctx, `document.querySelector("`+list+`.live-responses-table tr.response .highlight-code pre").textContent`)
	var items []Item
	if err := json.Unmarshal([]byte(body), &items); err != nil || len(items) != 1 || items[0].Name != "quince" {
		t.Errorf("GET /items from Swagger UI shows %s", body)
	}

	// Try it out: POST /items is filled in with the spec's example, and
	// creates it.
	create := `#operations-items-create_item `
	do(t, ctx,
		chromedp.Click(chromedp.CSS(create+`.opblock-summary-control`)),
		chromedp.Click(chromedp.CSS(create+`.try-out__btn`)),
	)
	sample := eval[string](t, ctx, `document.querySelector("`+create+`textarea.body-param__text").value`)
	var filled, example map[string]any
	if err := json.Unmarshal([]byte(sample), &filled); err != nil {
		t.Fatalf("the request body Swagger UI fills in is not JSON: %q", sample)
	}
	if example = specExample(t, s, "ItemCreate"); !maps.Equal(filled, example) {
		t.Errorf("Try it out fills in %s, want the spec's example %v", sample, example)
	}
	do(t, ctx, chromedp.Click(chromedp.CSS(create+`.execute`)))
	waitFor(t, ctx, 5*time.Second, `"Execute" on POST /items answers 201`,
		`document.querySelector("`+create+`.live-responses-table tr.response .response-col_status")?.textContent.trim() === "201"`)
	var n int64
	if err := s.app.DB().Model(&Item{}).Count(&n).Error; err != nil || n != 2 {
		t.Errorf("after POST %s from Swagger UI the database has %d items (%v), want 2", sample, n, err)
	}

	urls := requests.local(t, "the docs page")
	if !slices.ContainsFunc(urls, func(r string) bool {
		u, err := url.Parse(r)
		return err == nil && u.Path == "/docs/swagger-ui-bundle.js"
	}) {
		t.Errorf("Swagger UI's script did not come from /docs/: %q", urls)
	}
	t.Logf("%d requests, all to 127.0.0.1", len(urls))
}

// requestLog holds the URL of every request a browser made.
type requestLog struct {
	mu   sync.Mutex
	urls []string
}

// recordRequests records the requests of the browser of ctx from now on.
func recordRequests(t *testing.T, ctx context.Context) *requestLog {
	t.Helper()
	l := new(requestLog)
	if err := chromedp.Listen(ctx, func(ev any) {
		if ev, ok := ev.(*network.EventRequestWillBeSent); ok {
			l.mu.Lock()
			l.urls = append(l.urls, ev.Request.URL)
			l.mu.Unlock()
		}
	}); err != nil {
		t.Fatal(err)
	}
	return l
}

// local fails the test for every request page made outside 127.0.0.1
// (data: URLs are the page's own), and for none at all, and returns them.
func (l *requestLog) local(t *testing.T, page string) []string {
	t.Helper()
	l.mu.Lock()
	urls := slices.Clone(l.urls)
	l.mu.Unlock()
	if len(urls) == 0 {
		t.Fatal("no network requests recorded")
	}
	for _, r := range urls {
		if u, err := url.Parse(r); err != nil || (u.Scheme != "data" && u.Hostname() != "127.0.0.1") {
			t.Errorf("%s requested %s, outside 127.0.0.1", page, r)
		}
	}
	return urls
}

// TestBrowserAsyncAPIPageShowsTheRealtimeAPI opens the docs, follows
// their link to the realtime API's page and checks that it shows, with
// no request outside the app, the channel of /ws/items, its messages and
// the Item schema.
func TestBrowserAsyncAPIPageShowsTheRealtimeAPI(t *testing.T) {
	ctx := newBrowser(t)
	s := startServer(t, filepath.Join(t.TempDir(), "items.db"), "127.0.0.1:0")

	requests := recordRequests(t, ctx)

	do(t, ctx, chromedp.Navigate(s.url+"/docs"))
	waitFor(t, ctx, 10*time.Second, "Swagger UI links the realtime API", `document.querySelector('a[href$="/asyncapi"]') !== null`)
	// The link opens a new tab: follow it in this one.
	do(t, ctx, chromedp.Navigate(eval[string](t, ctx, `document.querySelector('a[href$="/asyncapi"]').href`)))
	waitFor(t, ctx, 10*time.Second, "the page renders the document", `document.body.dataset.rendered === "true"`)
	screenshot(t, ctx, "asyncapi.png")
	got := eval[map[string]any](t, ctx, `({
		address: document.querySelector("#channel-items h3")?.textContent,
		messages: [...document.querySelectorAll("#channel-items summary code")].map(c => c.textContent).sort().join(","),
		item: document.querySelector("#schemas-Item pre")?.textContent.includes('"minLength": 1'),
		error: document.getElementById("error").textContent,
	})`)
	want := map[string]any{
		"address":  "WebSocket/ws/items",
		"messages": "batch,create,delete,error,initial,ping,ping,pong,reset,subscribe,unsubscribe,update",
		"item":     true,
		"error":    "",
	}
	if !maps.Equal(got, want) {
		t.Errorf("the page shows %v, want %v", got, want)
	}
	requests.local(t, "the pages")
}

// TestBrowserAsyncAPIPageShowsMarkupAsText serves a document whose title,
// description and message summary hold markup and checks that the page
// shows it as text and runs none of it.
func TestBrowserAsyncAPIPageShowsMarkupAsText(t *testing.T) {
	ctx := newBrowser(t)
	const title = `<img src=x onerror="window.pwned=1">`
	app := easy.New(easy.Title(title, "1.0.0"), easy.DB(testkit.SQLite(t, nil)), easy.Logger(slog.New(slog.DiscardHandler)))
	app.AddChannel(openapi.Channel{ID: "x", Address: "/ws/x",
		Description: `<script>window.pwned=2</script>`,
		Send:        []openapi.Message{{Name: "m", Summary: `<img src=y onerror="window.pwned=3">`, Payload: ""}}})
	addr, _ := testkit.ServeOn(t, "127.0.0.1:0", app.Serve)
	do(t, ctx, chromedp.Navigate("http://"+addr+"/asyncapi"))
	waitFor(t, ctx, 10*time.Second, "the page renders the document", `document.body.dataset.rendered === "true"`)
	got := eval[map[string]any](t, ctx, `({
		pwned: window.pwned === undefined ? "no" : String(window.pwned),
		title: document.getElementById("title").textContent,
		images: document.images.length,
		scripts: document.scripts.length,
	})`)
	want := map[string]any{"pwned": "no", "title": title, "images": 0.0, "scripts": 1.0}
	if !maps.Equal(got, want) {
		t.Errorf("the page: %v, want %v", got, want)
	}
}
