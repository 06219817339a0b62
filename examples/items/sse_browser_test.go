package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/fastapi-easy/easy-go/easy/ws"
)

// beforePage runs script in every page of the tab before the page's own.
func beforePage(script string) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		_, err := cdp.Call(ctx, t, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: script})
		return err
	})
}

// webSocketsOpened counts the WebSockets the tab's pages create.
func webSocketsOpened(t *testing.T, ctx context.Context) func() int {
	t.Helper()
	var mu sync.Mutex
	n := 0
	if err := chromedp.Listen(ctx, func(ev any) {
		if _, ok := ev.(*network.EventWebSocketCreated); ok {
			mu.Lock()
			n++
			mu.Unlock()
		}
	}); err != nil {
		t.Fatal(err)
	}
	return func() int {
		mu.Lock()
		defer mu.Unlock()
		return n
	}
}

// followsTheAPI checks that the dashboard shows a create, an update and a
// delete made through the API, and that its price filter, which over SSE
// opens a new stream, narrows the table.
func followsTheAPI(t *testing.T, ctx context.Context, s *server, first Item) {
	t.Helper()
	pear := s.create(t, "pear", 3)
	waitFor(t, ctx, settled, "a create shows", hasRow(row{pear.ID, "pear", "3.00"}))
	s.call(t, "PATCH", fmt.Sprint("/items/", pear.ID), `{"price":30}`)
	waitFor(t, ctx, settled, "an update shows", hasRow(row{pear.ID, "pear", "30.00"}))
	do(t, ctx, chromedp.SetValue(chromedp.CSS(`#filter-form input[name="min"]`), "20"),
		chromedp.SendKeys(chromedp.CSS(`#filter-form input[name="min"]`), "\n"))
	waitFor(t, ctx, settled, "the filter narrows the table", noRow(first.ID)+" && "+hasRow(row{pear.ID, "pear", "30.00"}))
	s.call(t, "PATCH", fmt.Sprint("/items/", pear.ID), `{"price":2}`)
	waitFor(t, ctx, settled, "a row an update takes out of the filter leaves", noRow(pear.ID))
	do(t, ctx, chromedp.SetValue(chromedp.CSS(`#filter-form input[name="min"]`), ""),
		chromedp.SendKeys(chromedp.CSS(`#filter-form input[name="min"]`), "\n"))
	waitFor(t, ctx, settled, "without the filter both rows are back", hasRow(row{first.ID, first.Name, "10.50"})+" && "+hasRow(row{pear.ID, "pear", "2.00"}))
	s.call(t, "DELETE", fmt.Sprint("/items/", pear.ID), "")
	waitFor(t, ctx, settled, "a delete shows", noRow(pear.ID))
}

// A page without WebSocket (as a browser where it is turned off) gets the
// dashboard live over Server-Sent Events, filter included, and never
// tries a WebSocket.
func TestBrowserDashboardLiveOverSSE(t *testing.T) {
	ctx := newBrowser(t)
	opened := webSocketsOpened(t, ctx)
	s := startServer(t, filepath.Join(t.TempDir(), "items.db"), "127.0.0.1:0")
	apple := s.create(t, "apple", 10.5)
	do(t, ctx, beforePage(`delete window.WebSocket`))
	openDashboard(t, ctx, s)
	if typeof := eval[string](t, ctx, `typeof WebSocket`); typeof != "undefined" {
		t.Fatalf("WebSocket is %s in the page, want it gone", typeof)
	}
	if got := eval[string](t, ctx, `document.getElementById("status").dataset.transport`); got != "sse" {
		t.Fatalf("the dashboard connects with %q, want sse", got)
	}
	waitFor(t, ctx, settled, "the snapshot shows", hasRow(row{apple.ID, "apple", "10.50"}))
	followsTheAPI(t, ctx, s, apple)
	if n := opened(); n != 0 {
		t.Errorf("the page opened %d WebSockets", n)
	}
}

