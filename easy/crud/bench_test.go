package crud_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/go-chi/chi/v5"
	"gorm.io/gorm"

	"github.com/fastapi-easy/easy-go/easy"
	"github.com/fastapi-easy/easy-go/easy/crud"
	"github.com/fastapi-easy/easy-go/internal/testkit"
)

// The benchmarks compare the CRUD routes with the same routes written by
// hand on chi and GORM, in one App (so both have the same middleware), on
// one SQLite file, answering the same JSON:
//
//	go test ./easy/crud -run '^$' -bench . -benchmem
//
// BenchmarkRoutes gives ns/op and allocs/op of each; BenchmarkRatio runs
// the two alternately and reports easy's time over chi's, which is what
// the noise of a shared machine disturbs least.

// handwritten serves GET /hand/items/{id}, GET /hand/items (price__gt,
// sort=-price, limit) and POST /hand/items as one would with chi and GORM.
func handwritten(r *easy.App, db *gorm.DB) {
	writeJSON := func(w http.ResponseWriter, status int, v any) {
		b, err := json.Marshal(v)
		if err != nil {
			http.Error(w, `{"detail":"Internal Server Error"}`, 500)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		w.Write(b)
	}
	fail := func(w http.ResponseWriter, status int, detail string) {
		writeJSON(w, status, map[string]string{"detail": detail})
	}
	r.HandleFunc("GET /hand/items/{id}", func(w http.ResponseWriter, r *http.Request) {
		id, err := strconv.ParseUint(chi.URLParam(r, "id"), 10, 64)
		if err != nil {
			fail(w, 422, "bad id")
			return
		}
		var item Item
		if err := db.WithContext(r.Context()).First(&item, id).Error; err != nil {
			if errors.Is(err, gorm.ErrRecordNotFound) {
				fail(w, 404, "Item not found")
				return
			}
			fail(w, 500, "Internal Server Error")
			return
		}
		writeJSON(w, 200, &item)
	})
	r.HandleFunc("GET /hand/items", func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		limit := 100
		if s := q.Get("limit"); s != "" {
			n, err := strconv.Atoi(s)
			if err != nil || n < 0 || n > 1000 {
				fail(w, 422, "bad limit")
				return
			}
			limit = n
		}
		tx := db.WithContext(r.Context()).Model(&Item{})
		if s := q.Get("price__gt"); s != "" {
			p, err := strconv.ParseFloat(s, 64)
			if err != nil {
				fail(w, 422, "bad price__gt")
				return
			}
			tx = tx.Where("price > ?", p)
		}
		var total int64
		if err := tx.Count(&total).Error; err != nil {
			fail(w, 500, "Internal Server Error")
			return
		}
		order := "id"
		if q.Get("sort") == "-price" {
			order = "price DESC, id"
		}
		items := []Item{}
		if err := tx.Order(order).Limit(limit).Find(&items).Error; err != nil {
			fail(w, 500, "Internal Server Error")
			return
		}
		w.Header().Set("X-Total-Count", strconv.FormatInt(total, 10))
		writeJSON(w, 200, items)
	})
	r.HandleFunc("POST /hand/items", func(w http.ResponseWriter, r *http.Request) {
		var in struct {
			Name   string  `json:"name"`
			Price  float64 `json:"price"`
			Stock  int     `json:"stock"`
			Active bool    `json:"active"`
			Note   *string `json:"note"`
		}
		if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
			fail(w, 422, "bad body")
			return
		}
		if in.Name == "" || len(in.Name) > 50 || in.Price < 0 {
			fail(w, 422, "invalid item")
			return
		}
		item := Item{Name: in.Name, Price: in.Price, Stock: in.Stock, Active: in.Active, Note: in.Note}
		if err := db.WithContext(r.Context()).Create(&item).Error; err != nil {
			if errors.Is(err, gorm.ErrDuplicatedKey) {
				fail(w, 409, "Item with this name already exists")
				return
			}
			fail(w, 500, "Internal Server Error")
			return
		}
		writeJSON(w, 201, &item)
	})
}

