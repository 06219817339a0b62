package sqlitedb_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/fastapi-easy/easy-go/easy/problem"
	"github.com/fastapi-easy/easy-go/internal/sqlitedb"
)

func TestConcurrentWritersAllCommit(t *testing.T) {
	db := sqlitedb.Open(t.TempDir()+"/w.db", sqlitedb.Options{})
	defer db.Close()
	if _, err := db.Exec(`CREATE TABLE t (id INTEGER PRIMARY KEY, n INTEGER)`); err != nil {
		t.Fatal(err)
	}
	const writers, each = 32, 20
	var wg sync.WaitGroup
	errs := make(chan error, writers*each)
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < each; i++ {
				tx, err := db.Begin()
				if err != nil {
					errs <- err
					return
				}
				// A read then a write: the pattern that deadlocks two
				// deferred transactions upgrading their read locks.
				var n int
				tx.QueryRow(`SELECT COUNT(*) FROM t`).Scan(&n)
				if _, err := tx.Exec(`INSERT INTO t (n) VALUES (?)`, n); err != nil {
					tx.Rollback()
					errs <- err
					return
				}
				if err := tx.Commit(); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("write failed: %v", err)
	}
	var n int
	db.QueryRow(`SELECT COUNT(*) FROM t`).Scan(&n)
	if n != writers*each {
		t.Fatalf("%d rows, want %d", n, writers*each)
	}
}

func TestWriterWaitingOnItselfFailsInsteadOfHanging(t *testing.T) {
	db := sqlitedb.Open(t.TempDir()+"/w.db", sqlitedb.Options{BusyTimeout: 200 * time.Millisecond})
	defer db.Close()
	db.Exec(`CREATE TABLE t (id INTEGER PRIMARY KEY)`)
	tx, err := db.Begin()
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	start := time.Now()
	// A second transaction while the first is open, as code that uses the
	// database instead of its transaction would do.
	_, err = db.Begin()
	if !errors.Is(err, problem.ErrUnavailable) {
		t.Fatalf("second Begin: %v, want ErrUnavailable", err)
	}
	if d := time.Since(start); d < 150*time.Millisecond || d > 2*time.Second {
		t.Fatalf("waited %s, want about the busy timeout", d)
	}
	// Reads go on meanwhile.
	var n int
	if err := db.QueryRow(`SELECT COUNT(*) FROM t`).Scan(&n); err != nil {
		t.Fatalf("read while a writer holds the lock: %v", err)
	}
	// A cancelled context stops the wait at once.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := db.BeginTx(ctx, nil); !errors.Is(err, context.Canceled) {
		t.Fatalf("BeginTx with a cancelled context: %v", err)
	}
}

func TestGateIsReleasedOnRollbackAndCommit(t *testing.T) {
	db := sqlitedb.Open(t.TempDir()+"/w.db", sqlitedb.Options{BusyTimeout: 200 * time.Millisecond})
	defer db.Close()
	db.Exec(`CREATE TABLE t (id INTEGER PRIMARY KEY)`)
	for i := 0; i < 3; i++ {
		tx, err := db.Begin()
		if err != nil {
			t.Fatalf("Begin %d: %v", i, err)
		}
		if i%2 == 0 {
			tx.Rollback()
		} else {
			tx.Commit()
		}
	}
	// An autocommit write passes the gate too.
	if _, err := db.Exec(`INSERT INTO t DEFAULT VALUES`); err != nil {
		t.Fatal(err)
	}
}
