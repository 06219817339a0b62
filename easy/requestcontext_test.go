package easy_test

import (
	"context"
	"net/http"
	"testing"

	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"

	"github.com/fastapi-easy/easy-go/easy"
	"github.com/fastapi-easy/easy-go/internal/testkit"
)

type idIn struct {
	ID string `path:"id"`
}

type idOut struct {
	Path      string `json:"path"`
	RequestID string `json:"request_id"`
	Derived   string `json:"derived"` // the ID seen through a context derived from the request's
	Param     string `json:"param"`   // chi.URLParam through the request's context
}

// echoIDs adds GET /items/{id}, which answers with what a handler finds
// in its context: its path parameter, its request ID (chi's GetReqID),
// the same through a derived context, and chi's URL parameter.
func echoIDs(app *easy.App) {
	easy.Get(app, "/items/{id}", func(ctx context.Context, in *idIn) (*idOut, error) {
		derived, cancel := context.WithCancel(context.WithValue(ctx, struct{}{}, 1))
		defer cancel()
		return &idOut{
			Path:      in.ID,
			RequestID: middleware.GetReqID(ctx),
			Derived:   middleware.GetReqID(derived),
			Param:     chi.RouteContext(ctx).URLParam("id"),
		}, nil
	})
	app.HandleFunc("GET /raw/{id}", func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(chi.URLParam(r, "id") + " " + middleware.GetReqID(r.Context())))
	})
}

// A handler finds the request's ID and its route in its context as chi's
// middleware and router put them there, the client's ID or the App's.
func TestHandlersFindTheRequestIDAndRouteInTheirContext(t *testing.T) {
	app, _ := newApp(t)
	echoIDs(app)
	srv := testkit.Serve(t, app)

	r := testkit.Do(t, srv, "GET", "/items/a%2Fb", "", "X-Request-Id", "abc-123")
	if want := `{"path":"a/b","request_id":"abc-123","derived":"abc-123","param":"a%2Fb"}`; r.Status != 200 || r.Body != want {
		t.Fatalf("got %d %s, want 200 %s", r.Status, r.Body, want)
	}
	r = testkit.Do(t, srv, "GET", "/raw/7", "")
	if id := r.Header.Get("X-Request-Id"); id == "" || r.Body != "7 "+id {
		t.Fatalf("got %q with X-Request-Id %q, want \"7 <that ID>\"", r.Body, id)
	}
	r2 := testkit.Do(t, srv, "GET", "/raw/8", "")
	if id2 := r2.Header.Get("X-Request-Id"); id2 == r.Header.Get("X-Request-Id") || r2.Body != "8 "+id2 {
		t.Fatalf("second request: got %q with X-Request-Id %q after %q", r2.Body, id2, r.Header.Get("X-Request-Id"))
	}
}

// An App mounted in a chi router under a prefix routes what follows the
// prefix, as a chi router mounted there would, and gives its requests
// their IDs.
func TestAppMountedInAChiRouter(t *testing.T) {
	app, _ := newApp(t)
	echoIDs(app)
	outer := chi.NewRouter()
	outer.Mount("/api", app)
	srv := testkit.Serve(t, outer)

	r := testkit.Do(t, srv, "GET", "/api/items/42", "", "X-Request-Id", "xyz")
	if want := `{"path":"42","request_id":"xyz","derived":"xyz","param":"42"}`; r.Status != 200 || r.Body != want {
		t.Fatalf("got %d %s, want 200 %s", r.Status, r.Body, want)
	}
	r = testkit.Do(t, srv, "GET", "/api/nothing", "")
	if r.Status != 404 || r.Body != `{"detail":"Not Found"}` || r.Header.Get("X-Request-Id") == "" {
		t.Fatalf("got %d %s (X-Request-Id %q), want 404 {\"detail\":\"Not Found\"} with an ID", r.Status, r.Body, r.Header.Get("X-Request-Id"))
	}
}
