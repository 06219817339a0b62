package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/fastapi-easy/easy-go/easy"
	"github.com/fastapi-easy/easy-go/internal/testkit"
)

// The browser tests drive the items app in Debian's Chromium. They need
// EASY_TEST_CHROME, the path of the browser, and skip without it unless
// EASY_TEST_REQUIRE=all:
//
//	EASY_TEST_CHROME=/usr/bin/chromium go test -run Browser -v ./examples/items

// server is the items app serving on a real port over a SQLite file.
type server struct {
	url  string // http://127.0.0.1:PORT
	addr string
	app  *easy.App
	stop func() // stops it and waits; idempotent
}

// startServer builds the app with newApp over the SQLite file db and
// serves it on addr ("127.0.0.1:0" for any port). The test stops it at
// the latest in its cleanup.
func startServer(t *testing.T, db, addr string) *server {
	t.Helper()
	t.Setenv("DATABASE_URL", "sqlite:"+db)
	app, err := newApp(easy.Logger(slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))))
	if err != nil {
		t.Fatal(err)
	}
	bound, stop := testkit.ServeOn(t, addr, app.Serve)
	s := &server{url: "http://" + bound, addr: bound, app: app, stop: stop}
	return s
}

// call sends a request to the API and returns the status and the body.
func (s *server) call(t *testing.T, method, path, body string) (int, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, s.url+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return res.StatusCode, b
}

// create adds an item through the API and returns it.
func (s *server) create(t *testing.T, name string, price float64) Item {
	t.Helper()
	body, _ := json.Marshal(Item{Name: name, Price: price})
	status, b := s.call(t, "POST", "/items", string(body))
	if status != http.StatusCreated {
		t.Fatalf("POST /items: %d %s", status, b)
	}
	var it Item
	if err := json.Unmarshal(b, &it); err != nil {
		t.Fatal(err)
	}
	return it
}

// testWriter sends the app's warnings to the test log.
type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

// newBrowser starts a headless Chromium with a fresh profile and returns
// the context of its first tab; the test's cleanup closes it.
func newBrowser(t *testing.T) context.Context {
	t.Helper()
	path := testkit.Require(t, testkit.ChromeEnv)
	profile := t.TempDir() // removed after the browser has exited: cleanups run last first
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.UserDataDir(profile),
		chromedp.WindowSize(1024, 720),
		chromedp.Flag("headless", true),
		chromedp.Flag("no-sandbox", true),
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("no-first-run", true),
		chromedp.Flag("disable-quic", true),
	)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(ctx, opts...)
	t.Cleanup(cancelAlloc)
	tab, cancelTab := chromedp.NewContext(allocCtx, chromedp.WithErrorf(t.Logf))
	t.Cleanup(cancelTab)
	if err := chromedp.Do(tab); err != nil { // starts the browser
		t.Fatalf("start %s: %v", path, err)
	}
	return tab
}

// newTab opens another tab in the browser of ctx.
func newTab(t *testing.T, ctx context.Context) context.Context {
	t.Helper()
	tab, cancel := chromedp.NewContext(ctx)
	t.Cleanup(cancel)
	return tab
}

// do runs actions in the tab and fails the test on an error.
func do(t *testing.T, ctx context.Context, actions ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	if err := chromedp.Do(ctx, actions...); err != nil {
		t.Fatal(err)
	}
}

// eval evaluates a JavaScript expression in the tab.
func eval[T any](t *testing.T, ctx context.Context, expr string) T {
	t.Helper()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr))
	if err != nil {
		t.Fatalf("%s: %v", expr, err)
	}
	return v
}

// waitFor waits until the JavaScript expression cond is true in the tab,
// at most d, and fails the test with what and the table otherwise.
func waitFor(t *testing.T, ctx context.Context, d time.Duration, what, cond string) {
	t.Helper()
	_, err := chromedp.Run(ctx, chromedp.Poll[bool](cond,
		chromedp.WithPollingInterval(10*time.Millisecond), chromedp.WithPollingTimeout(d)))
	if err != nil {
		if errors.Is(err, chromedp.ErrPollingTimeout) {
			err = fmt.Errorf("not within %v", d)
		}
		t.Fatalf("%s: %v\nstatus %q, table %+v", what, err,
			eval[string](t, ctx, `document.getElementById("status")?.textContent ?? ""`), tableRows(t, ctx))
	}
}

// row is an item as the dashboard shows it.
type row struct {
	ID    uint   `json:"id"`
	Name  string `json:"name"`
	Price string `json:"price"`
}

// tableRows reads the dashboard's table.
func tableRows(t *testing.T, ctx context.Context) []row {
	t.Helper()
	return eval[[]row](t, ctx, `[...document.querySelectorAll("#items tbody tr")].map(r => ({
		id: Number(r.dataset.id), name: r.cells[1].textContent, price: r.cells[2].textContent }))`)
}

// hasRow is a condition for waitFor: the table shows the row exactly.
func hasRow(r row) string {
	return fmt.Sprintf(`[...document.querySelectorAll("#items tbody tr")].some(r =>
		r.dataset.id === "%d" && r.cells[1].textContent === %q && r.cells[2].textContent === %q)`, r.ID, r.Name, r.Price)
}

// noRow is a condition for waitFor: the table has no row with id.
func noRow(id uint) string {
	return fmt.Sprintf(`document.querySelector('#items tbody tr[data-id="%d"]') === null`, id)
}

// openDashboard loads the dashboard and waits until it shows the snapshot.
func openDashboard(t *testing.T, ctx context.Context, s *server) {
	t.Helper()
	do(t, ctx, chromedp.Navigate(s.url+"/"))
	waitFor(t, ctx, 5*time.Second, "the dashboard connects and shows its snapshot",
		`document.getElementById("status").textContent === "connected" &&
		 document.getElementById("empty").textContent !== "Loading…"`)
}

// screenshot saves a PNG of the tab in the test's artifact directory
// (kept with go test -artifacts) and returns its path.
func screenshot(t *testing.T, ctx context.Context, name string) string {
	t.Helper()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(png, []byte("\x89PNG")) {
		t.Fatalf("screenshot %s is not a PNG", name)
	}
	path := filepath.Join(t.ArtifactDir(), name)
	if err := os.WriteFile(path, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: %s", path)
	return path
}
