package main

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/fastapi-easy/easy-go/easy"
	"github.com/fastapi-easy/easy-go/internal/thirdparty/spectest"
)

func TestItemsAppMatchesItsSpec(t *testing.T) {
	t.Setenv("DATABASE_URL", "sqlite:"+t.TempDir()+"/items.db")
	app, err := newApp(easy.Logger(slog.New(slog.NewTextHandler(io.Discard, nil))))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(app)
	defer srv.Close()
	v, _ := spectest.Fetch(t, srv.URL+"/openapi.json")

	cases := []struct {
		method, path, body string
		status             int
	}{
		{"POST", "/items", `{"name":"apple","price":10.5}`, 201},
		{"POST", "/items", `{"name":"","price":-1}`, 422},
		{"GET", "/items", "", 200},
		{"GET", "/items/1", "", 200},
		{"GET", "/items/99", "", 404},
		{"GET", "/items/abc", "", 422},
		{"PATCH", "/items/1", `{"price":12}`, 200},
		{"PUT", "/items/1", `{"name":"orange","price":3}`, 200},
		{"GET", "/items?price__gte=1&sort=-price", "", 200},
		{"GET", "/items?price__zz=1", "", 422},
		{"DELETE", "/items/1", "", 200},
		{"DELETE", "/items/1", "", 404},
	}
	for _, c := range cases {
		req, _ := http.NewRequest(c.method, srv.URL+c.path, strings.NewReader(c.body))
		if c.body != "" {
			req.Header.Set("Content-Type", "application/json")
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != c.status {
			t.Errorf("%s %s: %d %s, want %d", c.method, c.path, res.StatusCode, body, c.status)
		}
		v.Response(t, req, res, body)
	}
}
