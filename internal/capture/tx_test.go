package capture_test

import (
	"errors"
	"fmt"
	"slices"
	"testing"

	"gorm.io/gorm"

	"github.com/fastapi-easy/easy-go/internal/capture"
)

// TestTransaction proves that the writes of a transaction are published
// together, in order, once it commits, and never when it rolls back, with
// savepoints followed.
func TestTransaction(t *testing.T) {
	boom := errors.New("boom")
	create := func(tx *gorm.DB, name string) error { return tx.Create(&Item{Name: name}).Error }
	tests := []struct {
		name    string
		run     func(db *gorm.DB) error
		want    []string
		wantErr error
		raw     bool // uses raw savepoint SQL, which PrepareStmt hides
	}{
		{
			name: "Transaction commits",
			run: func(db *gorm.DB) error {
				return db.Transaction(func(tx *gorm.DB) error {
					must(t, create(tx, "a"))
					must(t, create(tx, "b"))
					return tx.Model(&Item{ID: 1}).Update("price", 3).Error
				})
			},
			want: []string{"create:a create:b update:a"},
		},
		{
			name: "Begin and Commit",
			run: func(db *gorm.DB) error {
				tx := db.Begin()
				must(t, create(tx, "a"))
				must(t, tx.Delete(&Item{ID: 1}).Error)
				return tx.Commit().Error
			},
			want: []string{"create:a delete:1"},
		},
		{
			name: "Begin and Rollback",
			run: func(db *gorm.DB) error {
				tx := db.Begin()
				must(t, create(tx, "a"))
				return tx.Rollback().Error
			},
		},
		{
			name: "fn returns an error",
			run: func(db *gorm.DB) error {
				return db.Transaction(func(tx *gorm.DB) error {
					must(t, create(tx, "a"))
					return boom
				})
			},
			wantErr: boom,
		},
		{
			name: "fn panics",
			run: func(db *gorm.DB) (err error) {
				defer func() {
					if recover() != nil {
						err = boom
					}
				}()
				return db.Transaction(func(tx *gorm.DB) error {
					must(t, create(tx, "a"))
					panic("boom")
				})
			},
			wantErr: boom,
		},
		{
			name: "nested Transaction rolled back",
			run: func(db *gorm.DB) error {
				return db.Transaction(func(tx *gorm.DB) error {
					must(t, create(tx, "a"))
					if err := tx.Transaction(func(tx2 *gorm.DB) error {
						must(t, create(tx2, "b"))
						return boom
					}); !errors.Is(err, boom) {
						t.Errorf("nested: %v", err)
					}
					return create(tx, "c")
				})
			},
			want: []string{"create:a create:c"},
		},
		{
			name: "nested Transaction committed",
			run: func(db *gorm.DB) error {
				return db.Transaction(func(tx *gorm.DB) error {
					must(t, create(tx, "a"))
					must(t, tx.Transaction(func(tx2 *gorm.DB) error { return create(tx2, "b") }))
					return create(tx, "c")
				})
			},
			want: []string{"create:a create:b create:c"},
		},
		{
			name: "nested twice, inner rolled back",
			run: func(db *gorm.DB) error {
				return db.Transaction(func(tx *gorm.DB) error {
					must(t, create(tx, "a"))
					must(t, tx.Transaction(func(tx2 *gorm.DB) error {
						must(t, create(tx2, "b"))
						_ = tx2.Transaction(func(tx3 *gorm.DB) error {
							must(t, create(tx3, "c"))
							return boom
						})
						return create(tx2, "d")
					}))
					return nil
				})
			},
			want: []string{"create:a create:b create:d"},
		},
		{
			name: "outer rolled back after a nested commit",
			run: func(db *gorm.DB) error {
				return db.Transaction(func(tx *gorm.DB) error {
					must(t, tx.Transaction(func(tx2 *gorm.DB) error { return create(tx2, "a") }))
					return boom
				})
			},
			wantErr: boom,
		},
		{
			name: "SavePoint and RollbackTo",
			run: func(db *gorm.DB) error {
				tx := db.Begin()
				must(t, create(tx, "a"))
				must(t, tx.SavePoint("sp1").Error)
				must(t, create(tx, "b"))
				must(t, tx.SavePoint("sp2").Error)
				must(t, create(tx, "c"))
				must(t, tx.RollbackTo("sp1").Error)
				must(t, create(tx, "d"))
				return tx.Commit().Error
			},
			want: []string{"create:a create:d"},
		},
		{
			name: "RollbackTo the newer of two savepoints of one name",
			run: func(db *gorm.DB) error {
				tx := db.Begin()
				must(t, tx.SavePoint("sp").Error)
				must(t, create(tx, "a"))
				must(t, tx.SavePoint("sp").Error)
				must(t, create(tx, "b"))
				must(t, tx.RollbackTo("sp").Error)
				return tx.Commit().Error
			},
			want: []string{"create:a"},
		},
		{
			name: "raw SAVEPOINT and ROLLBACK TO",
			raw:  true,
			run: func(db *gorm.DB) error {
				return db.Transaction(func(tx *gorm.DB) error {
					must(t, create(tx, "a"))
					must(t, tx.Exec("SAVEPOINT s1").Error)
					must(t, create(tx, "b"))
					must(t, tx.Exec("ROLLBACK TO SAVEPOINT s1").Error)
					must(t, tx.Exec("RELEASE SAVEPOINT s1").Error)
					return create(tx, "c")
				})
			},
			want: []string{"create:a create:c"},
		},
		{
			name: "failed statement ignored, then Commit",
			run: func(db *gorm.DB) error {
				tx := db.Begin()
				must(t, create(tx, "a"))
				if err := create(tx, "a"); err == nil {
					t.Error("duplicate name was accepted")
				}
				// SQLite undoes the statement and commits the rest;
				// PostgreSQL aborted the transaction and COMMIT fails.
				if err := tx.Commit().Error; err != nil {
					return boom
				}
				return nil
			},
			want: []string{"create:a"},
		},
		{
			name: "CreateInBatches",
			run: func(db *gorm.DB) error {
				return db.CreateInBatches(items("a", "b", "c", "d", "e"), 2).Error
			},
			want: []string{"create:a create:b create:c create:d create:e"},
		},
	}
	forEachDB(t, func(t *testing.T, e *env) {
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				if tt.raw && e.prepare {
					t.Skip("raw savepoint SQL is not followed with PrepareStmt")
				}
				e.reset(t)
				wantErr := tt.wantErr
				if tt.name == "failed statement ignored, then Commit" && e.postgres {
					wantErr = boom
				}
				if err := tt.run(e.db); !errors.Is(err, wantErr) {
					t.Fatalf("run: %v, want %v", err, wantErr)
				}
				got := names(e.rec.take())
				want := tt.want
				if tt.name == "failed statement ignored, then Commit" && e.postgres {
					want = nil
				}
				if tt.name == "CreateInBatches" && e.skipTx {
					// Without the default transaction each batch commits alone.
					want = []string{"create:a create:b", "create:c create:d", "create:e"}
				}
				if !slices.Equal(got, want) {
					t.Fatalf("published %q, want %q", got, want)
				}
			})
		}
	})
}

