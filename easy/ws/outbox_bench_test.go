package ws_test

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/fastapi-easy/easy-go/easy"
	"github.com/fastapi-easy/easy-go/easy/ws"
	"github.com/fastapi-easy/easy-go/internal/testkit"
)

// BenchmarkOutboxCreate alternates, write by write, a GORM Create of a
// model nobody watches, of a watched model without the outbox
// (ws.NoOutbox), and of a watched model with it, each on a database of
// its own, so that all three see the same machine load. It reports each
// watched one against the unwatched one: "outbox/plain" (target ≤ 1.3)
// and "nooutbox/plain", and "outbox/nooutbox", what the one more INSERT
// per transaction costs. On SQLite always, on PostgreSQL when
// EASY_TEST_POSTGRES_DSN is set. internal/sqlitedb's
// BenchmarkSecondTablePerCommit is the same comparison in plain SQL.
//
//	go test -run '^$' -bench BenchmarkOutboxCreate -count 5 ./easy/ws/
func BenchmarkOutboxCreate(b *testing.B) {
	create := func(app *easy.App) (time.Duration, error) {
		start := time.Now()
		err := app.DB().Create(&Product{Name: "apple", Price: 1.5}).Error
		return time.Since(start), err
	}
	outboxRatios(b, create)
}

// BenchmarkOutboxPost is BenchmarkOutboxCreate through the App: a POST of
// the CRUD router, served in process, whose handler's Create is the
// write; what the outbox costs a request.
//
//	go test -run '^$' -bench BenchmarkOutboxPost -count 5 ./easy/ws/
func BenchmarkOutboxPost(b *testing.B) {
	post := func(app *easy.App) (time.Duration, error) {
		r := httptest.NewRequest("POST", "/products", strings.NewReader(`{"name":"apple","price":1.5}`))
		r.Header.Set("Content-Type", "application/json")
		w := httptest.NewRecorder()
		start := time.Now()
		app.ServeHTTP(w, r)
		spent := time.Since(start)
		if w.Code != http.StatusCreated {
			return spent, fmt.Errorf("POST /products: %d %s", w.Code, w.Body)
		}
		return spent, nil
	}
	outboxRatios(b, post)
}

// outboxRatios runs the benchmarks above: for each database, three Apps
// serving Product on databases of their own (unwatched, watched without
// the outbox, watched with it) take turns at write, which times itself.
func outboxRatios(b *testing.B, write func(*easy.App) (time.Duration, error)) {
	dbs := []struct {
		name string
		open func(testing.TB, *gorm.Config) *gorm.DB
	}{{"sqlite", testkit.SQLite}, {"postgres", testkit.Postgres}}
	for _, d := range dbs {
		b.Run(d.name, func(b *testing.B) {
			quiet := easy.Logger(slog.New(slog.DiscardHandler))
			apps := make([]*easy.App, 3)
			for i := range apps {
				apps[i] = easy.New(easy.DB(d.open(b, nil)), quiet)
				apps[i].Include(easy.CRUDRouter[Product]())
				b.Cleanup(func() { apps[i].Close(context.Background()) })
			}
			ws.NewManager(ws.Heartbeat(0), ws.NoOutbox()).Watch(apps[1], Product{})
			ws.NewManager(ws.Heartbeat(0)).Watch(apps[2], Product{})
			var spent [3]time.Duration
			for n := 0; b.Loop(); n++ {
				for k := range apps {
					i := (k + n) % 3 // take turns at going first
					took, err := write(apps[i])
					if err != nil {
						b.Fatal(err)
					}
					spent[i] += took
				}
			}
			b.ReportMetric(float64(spent[2])/float64(spent[0]), "outbox/plain")
			b.ReportMetric(float64(spent[1])/float64(spent[0]), "nooutbox/plain")
			b.ReportMetric(float64(spent[2])/float64(spent[1]), "outbox/nooutbox")
			b.ReportMetric(float64(spent[0].Nanoseconds())/float64(b.N), "plain-ns/op")
		})
	}
}
