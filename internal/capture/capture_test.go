package capture_test

import (
	"context"
	"errors"
	"slices"
	"testing"

	"gorm.io/gorm"

	"github.com/fastapi-easy/easy-go/internal/capture"
)

// TestNothingPublished proves that raw SQL, unwatched models, failed
// statements and statements that never run publish nothing.
func TestNothingPublished(t *testing.T) {
	tests := []struct {
		name  string
		write func(db *gorm.DB) error
		fails bool
	}{
		{"raw Exec", func(db *gorm.DB) error {
			return db.Exec("INSERT INTO items (name, price) VALUES (?, ?)", "raw", 1).Error
		}, false},
		{"raw Exec update", func(db *gorm.DB) error { return db.Exec("UPDATE items SET price = 2").Error }, false},
		{"unwatched model", func(db *gorm.DB) error { return db.Create(&Note{Text: "n"}).Error }, false},
		{"unwatched model in a transaction", func(db *gorm.DB) error {
			return db.Transaction(func(tx *gorm.DB) error {
				must(t, tx.Create(&Note{Text: "n"}).Error)
				return tx.Model(&Note{}).Where("1 = 1").Update("text", "m").Error
			})
		}, false},
		{"unique violation", func(db *gorm.DB) error { return db.Create(&Item{Name: "a"}).Error }, true},
		{"unique violation by update", func(db *gorm.DB) error {
			return db.Model(&Item{ID: 2}).Update("name", "a").Error
		}, true},
		{"update without WHERE", func(db *gorm.DB) error { return db.Model(&Item{}).Update("price", 1).Error }, true},
		{"DryRun", func(db *gorm.DB) error {
			return db.Session(&gorm.Session{DryRun: true}).Create(&Item{Name: "dry"}).Error
		}, false},
		{"failed write in a transaction that rolls back", func(db *gorm.DB) error {
			return db.Transaction(func(tx *gorm.DB) error {
				must(t, tx.Create(&Item{Name: "ok"}).Error)
				return tx.Create(&Item{Name: "a"}).Error
			})
		}, true},
	}
	forEachDB(t, func(t *testing.T, e *env) {
		e.seed(t, &Item{Name: "a"}, &Item{Name: "b"})
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				if err := tt.write(e.db); (err != nil) != tt.fails {
					t.Fatalf("write: %v, want failure %v", err, tt.fails)
				}
				if got := e.rec.take(); len(got) != 0 {
					t.Fatalf("published %q", summary(got))
				}
			})
		}
	})
}

// TestWatchErrors proves that Watch refuses what it cannot capture.
func TestWatchErrors(t *testing.T) {
	sink := func([]capture.Change) {}
	type noKey struct{ Name string }
	tests := []struct {
		name   string
		watch  func(db *gorm.DB) error
		errStr string
	}{
		{"nil sink", func(db *gorm.DB) error { _, err := capture.Watch(db, nil, &Item{}); return err }, "capture: watch: nil db or sink"},
		{"nil db", func(*gorm.DB) error { _, err := capture.Watch(nil, sink, &Item{}); return err }, "capture: watch: nil db or sink"},
		{"no models", func(db *gorm.DB) error { _, err := capture.Watch(db, sink); return err }, "capture: watch: no models"},
		{"not a model", func(db *gorm.DB) error { _, err := capture.Watch(db, sink, 5); return err }, "capture: watch: int is not a model: unsupported data type: 5"},
		{"no primary key", func(db *gorm.DB) error { _, err := capture.Watch(db, sink, &noKey{}); return err }, "capture: watch: model noKey has no primary key"},
		{"table twice", func(db *gorm.DB) error { _, err := capture.Watch(db, sink, &Item{}, Item{}); return err }, `capture: watch: table "items" given twice`},
		{"a transaction", func(db *gorm.DB) error {
			tx := db.Begin()
			defer tx.Rollback()
			_, err := capture.Watch(tx, sink, &Item{})
			return err
		}, "capture: watch: db is a transaction; pass the *gorm.DB that gorm.Open returned"},
		{"watched already", func(db *gorm.DB) error {
			if _, err := capture.Watch(db, sink, &Item{}); err != nil {
				return err
			}
			_, err := capture.Watch(db, sink, &Doc{})
			return err
		}, "capture: watch: db is watched already"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			db := openDB(t, mode{})
			err := tt.watch(db)
			if err == nil || err.Error() != tt.errStr {
				t.Fatalf("error %v, want %q", err, tt.errStr)
			}
		})
	}
}