// benchApp is an App with the CRUD routes of Item at /items and the
// hand-written ones at /hand/items, over 1000 rows.
func benchApp(b *testing.B) *easy.App {
	db := testkit.SQLiteFile(b, filepath.Join(b.TempDir(), "bench.db"), nil)
	app := easy.New(easy.DB(db), easy.Logger(quietLogger()))
	app.Include(easy.CRUDRouter[Item]())
	handwritten(app, db)
	items := make([]Item, 1000)
	for i := range items {
		items[i] = Item{Name: fmt.Sprintf("item %d", i), Price: float64(i % 100), Stock: i, Active: i%2 == 0}
	}
	if err := db.CreateInBatches(items, 200).Error; err != nil {
		b.Fatal(err)
	}
	return app
}

type benchRoute struct {
	name, method, path string
	body               func(i int) string // nil for none
	status             int
}

var benchRoutes = []benchRoute{
	{"get", "GET", "/items/500", nil, 200},
	{"list", "GET", "/items?price__gt=40&sort=-price&limit=50", nil, 200},
	{"create", "POST", "/items", func(i int) string {
		return `{"name":"new ` + strconv.Itoa(i) + `","price":12.5,"stock":3,"active":true,"note":"fresh"}`
	}, 201},
}

// serveOnce sends one request to app.
func serveOnce(b *testing.B, app http.Handler, method, path, body string, status int) {
	var req *http.Request
	if body != "" {
		req = httptest.NewRequest(method, path, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
	} else {
		req = httptest.NewRequest(method, path, nil)
	}
	w := httptest.NewRecorder()
	app.ServeHTTP(w, req)
	if w.Code != status {
		b.Fatalf("%s %s: %d %s", method, path, w.Code, w.Body)
	}
}

// BenchmarkRoutes measures each route, CRUD router and hand-written.
func BenchmarkRoutes(b *testing.B) {
	app := benchApp(b)
	n := 0
	for _, r := range benchRoutes {
		for _, side := range []struct{ name, prefix string }{{"easy", ""}, {"chi", "/hand"}} {
			b.Run(r.name+"/"+side.name, func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					body := ""
					if r.body != nil {
						n++
						body = r.body(n)
					}
					serveOnce(b, app, r.method, side.prefix+r.path, body, r.status)
				}
			})
		}
	}
}

// BenchmarkRatio runs each route through the CRUD router and by hand in
// turn, and reports the time of each and their ratio (easy/chi).
func BenchmarkRatio(b *testing.B) {
	app := benchApp(b)
	n := 0
	for _, r := range benchRoutes {
		b.Run(r.name, func(b *testing.B) {
			var easyTime, chiTime time.Duration
			for b.Loop() {
				for _, prefix := range []string{"", "/hand"} {
					body := ""
					if r.body != nil {
						n++
						body = r.body(n)
					}
					start := time.Now()
					serveOnce(b, app, r.method, prefix+r.path, body, r.status)
					if prefix == "" {
						easyTime += time.Since(start)
					} else {
						chiTime += time.Since(start)
					}
				}
			}
			b.ReportMetric(float64(easyTime.Nanoseconds())/float64(b.N), "easy-ns/op")
			b.ReportMetric(float64(chiTime.Nanoseconds())/float64(b.N), "chi-ns/op")
			b.ReportMetric(float64(easyTime)/float64(chiTime), "ratio")
		})
	}
}

// TestBenchmarkRoutesAgree checks that the two sides of the benchmarks
// answer the same JSON.
func TestBenchmarkRoutesAgree(t *testing.T) {
	db := testkit.SQLite(t, nil)
	app := easy.New(easy.DB(db), easy.Logger(quietLogger()))
	app.Include(easy.CRUDRouter[Item]())
	handwritten(app, db)
	seedItems(t, db)
	get := func(path string) (string, string) {
		w := httptest.NewRecorder()
		app.ServeHTTP(w, httptest.NewRequest("GET", path, nil))
		return w.Body.String(), w.Header().Get("X-Total-Count")
	}
	for _, path := range []string{"/items/3", "/items?price__gt=1&sort=-price&limit=50"} {
		e, et := get(path)
		h, ht := get("/hand" + path)
		if e != h || et != ht {
			t.Errorf("%s: easy %s (%s), hand %s (%s)", path, e, et, h, ht)
		}
	}
}

