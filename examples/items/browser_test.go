package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"gorm.io/driver/sqlite"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"

	"github.com/fastapi-easy/easy-go/easy"
)

// A change is on the page this long after the request that made it has
// returned.
const live = time.Second

// What the page does after a click (a request, its answer, the event that
// follows) is done within this; it bounds a hang, it is no latency target.
const settled = 5 * time.Second

func TestBrowserDashboardFollowsTheAPI(t *testing.T) {
	ctx := newBrowser(t)
	s := startServer(t, filepath.Join(t.TempDir(), "items.db"), "127.0.0.1:0")
	apple := s.create(t, "apple", 10.5)
	pear := s.create(t, "pear", 3)

	openDashboard(t, ctx, s)
	want := []row{{apple.ID, "apple", "10.50"}, {pear.ID, "pear", "3.00"}}
	if got := tableRows(t, ctx); !slices.Equal(got, want) {
		t.Fatalf("the dashboard shows %+v, want the existing rows %+v", got, want)
	}

	plum := s.create(t, "plum", 2.25)
	waitFor(t, ctx, live, "a POST /items appears", hasRow(row{plum.ID, "plum", "2.25"}))
	if status, b := s.call(t, "PATCH", fmt.Sprintf("/items/%d", plum.ID), `{"price":4}`); status != http.StatusOK {
		t.Fatalf("PATCH: %d %s", status, b)
	}
	waitFor(t, ctx, live, "a PATCH shows", hasRow(row{plum.ID, "plum", "4.00"}))
	if status, b := s.call(t, "PUT", fmt.Sprintf("/items/%d", pear.ID), `{"name":"nashi","price":3.5}`); status != http.StatusOK {
		t.Fatalf("PUT: %d %s", status, b)
	}
	waitFor(t, ctx, live, "a PUT shows", hasRow(row{pear.ID, "nashi", "3.50"}))
	if status, b := s.call(t, "DELETE", fmt.Sprintf("/items/%d", plum.ID), ""); status != http.StatusOK {
		t.Fatalf("DELETE: %d %s", status, b)
	}
	waitFor(t, ctx, live, "a DELETE removes the row", noRow(plum.ID))
	if got := eval[string](t, ctx, `document.getElementById("event-count").textContent`); got != "4" {
		t.Errorf("event counter shows %s, want 4", got)
	}

	waitFor(t, ctx, 3*time.Second, "the highlight fades", `document.getAnimations().length === 0`)
	path := screenshot(t, ctx, "dashboard.png")
	if os.Getenv("EASY_WRITE_SCREENSHOT") == "1" {
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile("../../docs/dashboard.png", b, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Log("wrote docs/dashboard.png")
	}
}

func TestBrowserFormCreatesAnItem(t *testing.T) {
	ctx := newBrowser(t)
	s := startServer(t, filepath.Join(t.TempDir(), "items.db"), "127.0.0.1:0")
	openDashboard(t, ctx, s)
	if got := eval[string](t, ctx, `document.getElementById("empty").textContent`); got != "No items yet." {
		t.Errorf("an empty table says %q", got)
	}

	do(t, ctx,
		chromedp.SendKeys(chromedp.CSS(`#add-form input[name="name"]`), "kiwi"),
		chromedp.SendKeys(chromedp.CSS(`#add-form input[name="price"]`), "1.25"),
		chromedp.Click(chromedp.CSS(`#add-form button[type="submit"]`)),
	)
	waitFor(t, ctx, settled, "the new item shows", `document.querySelector("#items tbody tr .name")?.textContent === "kiwi"`)

	var items []Item
	if err := s.app.DB().Find(&items).Error; err != nil {
		t.Fatal(err)
	}
	if len(items) != 1 || items[0].Name != "kiwi" || items[0].Price != 1.25 {
		t.Fatalf("database holds %+v, want one kiwi at 1.25", items)
	}
	if got := tableRows(t, ctx); !slices.Equal(got, []row{{items[0].ID, "kiwi", "1.25"}}) {
		t.Errorf("table %+v", got)
	}
	// The event may show the row before the page has read the POST's answer.
	waitFor(t, ctx, settled, "the form is cleared after a success", `document.querySelector('#add-form input[name="name"]').value === ""`)
}

func TestBrowserFormShowsTheAPIsErrors(t *testing.T) {
	ctx := newBrowser(t)
	s := startServer(t, filepath.Join(t.TempDir(), "items.db"), "127.0.0.1:0")
	openDashboard(t, ctx, s)

	// What the API says about the body the form will send.
	status, b := s.call(t, "POST", "/items", `{"name":"","price":-1}`)
	var res struct {
		Detail []struct {
			Loc []any  `json:"loc"`
			Msg string `json:"msg"`
		} `json:"detail"`
	}
	if err := json.Unmarshal(b, &res); status != http.StatusUnprocessableEntity || err != nil || len(res.Detail) != 2 {
		t.Fatalf("POST of an invalid item: %d %s", status, b)
	}
	var want []string
	for _, d := range res.Detail {
		want = append(want, fmt.Sprintf("%v: %s", d.Loc[len(d.Loc)-1], d.Msg))
	}

	do(t, ctx,
		chromedp.SendKeys(chromedp.CSS(`#add-form input[name="price"]`), "-1"),
		chromedp.Click(chromedp.CSS(`#add-form button[type="submit"]`)),
	)
	waitFor(t, ctx, settled, "the errors show", `document.querySelectorAll("#errors li").length > 0`)
	got := eval[[]string](t, ctx, `[...document.querySelectorAll("#errors li")].map(li => li.textContent)`)
	if !slices.Equal(got, want) {
		t.Errorf("the page shows %q, want the API's %q", got, want)
	}
	var n int64
	if err := s.app.DB().Model(&Item{}).Count(&n).Error; err != nil || n != 0 {
		t.Errorf("database holds %d items (%v), want none", n, err)
	}

	// A good item clears them. The page clears the list while a request is
	// in flight, so wait for the row first: the errors must stay cleared
	// after the answer.
	do(t, ctx,
		chromedp.SendKeys(chromedp.CSS(`#add-form input[name="name"]`), "fig"),
		chromedp.SetValue(chromedp.CSS(`#add-form input[name="price"]`), "2"),
		chromedp.Click(chromedp.CSS(`#add-form button[type="submit"]`)),
	)
	waitFor(t, ctx, settled, "the good item shows", `[...document.querySelectorAll("#items tbody tr td:nth-child(2)")].some(td => td.textContent === "fig")`)
	waitFor(t, ctx, settled, "the form is cleared after a success", `document.querySelector('#add-form input[name="name"]').value === ""`)
	if got := eval[int](t, ctx, `document.querySelectorAll("#errors li").length`); got != 0 {
		t.Errorf("%d errors still show after a good item", got)
	}
}

func TestBrowserInlineEditAndDelete(t *testing.T) {
	ctx := newBrowser(t)
	s := startServer(t, filepath.Join(t.TempDir(), "items.db"), "127.0.0.1:0")
	apple := s.create(t, "apple", 10.5)
	openDashboard(t, ctx, s)
	sel := func(css string) chromedp.CSS { return chromedp.CSS(fmt.Sprintf(`tr[data-id="%d"] %s`, apple.ID, css)) }

	do(t, ctx,
		chromedp.Click(sel("button.edit")),
		chromedp.SetValue(sel(`input[name="name"]`), "green apple"),
		chromedp.SetValue(sel(`input[name="price"]`), "11"),
		chromedp.Click(sel("button.save")),
	)
	waitFor(t, ctx, settled, "the edited row shows", hasRow(row{apple.ID, "green apple", "11.00"}))
	var got Item
	if err := s.app.DB().First(&got, apple.ID).Error; err != nil || got.Name != "green apple" || got.Price != 11 {
		t.Fatalf("database holds %+v (%v), want green apple at 11", got, err)
	}

	// An invalid edit shows the API's error and keeps the inputs; Cancel
	// puts the row back.
	do(t, ctx,
		chromedp.Click(sel("button.edit")),
		chromedp.SetValue(sel(`input[name="price"]`), "-5"),
		chromedp.Click(sel("button.save")),
	)
	waitFor(t, ctx, settled, "the edit's error shows",
		fmt.Sprintf(`document.getElementById("errors").textContent.startsWith("Item %d: price: ")`, apple.ID))
	do(t, ctx, chromedp.Click(sel("button.cancel")))
	waitFor(t, ctx, settled, "Cancel restores the row", hasRow(row{apple.ID, "green apple", "11.00"}))

	do(t, ctx, chromedp.Click(sel("button.delete")))
	waitFor(t, ctx, settled, "the deleted row goes", noRow(apple.ID))
	var n int64
	if err := s.app.DB().Model(&Item{}).Count(&n).Error; err != nil || n != 0 {
		t.Errorf("database holds %d items (%v), want none", n, err)
	}
}

func TestBrowserTwoPagesSeeEveryChange(t *testing.T) {
	a := newBrowser(t)
	b := newTab(t, a)
	s := startServer(t, filepath.Join(t.TempDir(), "items.db"), "127.0.0.1:0")
	s.create(t, "apple", 10.5)
	openDashboard(t, a, s)
	openDashboard(t, b, s)

	// From page a's form.
	do(t, a,
		chromedp.SendKeys(chromedp.CSS(`#add-form input[name="name"]`), "fig"),
		chromedp.Click(chromedp.CSS(`#add-form button[type="submit"]`)),
	)
	waitFor(t, a, settled, "page a shows its own create", `[...document.querySelectorAll("#items .name")].some(c => c.textContent === "fig")`)
	var fig Item
	if err := s.app.DB().Where("name = ?", "fig").First(&fig).Error; err != nil {
		t.Fatal(err)
	}
	waitFor(t, b, live, "page b shows a's create", hasRow(row{fig.ID, "fig", "0.00"}))

	// From the API.
	if status, body := s.call(t, "PATCH", fmt.Sprintf("/items/%d", fig.ID), `{"price":2}`); status != http.StatusOK {
		t.Fatalf("PATCH: %d %s", status, body)
	}
	waitFor(t, a, live, "page a shows the API's update", hasRow(row{fig.ID, "fig", "2.00"}))
	waitFor(t, b, live, "page b shows the API's update", hasRow(row{fig.ID, "fig", "2.00"}))

	// From page b's delete button.
	do(t, b, chromedp.Click(chromedp.CSS(fmt.Sprintf(`tr[data-id="%d"] button.delete`, fig.ID))))
	waitFor(t, a, live, "page a sees b's delete", noRow(fig.ID))
	waitFor(t, b, live, "page b sees its own delete", noRow(fig.ID))

	for _, tab := range []context.Context{a, b} {
		if got := eval[string](t, tab, `document.getElementById("event-count").textContent`); got != "3" {
			t.Errorf("a page counts %s events, want 3", got)
		}
	}
}

// The price filter narrows the table to the rows that pass it, and the
// table stays right as API writes move rows in and out of the filter.
func TestBrowserFilteredTableFollowsRowsInAndOut(t *testing.T) {
	ctx := newBrowser(t)
	s := startServer(t, filepath.Join(t.TempDir(), "items.db"), "127.0.0.1:0")
	apple := s.create(t, "apple", 12)
	pear := s.create(t, "pear", 3)
	openDashboard(t, ctx, s)

	do(t, ctx, chromedp.SendKeys(chromedp.CSS(`#filter-form input[name="min"]`), "10\n"))
	waitFor(t, ctx, settled, "the table narrows to the filter", noRow(pear.ID)+" && "+hasRow(row{apple.ID, "apple", "12.00"}))

	patch := func(id uint, body string) {
		t.Helper()
		if status, b := s.call(t, "PATCH", fmt.Sprintf("/items/%d", id), body); status != http.StatusOK {
			t.Fatalf("PATCH %d: %d %s", id, status, b)
		}
	}
	patch(apple.ID, `{"price":5}`)
	waitFor(t, ctx, live, "a row the API takes out of the filter goes", noRow(apple.ID))
	patch(pear.ID, `{"price":20}`)
	waitFor(t, ctx, live, "a row the API brings into the filter comes", hasRow(row{pear.ID, "pear", "20.00"}))
	if got := tableRows(t, ctx); !slices.Equal(got, []row{{pear.ID, "pear", "20.00"}}) {
		t.Errorf("filtered table %+v, want only pear", got)
	}

	do(t, ctx, chromedp.SetValue(chromedp.CSS(`#filter-form input[name="min"]`), ""),
		chromedp.SendKeys(chromedp.CSS(`#filter-form input[name="min"]`), "\n"))
	waitFor(t, ctx, settled, "without the filter every row is back", hasRow(row{apple.ID, "apple", "5.00"})+" && "+hasRow(row{pear.ID, "pear", "20.00"}))
}

// A table with more items than a snapshot holds (ws.SnapshotLimit, 1,000
// by default) shows the first 1,000 and says that it does, until a filter
// narrows it to fewer.
func TestBrowserTableSaysWhenItHoldsTheFirstRowsOnly(t *testing.T) {
	ctx := newBrowser(t)
	s := startServer(t, filepath.Join(t.TempDir(), "items.db"), "127.0.0.1:0")
	s.create(t, "item0", 0) // once it is answered, the tables are there
	items := make([]Item, 1000)
	for i := range items {
		items[i] = Item{Name: fmt.Sprint("item", i+1), Price: float64(i + 1)}
	}
	if err := s.app.DB().CreateInBatches(items, 200).Error; err != nil {
		t.Fatal(err)
	}
	openDashboard(t, ctx, s)
	if n := eval[int](t, ctx, `document.querySelectorAll("#items tbody tr").length`); n != 1000 {
		t.Errorf("the table has %d rows, want the snapshot's 1000", n)
	}
	const note = `document.getElementById("more")`
	if shown, text := eval[bool](t, ctx, `!`+note+`.hidden`), eval[string](t, ctx, note+`.textContent`); !shown ||
		text != "Showing the first 1000 items: narrow the filter to see the others." {
		t.Errorf("the note on the first rows: shown %v, %q", shown, text)
	}

	do(t, ctx, chromedp.SendKeys(chromedp.CSS(`#filter-form input[name="min"]`), "995\n"))
	waitFor(t, ctx, settled, "the table narrows to the filter, all of it shown",
		`document.querySelectorAll("#items tbody tr").length === 6 && `+note+`.hidden`)
}

func TestBrowserDashboardResumesAfterARestart(t *testing.T) {
	ctx := newBrowser(t)
	db := filepath.Join(t.TempDir(), "items.db")
	s := startServer(t, db, "127.0.0.1:0")
	apple := s.create(t, "apple", 10.5)
	openDashboard(t, ctx, s)
	eval[bool](t, ctx, `window.sameDocument = true`)

	s.stop()
	waitFor(t, ctx, 5*time.Second, `the page says "reconnecting"`, `document.getElementById("status").textContent === "reconnecting"`)

	// While no server runs, a job made of the same app writes a row: its
	// event waits in the outbox table, and the page, resuming with its
	// last seq, gets it from the restarted server without a reset.
	away := writeThroughApp(t, db, Item{Name: "cherry", Price: 7})

	s = startServer(t, db, s.addr)
	waitFor(t, ctx, 10*time.Second, "the page reconnects and shows the change made while it was away",
		`document.getElementById("status").textContent === "connected" && `+hasRow(row{away.ID, "cherry", "7.00"}))
	if got := tableRows(t, ctx); !slices.Equal(got, []row{{apple.ID, "apple", "10.50"}, {away.ID, "cherry", "7.00"}}) {
		t.Errorf("table after the restart: %+v", got)
	}
	date := s.create(t, "date", 1)
	waitFor(t, ctx, settled, "live events flow again", hasRow(row{date.ID, "date", "1.00"}))
	if !eval[bool](t, ctx, `window.sameDocument === true`) {
		t.Error("the page was reloaded; it should have resumed by itself")
	}
}

// writeThroughApp adds a row to the SQLite file through an app of its own,
// as a job run while the server is down would.
func writeThroughApp(t *testing.T, path string, it Item) Item {
	t.Helper()
	db, err := gorm.Open(sqlite.Open(path), &gorm.Config{Logger: logger.Discard})
	if err != nil {
		t.Fatal(err)
	}
	app, err := newApp(easy.DB(db))
	if err != nil {
		t.Fatal(err)
	}
	defer app.Close(context.Background())
	if err := app.DB().Create(&it).Error; err != nil {
		t.Fatal(err)
	}
	return it
}
