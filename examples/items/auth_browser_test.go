package main

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/fastapi-easy/easy-go/easy"
	"github.com/fastapi-easy/easy-go/examples/items/accounts"
	"github.com/fastapi-easy/easy-go/internal/testkit"
)

// startAuthServer serves the app with logins (newAuthApp) over the SQLite
// file db, with the users alice and bob signed up.
func startAuthServer(t *testing.T, db string) *server {
	t.Helper()
	t.Setenv("DATABASE_URL", "sqlite:"+db)
	app, err := newAuthApp([]byte("browser-test-secret-0123456789ab"),
		easy.Logger(slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))))
	if err != nil {
		t.Fatal(err)
	}
	bound, stop := testkit.ServeOn(t, "127.0.0.1:0", app.Serve)
	s := &server{url: "http://" + bound, addr: bound, app: app, stop: stop}
	for _, u := range []string{"alice", "bob"} {
		if status, b := s.call(t, "POST", "/users", `{"username":"`+u+`","password":"`+u+`-password"}`); status != http.StatusCreated {
			t.Fatalf("sign up %s: %d %s", u, status, b)
		}
	}
	return s
}

// token signs user in with the password flow.
func (s *server) token(t *testing.T, user string) string {
	t.Helper()
	res, err := http.PostForm(s.url+"/token", url.Values{"username": {user}, "password": {user + "-password"}})
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.NewDecoder(res.Body).Decode(&tok); err != nil || res.StatusCode != 200 {
		t.Fatalf("sign in %s: %d %v", user, res.StatusCode, err)
	}
	return tok.AccessToken
}

// createAs adds an item through the API as the user of token.
func (s *server) createAs(t *testing.T, token, name string) accounts.Item {
	t.Helper()
	req, _ := http.NewRequest("POST", s.url+"/items", strings.NewReader(`{"name":"`+name+`","price":1}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+token)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	var it accounts.Item
	if err := json.Unmarshal(b, &it); err != nil || res.StatusCode != http.StatusCreated {
		t.Fatalf("POST /items: %d %s", res.StatusCode, b)
	}
	return it
}

// signInOnDashboard opens the dashboard, which asks for a login, and
// signs user in with its form.
func signInOnDashboard(t *testing.T, ctx context.Context, s *server, user string) {
	t.Helper()
	do(t, ctx, chromedp.Navigate(s.url+"/"))
	waitFor(t, ctx, 5*time.Second, "the dashboard asks for a login",
		`!document.getElementById("login-form").hidden && document.getElementById("dashboard").hidden`)
	do(t, ctx,
		chromedp.SendKeys(chromedp.CSS(`#login-form input[name="username"]`), user),
		chromedp.SendKeys(chromedp.CSS(`#login-form input[name="password"]`), user+"-password"),
		chromedp.Click(chromedp.CSS(`#login-form button[type="submit"]`)),
	)
	waitFor(t, ctx, 5*time.Second, user+" is signed in and connected",
		`document.getElementById("login-form").hidden && document.querySelector("#who b").textContent === "`+user+`" &&
		 document.getElementById("status").textContent === "connected" &&
		 document.getElementById("empty").textContent !== "Loading…"`)
}

// Two users signed in on two tabs each see only their own items, live,
// whether added on the page or through the API.
func TestBrowserLoginShowsOwnItemsLive(t *testing.T) {
	browser := newBrowser(t)
	s := startAuthServer(t, filepath.Join(t.TempDir(), "items.db"))
	alice, bob := browser, newTab(t, browser)
	s.createAs(t, s.token(t, "alice"), "old apple")

	signInOnDashboard(t, alice, s, "alice")
	signInOnDashboard(t, bob, s, "bob")
	if got := tableRows(t, alice); len(got) != 1 || got[0].Name != "old apple" {
		t.Errorf("alice's snapshot: %+v", got)
	}
	if got := tableRows(t, bob); len(got) != 0 {
		t.Errorf("bob's snapshot: %+v, want none", got)
	}

	do(t, bob,
		chromedp.SendKeys(chromedp.CSS(`#add-form input[name="name"]`), "pear"),
		chromedp.SendKeys(chromedp.CSS(`#add-form input[name="price"]`), "2"),
		chromedp.Click(chromedp.CSS(`#add-form button[type="submit"]`)),
	)
	waitFor(t, bob, settled, "bob's item appears on his page", `[...document.querySelectorAll("#items tbody tr")].some(r => r.cells[1].textContent === "pear")`)
	apple := s.createAs(t, s.token(t, "alice"), "apple")
	waitFor(t, alice, live, "alice's item from the API appears on her page", hasRow(row{apple.ID, "apple", "1.00"}))

	// Each event reached one page only: the other's table is unchanged.
	if got := tableRows(t, alice); len(got) != 2 {
		t.Errorf("alice sees %+v, want her two items", got)
	}
	if got := tableRows(t, bob); len(got) != 1 || got[0].Name != "pear" {
		t.Errorf("bob sees %+v, want his pear only", got)
	}
	if got := eval[string](t, bob, `document.getElementById("event-count").textContent`); got != "1" {
		t.Errorf("bob's page counted %s events, want 1", got)
	}
}

// Swagger UI's Authorize dialog signs in with the OAuth2 password flow,
// and a protected route then answers 200 from "Try it out".
func TestBrowserSwaggerUIAuthorize(t *testing.T) {
	ctx := newBrowser(t)
	s := startAuthServer(t, filepath.Join(t.TempDir(), "items.db"))
	s.createAs(t, s.token(t, "alice"), "quince")
	s.createAs(t, s.token(t, "bob"), "fig")

	do(t, ctx, chromedp.Navigate(s.url+"/docs"))
	waitFor(t, ctx, 10*time.Second, "Swagger UI shows its Authorize button", `document.querySelector("button.btn.authorize") !== null`)
	do(t, ctx,
		chromedp.Click(chromedp.CSS(`button.btn.authorize`)),
		chromedp.SendKeys(chromedp.CSS(`#oauth_username`), "alice"),
		chromedp.SendKeys(chromedp.CSS(`#oauth_password`), "alice-password"),
		chromedp.Click(chromedp.CSS(`.auth-btn-wrapper button.authorize`)),
	)
	waitFor(t, ctx, 5*time.Second, "the dialog signs in", `[...document.querySelectorAll(".auth-btn-wrapper button")].some(b => b.textContent.trim() === "Logout")`)
	do(t, ctx, chromedp.Click(chromedp.CSS(`.auth-btn-wrapper button.btn-done`)))

	list := `#operations-items-list_items `
	do(t, ctx,
		chromedp.Click(chromedp.CSS(list+`.opblock-summary-control`)),
		chromedp.Click(chromedp.CSS(list+`.try-out__btn`)),
		chromedp.Click(chromedp.CSS(list+`.execute`)),
	)
	waitFor(t, ctx, 5*time.Second, `"Execute" on GET /items answers 200`,
		`document.querySelector("`+list+`.live-responses-table tr.response .response-col_status")?.textContent.trim() === "200"`)
	body := eval[string](t, ctx, `document.querySelector("`+list+`.live-responses-table tr.response .highlight-code pre").textContent`)
	var items []accounts.Item
	if err := json.Unmarshal([]byte(body), &items); err != nil || len(items) != 1 || items[0].Name != "quince" || items[0].Owner != "alice" {
		t.Errorf("GET /items from Swagger UI as alice shows %s", body)
	}
	screenshot(t, ctx, "docs-authorized.png")
}
