package easy_test

import (
	"context"
	"net/http"
	"strconv"
	"testing"
	"testing/fstest"

	"github.com/fastapi-easy/easy-go/easy"
	"github.com/fastapi-easy/easy-go/internal/testkit"
)

func TestMethodNotAllowedNamesTheAllowedMethods(t *testing.T) {
	app, _ := itemsApp(t)
	app.HandleFunc("GET /static/*", func(w http.ResponseWriter, r *http.Request) {})
	app.HandleFunc("/any", func(w http.ResponseWriter, r *http.Request) {})
	srv := testkit.Serve(t, app)
	for _, c := range []struct{ method, path, allow string }{
		{"POST", "/items/1", "GET, HEAD, PUT, PATCH, DELETE"},
		{"PUT", "/items", "GET, HEAD, POST"},
		{"DELETE", "/items", "GET, HEAD, POST"},
		{"POST", "/openapi.json", "GET, HEAD"},
		{"DELETE", "/docs", "GET, HEAD"},
		{"POST", "/static/app.js", "GET, HEAD"},
		{"FROB", "/items", "GET, HEAD, POST"}, // a method chi does not know
	} {
		r := testkit.Do(t, srv, c.method, c.path, "")
		r.Expect(t, http.StatusMethodNotAllowed, `{"detail":"Method Not Allowed"}`)
		if got := r.Header.Get("Allow"); got != c.allow {
			t.Errorf("%s %s: Allow %q, want %q", c.method, c.path, got, c.allow)
		}
		if got := r.Header.Get("Content-Type"); got != "application/json" {
			t.Errorf("%s %s: Content-Type %q", c.method, c.path, got)
		}
	}
	testkit.Do(t, srv, "FROB", "/nowhere", "").Expect(t, http.StatusNotFound, `{"detail":"Not Found"}`)
	// chi routes no method it does not know, even to a route for every method.
	r := testkit.Do(t, srv, "FROB", "/any", "").Expect(t, http.StatusMethodNotAllowed, `{"detail":"Method Not Allowed"}`)
	if got := r.Header.Get("Allow"); got != "GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS, CONNECT, TRACE" {
		t.Errorf("FROB /any: Allow %q", got)
	}
}

func TestHeadIsAnsweredAsGet(t *testing.T) {
	app, db := itemsApp(t)
	db.Create(&crudItem{Name: "apple", Price: 1})
	srv := testkit.Serve(t, app)
	for _, path := range []string{"/items", "/items/1", "/openapi.json", "/docs"} {
		get := testkit.Do(t, srv, "GET", path, "")
		head := testkit.Do(t, srv, "HEAD", path, "")
		head.Expect(t, http.StatusOK, "")
		// Content-Length as net/http gives it: when the handler's body fit
		// its buffer (the first two), not for longer ones.
		for _, h := range []string{"Content-Type", "X-Total-Count", "Content-Length"} {
			if head.Header.Get(h) != get.Header.Get(h) {
				t.Errorf("HEAD %s: %s %q, GET's %q", path, h, head.Header.Get(h), get.Header.Get(h))
			}
		}
	}
	want := strconv.Itoa(len(`[{"id":1,"name":"apple","price":1}]`))
	if r := testkit.Do(t, srv, "HEAD", "/items", ""); r.Header.Get("Content-Length") != want {
		t.Errorf("HEAD /items: Content-Length %q, want %s", r.Header.Get("Content-Length"), want)
	}
	// Errors keep their status and headers, without a body.
	r := testkit.Do(t, srv, "HEAD", "/items/2", "")
	r.Expect(t, http.StatusNotFound, "")
	if r.Header.Get("Content-Type") != "application/json" {
		t.Errorf("HEAD of a missing item: Content-Type %q", r.Header.Get("Content-Type"))
	}
	testkit.Do(t, srv, "HEAD", "/nowhere", "").Expect(t, http.StatusNotFound, "")
	// A route of its own for HEAD wins.
	app2, _ := newApp(t)
	easy.Get(app2, "/x", func(ctx context.Context, _ *easy.NoInput) (*string, error) { return &ctxID, nil })
	app2.HandleFunc("HEAD /x", func(w http.ResponseWriter, r *http.Request) { w.Header().Set("X-Own", "1") })
	if r := testkit.Do(t, testkit.Serve(t, app2), "HEAD", "/x", ""); r.Header.Get("X-Own") != "1" {
		t.Error("the App's own HEAD route did not answer")
	}
}

func TestFileServerAnswersJSONErrors(t *testing.T) {
	files := fstest.MapFS{
		"index.html":    {Data: []byte("<h1>items</h1>")},
		"app.js":        {Data: []byte("console.log(1)")},
		"lib/util.js":   {Data: []byte("export {}")},
		"docs/index.md": {Data: []byte("# no index.html here")},
	}
	app, _ := newApp(t)
	app.Handle("GET /", easy.FileServer(files))
	app.Handle("GET /static/*", http.StripPrefix("/static", easy.FileServer(files)))
	srv := testkit.Serve(t, app)

	testkit.Do(t, srv, "GET", "/", "").Expect(t, http.StatusOK, "<h1>items</h1>")
	testkit.Do(t, srv, "GET", "/static/app.js", "").Expect(t, http.StatusOK, "console.log(1)")
	testkit.Do(t, srv, "GET", "/static/lib/util.js", "").Expect(t, http.StatusOK, "export {}")
	testkit.Do(t, srv, "HEAD", "/static/app.js", "").Expect(t, http.StatusOK, "")
	for _, path := range []string{"/static/missing.js", "/static/lib/", "/static/lib", "/static/docs/", "/static/../main.go", "/static/app.js/x"} {
		r := testkit.Do(t, srv, "GET", path, "").Expect(t, http.StatusNotFound, `{"detail":"Not Found"}`)
		if r.Header.Get("Content-Type") != "application/json" {
			t.Errorf("GET %s: Content-Type %q", path, r.Header.Get("Content-Type"))
		}
	}
	testkit.Do(t, srv, "GET", "/static/app.js", "", "Range", "bytes=100-200").
		Expect(t, http.StatusRequestedRangeNotSatisfiable, `{"detail":"Requested Range Not Satisfiable"}`)
	r := testkit.Do(t, srv, "GET", "/static/app.js", "", "Range", "bytes=0-6")
	r.Expect(t, http.StatusPartialContent, "console")
	if r.Header.Get("Content-Length") != strconv.Itoa(len("console")) {
		t.Errorf("a range: Content-Length %q", r.Header.Get("Content-Length"))
	}
}

func TestBuiltinRoutesAnswerJSONErrors(t *testing.T) {
	app, _ := newApp(t)
	srv := testkit.Serve(t, app)
	for _, path := range []string{"/docs/nothing.js", "/docs/swagger-ui-bundle.js.gz/x"} {
		r := testkit.Do(t, srv, "GET", path, "").Expect(t, http.StatusNotFound, `{"detail":"Not Found"}`)
		if r.Header.Get("Content-Type") != "application/json" {
			t.Errorf("GET %s: Content-Type %q", path, r.Header.Get("Content-Type"))
		}
	}
	testkit.Do(t, srv, "GET", "/openapi.yaml/x", "").Expect(t, http.StatusNotFound, `{"detail":"Not Found"}`)
}
