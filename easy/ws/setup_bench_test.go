package ws_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/fastapi-easy/easy-go/easy"
	"github.com/fastapi-easy/easy-go/easy/ws"
	"github.com/fastapi-easy/easy-go/internal/testkit"
)

// BenchmarkCreate measures a GORM Create on the App's SQLite database with
// and without ws.Setup watching the model, in one run: what realtime costs
// a write (capture, copy, encode, publish; no clients connected).
//
//	go test -run '^$' -bench BenchmarkCreate -benchmem -count 5 ./easy/ws/
func BenchmarkCreate(b *testing.B) {
	quiet := easy.Logger(slog.New(slog.NewTextHandler(io.Discard, nil)))
	plain := easy.New(easy.DB(testkit.SQLite(b, nil)), quiet)
	plain.DB().AutoMigrate(&Product{})
	watched := easy.New(easy.DB(testkit.SQLite(b, nil)), quiet)
	watched.DB().AutoMigrate(&Product{})
	m := ws.Setup(watched, Product{})
	defer m.Shutdown(context.Background())

	for _, c := range []struct {
		name string
		app  *easy.App
	}{{"plain", plain}, {"ws.Setup", watched}} {
		b.Run(c.name, func(b *testing.B) {
			db := c.app.DB()
			b.ReportAllocs()
			for b.Loop() {
				if err := db.Create(&Product{Name: "apple", Price: 1.5}).Error; err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkCreateRatio alternates the two Creates of BenchmarkCreate write
// by write, so that both see the same machine load, and reports
// watched/plain as "ratio": with nobody following the resource, and with
// one WebSocket client in the same process that reads every event (its
// fan-out, encoding, writing and reading share the machine's cores with
// the writer).
//
//	go test -run '^$' -bench BenchmarkCreateRatio -count 5 ./easy/ws/
func BenchmarkCreateRatio(b *testing.B) {
	for _, followers := range []int{0, 1} {
		b.Run(fmt.Sprintf("followers=%d", followers), func(b *testing.B) {
			quiet := easy.Logger(slog.New(slog.DiscardHandler))
			plain := easy.New(easy.DB(testkit.SQLite(b, nil)), quiet)
			plain.DB().AutoMigrate(&Product{})
			watched := easy.New(easy.DB(testkit.SQLite(b, nil)), quiet)
			watched.DB().AutoMigrate(&Product{})
			m := ws.NewManager(ws.Heartbeat(0))
			m.Watch(watched, Product{})
			srv := httptest.NewServer(watched)
			b.Cleanup(func() { watched.Close(context.Background()); srv.Close() })
			var received atomic.Int64
			for range followers {
				c := dialReady(b, wsURL(srv, "/ws/products"))
				go func() {
					for {
						if _, _, err := c.Read(context.Background()); err != nil {
							return
						}
						received.Add(1)
					}
				}()
			}

			dbs := []*gorm.DB{plain.DB(), watched.DB()}
			var spent [2]time.Duration
			for n := 0; b.Loop(); n++ {
				for k := range dbs {
					i := (k + n) % 2 // take turns at going first
					start := time.Now()
					if err := dbs[i].Create(&Product{Name: "apple", Price: 1.5}).Error; err != nil {
						b.Fatal(err)
					}
					spent[i] += time.Since(start)
				}
			}
			b.ReportMetric(float64(spent[1])/float64(spent[0]), "ratio")
			b.ReportMetric(float64(spent[0].Nanoseconds())/float64(b.N), "plain-ns/op")
			b.ReportMetric(float64(spent[1].Nanoseconds())/float64(b.N), "watched-ns/op")
			if followers > 0 {
				eventually(b, "the client got every event", func() bool {
					return received.Load() == int64(m.Stats().EventsPublished)
				})
			}
		})
	}
}

// BenchmarkPostWithStalledClient alternates POSTs to two Apps serving the
// same CRUD route with ws.Setup, each followed by a client that reads every
// event; on the second, one more client reads nothing (and is dialled again
// whenever it is closed as too slow, outside the timing). It reports
// stalled/healthy as "ratio": what a stuck client costs a write through
// the API.
//
//	go test -run '^$' -bench BenchmarkPostWithStalledClient -count 5 ./easy/ws/
func BenchmarkPostWithStalledClient(b *testing.B) {
	type target struct {
		m   *ws.Manager
		srv *httptest.Server
	}
	start := func() target {
		app := easy.New(easy.DB(testkit.SQLite(b, nil)), easy.Logger(slog.New(slog.DiscardHandler)))
		app.Include(easy.CRUDRouter[Product]())
		m := ws.NewManager(ws.Heartbeat(0), smallSocket, ws.SendQueue(256))
		m.Watch(app, Product{})
		srv := httptest.NewServer(app)
		b.Cleanup(func() { app.Close(context.Background()); srv.Close() })
		reader := dialReady(b, wsURL(srv, "/ws/products"))
		go func() {
			for {
				if _, _, err := reader.Read(context.Background()); err != nil {
					return
				}
			}
		}()
		return target{m, srv}
	}
	targets := []target{start(), start()}
	stall := func() { dialStuck(b, wsURL(targets[1].srv, "/ws/products")) }
	stall()

	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 2}}
	body := []byte(`{"name":"apple","price":1.5}`)
	var spent [2]time.Duration
	var dropped uint64
	for n := 0; b.Loop(); n++ {
		if d := targets[1].m.Stats().DroppedSlow; d > dropped {
			dropped = d
			stall() // the last one was closed as too slow
		}
		for k := range targets {
			i := (k + n) % 2
			start := time.Now()
			res, err := client.Post(targets[i].srv.URL+"/products", "application/json", bytes.NewReader(body))
			if err != nil {
				b.Fatal(err)
			}
			io.Copy(io.Discard, res.Body)
			res.Body.Close()
			if res.StatusCode != http.StatusCreated {
				b.Fatalf("POST: %d", res.StatusCode)
			}
			spent[i] += time.Since(start)
		}
	}
	b.ReportMetric(float64(spent[1])/float64(spent[0]), "ratio")
	b.ReportMetric(float64(spent[0].Nanoseconds())/float64(b.N), "healthy-ns/op")
	b.ReportMetric(float64(spent[1].Nanoseconds())/float64(b.N), "stalled-ns/op")
	b.ReportMetric(float64(targets[1].m.Stats().DroppedSlow), "dropped")
}