// TestCommitOrder proves that the sink sees commits in the order the database
// made them: goroutines increment one row concurrently, and the rows
// delivered must count up by one with no gap, ending at the row's final state.
func TestCommitOrder(t *testing.T) {
	forEachDB(t, func(t *testing.T, e *env) {
		e.seed(t, &Item{Name: "counter"})
		workers, each := 16, 25
		if !e.postgres {
			workers, each = 4, 25 // SQLite runs one writer at a time anyway
		}
		errs := make(chan error, workers)
		for w := 0; w < workers; w++ {
			go func() {
				var err error
				for i := 0; i < each && err == nil; i++ {
					if i%2 == 0 {
						err = e.db.Model(&Item{ID: 1}).Update("price", gorm.Expr("price + 1")).Error
					} else {
						err = e.db.Transaction(func(tx *gorm.DB) error {
							return tx.Model(&Item{}).Where("name = ?", "counter").Update("price", gorm.Expr("price + 1")).Error
						})
					}
				}
				errs <- err
			}()
		}
		for w := 0; w < workers; w++ {
			must(t, <-errs)
		}
		var final Item
		must(t, e.db.First(&final, 1).Error)
		commits := e.rec.take()
		if len(commits) != workers*each {
			t.Fatalf("%d commits published, want %d", len(commits), workers*each)
		}
		for i, c := range commits {
			if got := c[0].Row.(*Item).Price; got != float64(i+1) {
				t.Fatalf("commit %d delivered price %v, want %d: out of commit order", i, got, i+1)
			}
		}
		if last := commits[len(commits)-1][0].Row.(*Item); last.Price != final.Price {
			t.Fatalf("last change %+v, database has %+v", last, final)
		}
	})
}

// TestSinkAfterCommit proves that nothing reaches the sink before COMMIT and
// that, when it does, another connection already sees what was committed.
func TestSinkAfterCommit(t *testing.T) {
	forEachDB(t, func(t *testing.T, e *env) {
		e.seed(t, &Item{Name: "old"})
		other := e.db.Session(&gorm.Session{NewDB: true})
		var mismatches []string
		e.rec.onSink = func(changes []capture.Change) {
			for _, ch := range changes {
				var n int64
				must(t, other.Model(&Item{}).Where("id = ?", ch.Key).Count(&n).Error)
				if want := int64(map[capture.Op]int{capture.Create: 1, capture.Delete: 0}[ch.Op]); n != want {
					mismatches = append(mismatches, fmt.Sprintf("%s %v: %d rows visible, want %d", ch.Op, ch.Key, n, want))
				}
			}
		}
		must(t, e.db.Transaction(func(tx *gorm.DB) error {
			must(t, tx.Create(&Item{Name: "new"}).Error)
			must(t, tx.Delete(&Item{}, 1).Error)
			if n := e.rec.changes(); n != 0 {
				t.Errorf("%d changes published before COMMIT", n)
			}
			return nil
		}))
		if got, want := names(e.rec.take()), []string{"create:new delete:1"}; !slices.Equal(got, want) {
			t.Fatalf("published %q, want %q", got, want)
		}
		if len(mismatches) > 0 {
			t.Fatal(mismatches)
		}
	})
}
