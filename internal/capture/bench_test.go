package capture_test

import (
	"fmt"
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/fastapi-easy/easy-go/internal/capture"
)

// Run with
//
//	EASY_TEST_POSTGRES_DSN=... go test -run '^$' -bench . -benchtime 2000x ./internal/capture/
//
// Each benchmark runs its variants interleaved in one loop, so that they
// share the machine's state, and reports each one's ns/op and its ratio to
// the first variant.

// benchDBs are the databases the benchmarks run on: SQLite as the tests open
// it (WAL, full sync, so every commit waits for the disk), SQLite without
// sync (so the capture's own CPU cost shows), and PostgreSQL when
// EASY_TEST_POSTGRES_DSN is set.
func benchDBs() []mode {
	return []mode{
		{name: "sqlite"},
		{name: "sqlite-nosync", sqlite: "&_synchronous=OFF"},
		{name: "postgres", postgres: true},
	}
}

type variant struct {
	name string
	run  func(i int) error
}

// interleave runs every variant once per iteration, in turns, and reports
// each one's time per op and its ratio to the first.
func interleave(b *testing.B, vs ...variant) {
	b.Helper()
	spent := make([]time.Duration, len(vs))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for k := range vs {
			j := (k + i) % len(vs) // take turns at going first
			start := time.Now()
			if err := vs[j].run(i); err != nil {
				b.Fatal(err)
			}
			spent[j] += time.Since(start)
		}
	}
	b.StopTimer()
	for j, v := range vs {
		b.ReportMetric(float64(spent[j].Nanoseconds())/float64(b.N), v.name+"-ns/op")
		if j > 0 {
			b.ReportMetric(float64(spent[j])/float64(spent[0]), v.name+"/"+vs[0].name)
		}
	}
	b.ReportMetric(0, "ns/op") // the sum of all variants says nothing
}

func watch(b *testing.B, db *gorm.DB) *capture.Capture {
	c, err := capture.Watch(db, func([]capture.Change) {}, watchedModels()...)
	if err != nil {
		b.Fatal(err)
	}
	return c
}

// BenchmarkCreate compares a plain GORM Create of one row with the same
// Create on a watched db, which also copies and encodes the row.
func BenchmarkCreate(b *testing.B) {
	for _, m := range benchDBs() {
		b.Run(m.name, func(b *testing.B) {
			plain, watched := openDB(b, m), openDB(b, m)
			watch(b, watched)
			create := func(db *gorm.DB) func(int) error {
				return func(i int) error {
					return db.Create(&Item{Name: fmt.Sprint(i), Price: 1.5, Tags: []string{"a", "b"}}).Error
				}
			}
			interleave(b, variant{"plain", create(plain)}, variant{"watched", create(watched)})
		})
	}
}

// BenchmarkUnwatched measures what Watch costs a write to a model it does not
// watch.
func BenchmarkUnwatched(b *testing.B) {
	for _, m := range benchDBs() {
		b.Run(m.name, func(b *testing.B) {
			plain, watched := openDB(b, m), openDB(b, m)
			watch(b, watched)
			create := func(db *gorm.DB) func(int) error {
				return func(i int) error { return db.Create(&Note{Text: fmt.Sprint(i)}).Error }
			}
			interleave(b, variant{"plain", create(plain)}, variant{"watched", create(watched)})
		})
	}
}

// BenchmarkBulkUpdate compares the two ways a bulk update finds its rows, on
// an update of 100 rows: RETURNING on the UPDATE itself, and a key query
// before it with the rows read back after it, against a plain GORM update.
func BenchmarkBulkUpdate(b *testing.B) {
	for _, m := range benchDBs() {
		b.Run(m.name, func(b *testing.B) {
			plain, returning, keyQuery := openDB(b, m), openDB(b, m), openDB(b, m)
			watch(b, returning)
			capture.SetKeyQuery(watch(b, keyQuery), true)
			update := func(db *gorm.DB) func(int) error {
				seed := make([]*Item, 100)
				for i := range seed {
					seed[i] = &Item{Name: fmt.Sprint(i), Price: float64(i)}
				}
				if err := db.Create(seed).Error; err != nil {
					b.Fatal(err)
				}
				return func(int) error {
					return db.Model(&Item{}).Where("price >= ?", 0).Update("price", gorm.Expr("price + 1")).Error
				}
			}
			interleave(b,
				variant{"plain", update(plain)},
				variant{"returning", update(returning)},
				variant{"keyquery", update(keyQuery)},
			)
		})
	}
}
