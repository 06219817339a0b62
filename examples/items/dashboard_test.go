package main

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/fastapi-easy/easy-go/easy"
)

func TestDashboardFiles(t *testing.T) {
	t.Setenv("DATABASE_URL", "sqlite:"+t.TempDir()+"/items.db")
	app, err := newApp(easy.Logger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(app)
	defer srv.Close()
	for _, c := range []struct {
		method, path string
		status       int
		contentType  string
		body         string // a prefix
	}{
		{"GET", "/", 200, "text/html; charset=utf-8", "<!doctype html>"},
		{"GET", "/static/app.js", 200, "text/javascript; charset=utf-8", ""},
		{"HEAD", "/static/app.css", 200, "text/css; charset=utf-8", ""},
		{"GET", "/static/missing.js", 404, "application/json", `{"detail":"Not Found"}`},
		{"GET", "/static/nope/", 404, "application/json", `{"detail":"Not Found"}`},
		{"POST", "/static/app.js", 405, "application/json", `{"detail":"Method Not Allowed"}`},
	} {
		req, _ := http.NewRequest(c.method, srv.URL+c.path, nil)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != c.status || res.Header.Get("Content-Type") != c.contentType || !strings.HasPrefix(strings.ToLower(string(b)), strings.ToLower(c.body)) {
			t.Errorf("%s %s: %d %s %.40q, want %d %s %q", c.method, c.path, res.StatusCode, res.Header.Get("Content-Type"), b, c.status, c.contentType, c.body)
		}
	}
}
