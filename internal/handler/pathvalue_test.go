package handler_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/go-chi/chi/v5"

	"github.com/fastapi-easy/easy-go/internal/handler"
)

// TestPathValue checks that path parameters come unescaped, whether chi
// routed on the decoded path or on the escaped one.
func TestPathValue(t *testing.T) {
	var got string
	r := chi.NewRouter()
	r.Get("/tags/{id}", func(w http.ResponseWriter, r *http.Request) { got = handler.PathValue(r, "id") })
	for path, want := range map[string]string{
		"/tags/plain":        "plain",
		"/tags/a%20b":        "a b",
		"/tags/c%25":         "c%",
		"/tags/a%2Fb%20c%25": "a/b c%",
		"/tags/%E6%97%A5%2F": "日/",
	} {
		got = ""
		r.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", path, nil))
		if got != want {
			t.Errorf("%s: %q, want %q", path, got, want)
		}
	}
}