// Behind a proxy that refuses WebSocket upgrades, the dashboard's client
// tries a WebSocket, falls back to Server-Sent Events by itself and is
// live.
func TestBrowserDashboardFallsBackToSSE(t *testing.T) {
	ctx := newBrowser(t)
	opened := webSocketsOpened(t, ctx)
	s := startServer(t, filepath.Join(t.TempDir(), "items.db"), "127.0.0.1:0")
	apple := s.create(t, "apple", 10.5)
	target, _ := url.Parse(s.url)
	rp := httputil.NewSingleHostReverseProxy(target)
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.EqualFold(r.Header.Get("Upgrade"), "websocket") {
			http.Error(w, "WebSocket is not allowed through this proxy", http.StatusBadGateway)
			return
		}
		rp.ServeHTTP(w, r)
	}))
	t.Cleanup(func() { proxy.CloseClientConnections(); proxy.Close() })

	openDashboard(t, ctx, &server{url: proxy.URL})
	if got := eval[string](t, ctx, `document.getElementById("status").dataset.transport`); got != "sse" {
		t.Fatalf("the dashboard connects with %q, want sse", got)
	}
	if n := opened(); n != 1 {
		t.Errorf("the page tried %d WebSockets, want 1 before the fallback", n)
	}
	waitFor(t, ctx, settled, "the snapshot shows", hasRow(row{apple.ID, "apple", "10.50"}))
	followsTheAPI(t, ctx, s, apple)
}

// front serves an App on its own http.Server, which the test can stop and
// start again on the same address: a server restart within one process,
// where the App and its Manager, and so the events' history, live on.
type front struct {
	t       *testing.T
	h       http.Handler
	addr    string
	srv     *http.Server
	mu      sync.Mutex
	lastIDs []string // the Last-Event-ID of each request for an event stream
}

func newFront(t *testing.T, h http.Handler) *front {
	f := &front{t: t, h: h, addr: "127.0.0.1:0"}
	f.start()
	t.Cleanup(f.stop)
	return f
}

func (f *front) start() {
	ln, err := net.Listen("tcp", f.addr)
	if err != nil {
		f.t.Fatal(err)
	}
	f.addr = ln.Addr().String()
	f.srv = &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/sse/") {
			f.mu.Lock()
			f.lastIDs = append(f.lastIDs, r.Header.Get("Last-Event-ID"))
			f.mu.Unlock()
		}
		f.h.ServeHTTP(w, r)
	})}
	go f.srv.Serve(ln)
}

// stop closes the listener and every connection, as a server that dies.
func (f *front) stop() { f.srv.Close() }

// The browser's own EventSource, after the server restarts within the
// history: it reconnects by itself with Last-Event-ID, and receives the
// event published while the server was down, with its seq as the id, and
// then the live ones, none missing or doubled.
func TestBrowserEventSourceResumesAfterARestart(t *testing.T) {
	ctx := newBrowser(t)
	s := startServer(t, filepath.Join(t.TempDir(), "items.db"), "127.0.0.1:0")
	f := newFront(t, s.app)
	do(t, ctx, chromedp.Navigate("http://"+f.addr+"/items"))
	eval[bool](t, ctx, `window.got = []; window.opens = 0; window.errors = 0;
		window.es = new EventSource("/sse/items");
		es.onopen = () => opens++;
		es.onerror = () => errors++;
		es.onmessage = (e) => { const m = JSON.parse(e.data); got.push(e.lastEventId + " " + m.type + " " + (m.data?.name ?? "") + " " + m.seq); };
		true`)
	waitFor(t, ctx, 5*time.Second, "EventSource opens", `opens === 1`)
	s.create(t, "apple", 1)
	waitFor(t, ctx, settled, "the first event arrives", `got.length === 1`)
	first := eval[string](t, ctx, `got[0]`)
	seq := strings.Fields(first)[0]

	f.stop()
	waitFor(t, ctx, 5*time.Second, "EventSource sees the server gone", `errors >= 1`)
	s.create(t, "cherry", 2) // through the App, while no front serves
	f.start()
	waitFor(t, ctx, 15*time.Second, "EventSource reconnects by itself", `opens === 2 && got.length === 2`)
	s.create(t, "date", 3)
	waitFor(t, ctx, settled, "live events flow again", `got.length === 3`)

	n, err := strconv.ParseUint(seq, 10, 64)
	if err != nil {
		t.Fatalf("the first event's id %q: %v", seq, err)
	}
	want := []string{
		first,
		fmt.Sprintf("%d create cherry %d", n+1, n+1),
		fmt.Sprintf("%d create date %d", n+2, n+2),
	}
	if got := eval[[]string](t, ctx, `got`); strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("events %q, want %q", got, want)
	}
	if !strings.HasPrefix(first, seq+" create apple "+seq) {
		t.Errorf("first event %q: want apple's create with its seq as the id", first)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.lastIDs) != 2 || f.lastIDs[0] != "" || f.lastIDs[1] != seq {
		t.Errorf("Last-Event-ID of the requests: %q, want none then %s", f.lastIDs, seq)
	}
}

