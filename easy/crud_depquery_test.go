package easy_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"

	"github.com/fastapi-easy/easy-go/easy"
	"github.com/fastapi-easy/easy-go/easy/crud"
	"github.com/fastapi-easy/easy-go/easy/security"
	"github.com/fastapi-easy/easy-go/internal/testkit"
)

type tenantParam struct {
	Tenant string `query:"tenant" required:"true"`
}

// TestCRUDRoutesTakeTheirDependenciesQuery: the query parameters a
// route's dependencies read are the route's, on every CRUD route: a
// Group's dependencies (which the Group adds as the route is added) and an
// API key in the query (a security scheme). The writes and GET by id,
// which refuse a parameter they do not take, refused a Group's after the
// dependency had taken it; so did the list.
func TestCRUDRoutesTakeTheirDependenciesQuery(t *testing.T) {
	tenant := easy.Depends(func(ctx context.Context, in *tenantParam) (string, error) { return in.Tenant, nil })
	key := security.APIKeyQuery("api_key", func(ctx context.Context, k string) (string, error) {
		if k != "k" {
			return "", security.ErrInvalidCredentials
		}
		return k, nil
	})
	app := easy.New(easy.DB(testkit.SQLite(t, nil)), easy.Logger(slog.New(slog.NewTextHandler(io.Discard, nil))))
	app.Group("/g", easy.Uses(tenant)).Include(easy.CRUDRouter[Post](crud.DeleteAll()))
	app2 := easy.New(easy.DB(testkit.SQLite(t, nil)), easy.Logger(slog.New(slog.NewTextHandler(io.Discard, nil))))
	app2.Group("/k").Include(easy.CRUDRouter[Post](crud.DeleteAll(), crud.Uses(key)))
	mux := http.NewServeMux()
	mux.Handle("/g/", app)
	mux.Handle("/k/", app2)
	srv := testkit.Serve(t, mux)
	for _, c := range []struct{ method, path, body string }{
		{"POST", "/g/posts?tenant=a", `{"title":"x"}`},
		{"GET", "/g/posts?tenant=a", ""},
		{"GET", "/g/posts/1?tenant=a", ""},
		{"PATCH", "/g/posts/1?tenant=a", `{"title":"y"}`},
		{"DELETE", "/g/posts/1?tenant=a", ""},
		{"POST", "/k/posts?api_key=k", `{"title":"x"}`},
		{"GET", "/k/posts?api_key=k", ""},
		{"GET", "/k/posts/1?api_key=k", ""},
		{"DELETE", "/k/posts/1?api_key=k", ""},
	} {
		req, _ := http.NewRequest(c.method, srv.URL+c.path, strings.NewReader(c.body))
		if c.body != "" {
			req.Header.Set("Content-Type", "application/json")
		}
		res, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode >= 400 {
			t.Errorf("%s %s: %d %s", c.method, c.path, res.StatusCode, b)
		}
	}
}
