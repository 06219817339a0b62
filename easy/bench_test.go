package easy_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/fastapi-easy/easy-go/easy"
)

type benchIn struct {
	ID      int  `path:"id"`
	Verbose bool `query:"verbose"`
}

type benchOut struct {
	ID      int    `json:"id"`
	Name    string `json:"name"`
	Verbose bool   `json:"verbose"`
}

// handWritten is the same operation as the typed one, written by hand as
// a chi user would: parse, check, encode.
func handWritten(w http.ResponseWriter, r *http.Request) {
	id, err := strconv.Atoi(chi.URLParam(r, "id"))
	if err != nil {
		http.Error(w, `{"detail":"bad id"}`, http.StatusUnprocessableEntity)
		return
	}
	verbose := false
	if v := r.URL.Query().Get("verbose"); v != "" {
		if verbose, err = strconv.ParseBool(v); err != nil {
			http.Error(w, `{"detail":"bad verbose"}`, http.StatusUnprocessableEntity)
			return
		}
	}
	b, err := json.Marshal(benchOut{ID: id, Name: "apple", Verbose: verbose})
	if err != nil {
		http.Error(w, `{"detail":"Internal Server Error"}`, http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	w.Write(b)
}

func quietApp() *easy.App {
	return easy.New(easy.Logger(slog.New(slog.NewTextHandler(io.Discard, &slog.HandlerOptions{Level: slog.LevelError}))))
}

// getRoutes returns the GET of the benchmarks three ways: typed on an App,
// written by hand on an App's router, and by hand on a bare chi router.
func getRoutes() (typed, onApp http.Handler, bare chi.Router) {
	app := quietApp()
	easy.Get(app, "/items/{id}", func(ctx context.Context, in *benchIn) (*benchOut, error) {
		return &benchOut{ID: in.ID, Name: "apple", Verbose: in.Verbose}, nil
	})
	hand := quietApp()
	hand.HandleFunc("GET /items/{id}", handWritten)
	bare = chi.NewRouter()
	bare.Get("/items/{id}", handWritten)
	return app, hand, bare
}

// BenchmarkGet compares a typed GET with a path and a query parameter to
// the same handler written by hand, on a bare chi router and on the App's
// router (which adds request IDs, panic recovery and the body limit).
//
//	go test -run '^$' -bench BenchmarkGet -benchmem -count 5 ./easy/
func BenchmarkGet(b *testing.B) {
	typed, onApp, bare := getRoutes()

	for _, c := range []struct {
		name string
		h    http.Handler
	}{{"chi", bare}, {"chi-on-app", onApp}, {"typed", typed}} {
		b.Run(c.name, func(b *testing.B) {
			req := httptest.NewRequest("GET", "/items/42?verbose=true", nil)
			b.ReportAllocs()
			for b.Loop() {
				w := httptest.NewRecorder()
				c.h.ServeHTTP(w, req)
				if w.Code != http.StatusOK {
					b.Fatalf("status %d: %s", w.Code, w.Body)
				}
			}
		})
	}
}

// BenchmarkGetRatio alternates, request by request, the typed GET on the
// App, the same handler written by hand on the App's router (the same
// middleware: request IDs, panic recovery, logging, the body limit), and
// on a bare chi router, so that all three see the same machine load. It
// reports typed/hand-on-app (the cost of the typed layer) and typed/chi
// (the cost of the whole framework).
//
//	go test -run '^$' -bench BenchmarkGetRatio -count 5 ./easy/
func BenchmarkGetRatio(b *testing.B) {
	typed, onApp, bare := getRoutes()
	req := httptest.NewRequest("GET", "/items/42?verbose=true", nil)
	var spent [3]time.Duration
	for b.Loop() {
		for i, h := range []http.Handler{typed, onApp, bare} {
			w := httptest.NewRecorder()
			start := time.Now()
			h.ServeHTTP(w, req)
			spent[i] += time.Since(start)
		}
	}
	b.ReportMetric(float64(spent[0])/float64(spent[1]), "typed/hand-on-app")
	b.ReportMetric(float64(spent[0])/float64(spent[2]), "typed/chi")
	b.ReportMetric(float64(spent[0].Nanoseconds())/float64(b.N), "typed-ns/op")
	b.ReportMetric(float64(spent[1].Nanoseconds())/float64(b.N), "hand-on-app-ns/op")
	b.ReportMetric(float64(spent[2].Nanoseconds())/float64(b.N), "chi-ns/op")
}
