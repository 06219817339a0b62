package route_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/fastapi-easy/easy-go/easy"
	"github.com/fastapi-easy/easy-go/easy/openapi"
	"github.com/fastapi-easy/easy-go/easy/route"
)

// health is a router of its own: one documented route with a plain
// handler.
type health struct{}

func (health) Mount(s route.Site) error {
	s.Add(openapi.Operation{Method: "GET", Path: "/healthz", ID: "health", Summary: "Liveness"},
		http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "ok") }))
	return nil
}

// A Mounter adds its routes to the App or Group that includes it, under
// the group's prefix and tags, and documents them.
func Example() {
	app := easy.New()
	app.Group("/ops", easy.Tags("ops")).Include(health{})

	rec := httptest.NewRecorder()
	app.ServeHTTP(rec, httptest.NewRequest("GET", "/ops/healthz", nil))
	fmt.Println(rec.Code, rec.Body.String())

	rec = httptest.NewRecorder()
	app.ServeHTTP(rec, httptest.NewRequest("GET", "/openapi.json", nil))
	fmt.Println(strings.Contains(rec.Body.String(), `"/ops/healthz":{"get":{"tags":["ops"],"summary":"Liveness","operationId":"health"`))
	// Output:
	// 200 ok
	// true
}