// TestSessionBeforeWatch proves that a session derived before Watch still
// publishes its single writes, and that a transaction begun on it, which the
// capture cannot see, refuses watched writes instead of losing them.
func TestSessionBeforeWatch(t *testing.T) {
	for _, m := range modes() {
		t.Run(m.name, func(t *testing.T) {
			db := openDB(t, m)
			// WithContext clones the statement, and with it the bare pool.
			early := db.WithContext(context.Background())
			rec := &recorder{}
			_, err := capture.Watch(db, rec.sink, &Item{})
			must(t, err)

			must(t, early.Create(&Item{Name: "a"}).Error)
			if got, want := summary(rec.take()), []string{"create:items:1"}; !slices.Equal(got, want) {
				t.Fatalf("published %q, want %q", got, want)
			}
			err = early.Transaction(func(tx *gorm.DB) error { return tx.Create(&Item{Name: "b"}).Error })
			if m.prepare {
				// The session shares GORM's PreparedStmtDB, which Watch
				// wrapped inside, so its transactions are captured too.
				must(t, err)
				if got, want := names(rec.take()), []string{"create:b"}; !slices.Equal(got, want) {
					t.Fatalf("published %q, want %q", got, want)
				}
			} else if !errors.Is(err, capture.ErrUncapturedTx) {
				t.Fatalf("write in an unseen transaction: %v, want ErrUncapturedTx", err)
			}
			must(t, early.Transaction(func(tx *gorm.DB) error { return tx.Create(&Note{Text: "n"}).Error }))
			if got := rec.take(); len(got) != 0 {
				t.Fatalf("published %q", summary(got))
			}
		})
	}
}

// TestConnection proves that a transaction begun inside db.Connection, which
// the capture cannot see, refuses watched writes, and that single writes
// there are captured.
func TestConnection(t *testing.T) {
	forEachDB(t, func(t *testing.T, e *env) {
		var txErr error
		must(t, e.db.Connection(func(conn *gorm.DB) error {
			txErr = conn.Transaction(func(tx *gorm.DB) error { return tx.Create(&Item{Name: "a"}).Error })
			must(t, conn.Create(&Item{Name: "b"}).Error)
			must(t, conn.Model(&Item{}).Where("name = ?", "b").Update("price", 2).Error)
			return nil
		}))
		if !errors.Is(txErr, capture.ErrUncapturedTx) {
			t.Fatalf("transaction in Connection: %v, want ErrUncapturedTx", txErr)
		}
		if got, want := names(e.rec.take()), []string{"create:b", "update:b"}; !slices.Equal(got, want) {
			t.Fatalf("published %q, want %q", got, want)
		}
	})
}

// TestDBStillWorks proves that the wrapped pool keeps GORM's own access to the
// *sql.DB, outside and inside a transaction.
func TestDBStillWorks(t *testing.T) {
	forEachDB(t, func(t *testing.T, e *env) {
		sqlDB, err := e.db.DB()
		must(t, err)
		must(t, sqlDB.Ping())
		must(t, e.db.Transaction(func(tx *gorm.DB) error {
			inner, err := tx.DB()
			if err != nil {
				return err
			}
			if inner != sqlDB {
				t.Errorf("tx.DB() is another *sql.DB")
			}
			return nil
		}))
	})
}
