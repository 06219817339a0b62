package ws_test

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/fastapi-easy/easy-go/easy"
	"github.com/fastapi-easy/easy-go/easy/ws"
	"github.com/fastapi-easy/easy-go/internal/testdb"
)

// BenchmarkCreate measures a GORM Create on the App's SQLite database with
// and without ws.Setup watching the model, in one run: what realtime costs
// a write (capture, copy, encode, publish; no clients connected).
//
//	go test -run '^$' -bench BenchmarkCreate -benchmem -count 5 ./easy/ws/
func BenchmarkCreate(b *testing.B) {
	quiet := easy.WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil)))
	plain := easy.New(easy.WithDB(testdb.SQLite(b, nil)), quiet)
	plain.DB().AutoMigrate(&Product{})
	watched := easy.New(easy.WithDB(testdb.SQLite(b, nil)), quiet)
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
// watched/plain as "ratio".
//
//	go test -run '^$' -bench BenchmarkCreateRatio -count 5 ./easy/ws/
func BenchmarkCreateRatio(b *testing.B) {
	quiet := easy.WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil)))
	plain := easy.New(easy.WithDB(testdb.SQLite(b, nil)), quiet)
	plain.DB().AutoMigrate(&Product{})
	watched := easy.New(easy.WithDB(testdb.SQLite(b, nil)), quiet)
	watched.DB().AutoMigrate(&Product{})
	m := ws.Setup(watched, Product{})
	defer m.Shutdown(context.Background())

	dbs := []*gorm.DB{plain.DB(), watched.DB()}
	var spent [2]time.Duration
	for b.Loop() {
		for i, db := range dbs {
			start := time.Now()
			if err := db.Create(&Product{Name: "apple", Price: 1.5}).Error; err != nil {
				b.Fatal(err)
			}
			spent[i] += time.Since(start)
		}
	}
	b.ReportMetric(float64(spent[1])/float64(spent[0]), "ratio")
	b.ReportMetric(float64(spent[0].Nanoseconds())/float64(b.N), "plain-ns/op")
	b.ReportMetric(float64(spent[1].Nanoseconds())/float64(b.N), "watched-ns/op")
}
