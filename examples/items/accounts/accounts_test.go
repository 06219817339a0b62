package accounts_test

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/fastapi-easy/easy-go/easy"
	"github.com/fastapi-easy/easy-go/examples/items/accounts"
	"github.com/fastapi-easy/easy-go/internal/testkit"
	"github.com/fastapi-easy/easy-go/internal/thirdparty/spectest"
)

func newServer(t *testing.T) *httptest.Server {
	t.Helper()
	app := easy.New(easy.DB(testkit.SQLite(t, nil)), easy.Logger(slog.New(slog.NewTextHandler(io.Discard, nil))))
	accounts.Mount(app, []byte("accounts-test-secret-0123456789ab"))
	srv := httptest.NewServer(app)
	t.Cleanup(srv.Close)
	return srv
}

func send(t *testing.T, srv *httptest.Server, method, path, token, body string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

func signIn(t *testing.T, srv *httptest.Server, user, pass string) (int, string) {
	t.Helper()
	res, err := http.PostForm(srv.URL+"/token", url.Values{"username": {user}, "password": {pass}})
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var tok struct {
		AccessToken string `json:"access_token"`
		Detail      string `json:"detail"`
	}
	json.NewDecoder(res.Body).Decode(&tok)
	if res.StatusCode != 200 {
		return res.StatusCode, tok.Detail
	}
	return 200, tok.AccessToken
}

// Users sign up, sign in with the password flow, and each sees and
// changes only the items they added.
func TestLoginAndOwnedItems(t *testing.T) {
	srv := newServer(t)
	for _, u := range []string{"alice", "bob"} {
		if status, body := send(t, srv, "POST", "/users", "", `{"username":"`+u+`","password":"`+u+`-password"}`); status != 201 {
			t.Fatalf("sign up %s: %d %s", u, status, body)
		}
	}
	if status, body := send(t, srv, "POST", "/users", "", `{"username":"alice","password":"another-password"}`); status != 409 || body != `{"detail":"Username is taken"}` {
		t.Errorf("sign up twice: %d %s", status, body)
	}
	if status, detail := signIn(t, srv, "alice", "wrong-password"); status != 401 || detail != "Incorrect username or password" {
		t.Errorf("wrong password: %d %s", status, detail)
	}
	if status, detail := signIn(t, srv, "nobody", "whatever-password"); status != 401 || detail != "Incorrect username or password" {
		t.Errorf("unknown user: %d %s", status, detail)
	}
	_, alice := signIn(t, srv, "alice", "alice-password")
	_, bob := signIn(t, srv, "bob", "bob-password")

	if status, body := send(t, srv, "GET", "/items", "", ""); status != 401 || body != `{"detail":"Not authenticated"}` {
		t.Errorf("anonymous list: %d %s", status, body)
	}
	if status, body := send(t, srv, "POST", "/items", alice, `{"name":"apple","price":1,"owner":"bob"}`); status != 201 || body != `{"id":1,"name":"apple","price":1,"owner":"alice"}` {
		t.Errorf("alice creates: %d %s", status, body)
	}
	send(t, srv, "POST", "/items", bob, `{"name":"pear","price":2}`)
	for _, c := range []struct{ method, path, token, body, want string }{
		{"GET", "/items", alice, "", `[{"id":1,"name":"apple","price":1,"owner":"alice"}]`},
		{"GET", "/items", bob, "", `[{"id":2,"name":"pear","price":2,"owner":"bob"}]`},
		{"GET", "/items/2", alice, "", `{"detail":"Item not found"}`},
		{"PATCH", "/items/2", alice, `{"price":0}`, `{"detail":"Item not found"}`},
		{"DELETE", "/items/2", alice, "", `{"detail":"Item not found"}`},
		{"DELETE", "/items/2", bob, "", `{"id":2,"name":"pear","price":2,"owner":"bob"}`},
	} {
		if _, body := send(t, srv, c.method, c.path, c.token, c.body); body != c.want {
			t.Errorf("%s %s: %s, want %s", c.method, c.path, body, c.want)
		}
	}
}

// The app's document, with the OAuth2 password flow, passes the
// validator.
func TestAccountsSpec(t *testing.T) {
	srv := newServer(t)
	_, raw := spectest.Fetch(t, srv.URL+"/openapi.json")
	for _, want := range []string{`"type":"oauth2"`, `"tokenUrl":"/token"`, `"security":[{"OAuth2PasswordBearer":[]}]`} {
		if !strings.Contains(string(raw), want) {
			t.Errorf("the document lacks %s", want)
		}
	}
}

// A password is bounded in bytes, as bcrypt reads it, not in characters:
// 40 × "é" (80 bytes) is a 422 that does not echo it, not a 500, and a
// 72-byte password with anything after it does not sign in.
func TestPasswordsAreBoundedInBytes(t *testing.T) {
	srv := newServer(t)
	long := strings.Repeat("é", 40)
	if status, body := send(t, srv, "POST", "/users", "", `{"username":"carol","password":"`+long+`"}`); status != 422 ||
		body != `{"detail":[{"type":"string_too_long","loc":["body","password"],"msg":"String should have at most 72 bytes, not 80","input":""}]}` {
		t.Errorf("sign up with 80 bytes: %d %s", status, body)
	}
	pass := strings.Repeat("p", 72)
	if status, body := send(t, srv, "POST", "/users", "", `{"username":"dave","password":"`+pass+`"}`); status != 201 {
		t.Fatalf("sign up with 72 bytes: %d %s", status, body)
	}
	if status, _ := signIn(t, srv, "dave", pass); status != 200 {
		t.Errorf("sign in with the 72 bytes: %d", status)
	}
	if status, detail := signIn(t, srv, "dave", pass+"anything"); status != 401 || detail != "Incorrect username or password" {
		t.Errorf("sign in with 72 bytes and more: %d %s", status, detail)
	}
}
