package ratelimit_test

import (
	"fmt"
	"log/slog"
	"net/http/httptest"
	"time"

	"github.com/fastapi-easy/easy-go/easy"
	"github.com/fastapi-easy/easy-go/easy/ratelimit"
)

// A client over its rate gets a 429 that says when to try again; the
// operation documents the 429.
func ExampleByIP() {
	app := easy.New(easy.Logger(slog.New(slog.DiscardHandler)))
	twoAMinute := ratelimit.ByIP(ratelimit.Rate{Requests: 2, Per: time.Minute})
	easy.Get(app, "/search", handler, easy.Uses(twoAMinute))

	for range 3 {
		w := httptest.NewRecorder()
		app.ServeHTTP(w, httptest.NewRequest("GET", "/search", nil))
		fmt.Printf("%d %s Retry-After=%q\n", w.Code, w.Body, w.Header().Get("Retry-After"))
	}
	// Output:
	// 200 {"ok":true} Retry-After=""
	// 200 {"ok":true} Retry-After=""
	// 429 {"detail":"Too Many Requests"} Retry-After="30"
}