// BenchmarkBatch creates 100 rows in one batch and 100 rows with 100
// POSTs in turn, over a real socket, and reports the time of each and
// their ratio (posts/batch: how many times the batch's throughput is).
func BenchmarkBatch(b *testing.B) {
	db := testkit.SQLiteFile(b, filepath.Join(b.TempDir(), "bench.db"), nil)
	app := easy.New(easy.DB(db), easy.Logger(quietLogger()))
	app.Include(easy.CRUDRouter[Item](crud.Batch()))
	srv := testkit.Serve(b, app)
	client := srv.Client()
	send := func(method, path, body string, status int) {
		req, _ := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		res, err := client.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		defer res.Body.Close()
		if _, err := io.Copy(io.Discard, res.Body); err != nil || res.StatusCode != status {
			b.Fatalf("%s %s: %d %v", method, path, res.StatusCode, err)
		}
	}
	const rows = 100
	item := func(n int) string {
		return `{"name":"row ` + strconv.Itoa(n) + `","price":12.5,"stock":3,"active":true,"note":"fresh"}`
	}
	n := 0
	var batchTime, postTime time.Duration
	for b.Loop() {
		var ops strings.Builder
		ops.WriteByte('[')
		for i := range rows {
			if i > 0 {
				ops.WriteByte(',')
			}
			n++
			ops.WriteString(`{"op":"create","body":` + item(n) + `}`)
		}
		ops.WriteByte(']')
		start := time.Now()
		send("POST", "/items/batch", ops.String(), 200)
		batchTime += time.Since(start)
		start = time.Now()
		for range rows {
			n++
			send("POST", "/items", item(n), 201)
		}
		postTime += time.Since(start)
	}
	b.ReportMetric(float64(batchTime.Nanoseconds())/float64(b.N), "batch-ns/100")
	b.ReportMetric(float64(postTime.Nanoseconds())/float64(b.N), "posts-ns/100")
	b.ReportMetric(float64(postTime)/float64(batchTime), "ratio")
}

// BenchmarkDeepPage reads a page of 100 rows 90,000 rows deep into a
// table of 100,000, by offset (skip=90000) and by cursor (the cursor of
// the row before), in turn, and reports the time of each and their ratio
// (offset/cursor).
func BenchmarkDeepPage(b *testing.B) {
	db := testkit.SQLiteFile(b, filepath.Join(b.TempDir(), "bench.db"), nil)
	app := easy.New(easy.DB(db), easy.Logger(quietLogger()))
	app.Include(easy.CRUDRouter[Item]())
	rows := make([]Item, 100_000)
	for i := range rows {
		rows[i] = Item{Name: fmt.Sprintf("row %06d", i), Price: float64(i % 1000), Stock: i}
	}
	if err := db.CreateInBatches(rows, 1000).Error; err != nil {
		b.Fatal(err)
	}
	srv := testkit.Serve(b, app)
	get := func(path string) http.Header {
		res, err := srv.Client().Get(srv.URL + path)
		if err != nil {
			b.Fatal(err)
		}
		defer res.Body.Close()
		if _, err := io.Copy(io.Discard, res.Body); err != nil || res.StatusCode != 200 {
			b.Fatalf("GET %s: %d %v", path, res.StatusCode, err)
		}
		return res.Header
	}
	for _, sort := range []string{"", "-price"} {
		b.Run("sort="+sort, func(b *testing.B) {
			// The cursor of row 90,000 in this order starts the same page
			// as skip=90000.
			cursor := get("/items?limit=1&skip=89999&sort=" + sort).Get("X-Next-Cursor")
			if cursor == "" {
				b.Fatal("no cursor")
			}
			var offsetTime, cursorTime time.Duration
			for b.Loop() {
				start := time.Now()
				get("/items?limit=100&skip=90000&sort=" + sort)
				offsetTime += time.Since(start)
				start = time.Now()
				get("/items?limit=100&sort=" + sort + "&cursor=" + cursor)
				cursorTime += time.Since(start)
			}
			b.ReportMetric(float64(offsetTime.Nanoseconds())/float64(b.N), "offset-ns/op")
			b.ReportMetric(float64(cursorTime.Nanoseconds())/float64(b.N), "cursor-ns/op")
			b.ReportMetric(float64(offsetTime)/float64(cursorTime), "ratio")
		})
	}
}