// failedSnapshot is a Source of a resource with no rows whose second
// snapshot fails, as a database that is down would make it.
type failedSnapshot struct {
	m     *ws.Manager
	reads atomic.Int32
}

func (s *failedSnapshot) Filter(map[string]string) (ws.Filter, error) {
	return nil, errors.New("no filters here")
}

func (s *failedSnapshot) Snapshot(context.Context, ws.Filter, int) ([]ws.Change, uint64, error) {
	if s.reads.Add(1) == 2 {
		return nil, 0, errors.New("the database is down")
	}
	return nil, s.m.Seq("notes"), nil
}

// The browser's own EventSource on a stream that asks for snapshots: it
// resumes with Last-Event-ID behind the history and gets a reset, and the
// fresh snapshot the server reads for it fails. The stream ends with the
// error and a close event whose empty id clears the last event ID, so
// that EventSource reconnects by itself without Last-Event-ID, and the
// stream it gets begins with a snapshot.
func TestBrowserEventSourceReconnectsForAFreshSnapshot(t *testing.T) {
	ctx := newBrowser(t)
	m := ws.NewManager(ws.Heartbeat(0), ws.HistorySize(1), ws.Logger(slog.New(slog.DiscardHandler)))
	m.AddResource("notes", &failedSnapshot{m: m})
	mux := http.NewServeMux()
	mux.HandleFunc("/sse/{resource}", m.ServeSSE)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "<!doctype html><title>notes</title>") })
	f := newFront(t, mux)
	t.Cleanup(func() { m.Shutdown(context.Background()) })
	create := func(id int) {
		m.Publish("notes", ws.Change{Op: ws.TypeCreate, Key: id, Data: []byte(fmt.Sprintf(`{"id":%d}`, id))})
	}
	do(t, ctx, chromedp.Navigate("http://"+f.addr+"/"))
	eval[bool](t, ctx, `window.got = []; window.opens = 0;
		window.es = new EventSource("/sse/notes?snapshot=1");
		es.onopen = () => opens++;
		es.onmessage = (e) => got.push(JSON.parse(e.data).type + " " + e.lastEventId);
		es.addEventListener("close", (e) => got.push("close " + e.lastEventId + " " + e.data));
		true`)
	waitFor(t, ctx, settled, "the first snapshot", `got.length === 1`)
	first := m.Seq("notes")
	create(1)
	waitFor(t, ctx, settled, "the first event", `got.length === 2`)

	f.stop()
	create(2) // and the history holds only the next one
	create(3)
	f.start()
	waitFor(t, ctx, 30*time.Second, "EventSource reconnects twice by itself", `opens === 3 && got.filter((m) => m.startsWith("initial")).length === 2`)

	want := []string{
		fmt.Sprintf("initial %d", first),
		fmt.Sprintf("create %d", first+1),
		fmt.Sprintf("reset %d", first+1),
		fmt.Sprintf("error %d", first+1),
		`close  {"code":1013,"reason":"snapshot failed"}`,
		fmt.Sprintf("initial %d", first+3),
	}
	if got := eval[[]string](t, ctx, `got`); strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("messages %q, want %q", got, want)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if want := []string{"", fmt.Sprint(first + 1), ""}; strings.Join(f.lastIDs, ",") != strings.Join(want, ",") {
		t.Errorf("Last-Event-ID of the requests: %q, want %q", f.lastIDs, want)
	}
}
