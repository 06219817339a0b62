package easy_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
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

// BenchmarkServeRatio alternates, request by request, a GET on an App
// served by Serve (whose connections are framed, see framing.go) and on
// the same App served by a plain http.Server, both over loopback TCP with
// keep-alive, and reports serve/plain: the cost of Serve's connection
// checks.
//
//	go test -run '^$' -bench BenchmarkServeRatio -count 5 ./easy/
func BenchmarkServeRatio(b *testing.B) {
	served, _, _ := getRoutes()
	plain, _, _ := getRoutes()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- served.(*easy.App).Serve(ctx, ln) }()
	defer func() { cancel(); <-done }()
	srv := httptest.NewServer(plain)
	defer srv.Close()
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 1}}
	urls := []string{"http://" + ln.Addr().String() + "/items/42?verbose=true", srv.URL + "/items/42?verbose=true"}
	var spent [2]time.Duration
	for b.Loop() {
		for i, url := range urls {
			start := time.Now()
			res, err := client.Get(url)
			if err != nil {
				b.Fatal(err)
			}
			io.Copy(io.Discard, res.Body)
			res.Body.Close()
			spent[i] += time.Since(start)
			if res.StatusCode != http.StatusOK {
				b.Fatalf("%s: %d", url, res.StatusCode)
			}
		}
	}
	b.ReportMetric(float64(spent[0])/float64(spent[1]), "serve/plain")
	b.ReportMetric(float64(spent[0].Nanoseconds())/float64(b.N), "serve-ns/op")
	b.ReportMetric(float64(spent[1].Nanoseconds())/float64(b.N), "plain-ns/op")
}

// BenchmarkFramer is what following one request costs a connection: a
// browser's GET and a JSON POST, pipelined.
//
//	go test -run '^$' -bench BenchmarkFramer -benchmem ./easy/
func BenchmarkFramer(b *testing.B) {
	get := "GET /items?sort=-price&limit=20 HTTP/1.1\r\nHost: localhost:8000\r\nUser-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0 Safari/537.36\r\n" +
		"Accept: application/json\r\nAccept-Encoding: gzip, deflate, br\r\nAccept-Language: en-US,en;q=0.9\r\nCookie: session=" + strings.Repeat("x", 120) + "\r\n\r\n"
	body := `{"name":"apple","price":10.5}`
	post := "POST /items HTTP/1.1\r\nHost: localhost:8000\r\nContent-Type: application/json\r\nContent-Length: " + strconv.Itoa(len(body)) + "\r\n\r\n" + body
	stream := []byte(strings.Repeat(get+post, 50))
	b.SetBytes(int64(len(stream)))
	for b.Loop() {
		if sound, _ := easy.Frame(stream, 4096); sound != 100 {
			b.Fatalf("%d sound requests, want 100", sound)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*100), "ns/request")
}
