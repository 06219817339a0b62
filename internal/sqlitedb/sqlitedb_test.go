package sqlitedb_test

import (
	"context"
	"database/sql"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/fastapi-easy/easy-go/easy/problem"
	"github.com/fastapi-easy/easy-go/internal/handoff"
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

// TestWriteOutsideATransactionPassesTheGate: a write outside a transaction
// that returns rows (GORM's Create with SkipDefaultTransaction) waits for
// the gate as a transaction does, and holds it until its rows close, as
// SQLite holds its write lock; so do the writes of statements database/sql
// prepared.
func TestWriteOutsideATransactionPassesTheGate(t *testing.T) {
	db := sqlitedb.Open(t.TempDir()+"/w.db", sqlitedb.Options{BusyTimeout: 200 * time.Millisecond})
	defer db.Close()
	if _, err := db.Exec(`CREATE TABLE t (id INTEGER PRIMARY KEY)`); err != nil {
		t.Fatal(err)
	}
	const insert = `INSERT INTO t DEFAULT VALUES RETURNING id`
	tx, err := db.Begin()
	if err != nil {
		t.Fatal(err)
	}
	var id int64
	if err := db.QueryRow(insert).Scan(&id); !errors.Is(err, problem.ErrUnavailable) {
		t.Errorf("a write while a transaction holds the gate: %v, want ErrUnavailable", err)
	}
	if err := tx.Rollback(); err != nil {
		t.Fatal(err)
	}
	for _, q := range []struct {
		sql  string
		args []any
	}{
		{insert, nil}, // kept prepared
		{`INSERT INTO t (id) VALUES (:id) RETURNING id`, []any{sql.Named("id", nil)}},         // by name: the driver's way
		{`WITH v(id) AS (SELECT NULL) INSERT INTO t (id) SELECT id FROM v RETURNING id`, nil}, // after a common table expression
	} {
		rows, err := db.Query(q.sql, q.args...)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := db.Begin(); !errors.Is(err, problem.ErrUnavailable) {
			t.Errorf("a transaction while a write's rows are open: %v, want ErrUnavailable", err)
		}
		for rows.Next() {
			if err := rows.Scan(&id); err != nil {
				t.Fatal(err)
			}
		}
		if err := rows.Close(); err != nil {
			t.Fatal(err)
		}
		tx, err := db.Begin()
		if err != nil {
			t.Fatalf("a transaction once the rows closed: %v", err)
		}
		tx.Rollback()
	}

	// Statements database/sql prepared (GORM's PrepareStmt).
	stmt, err := db.Prepare(insert)
	if err != nil {
		t.Fatal(err)
	}
	defer stmt.Close()
	update, err := db.Prepare(`UPDATE t SET id = id WHERE id = ?`)
	if err != nil {
		t.Fatal(err)
	}
	defer update.Close()
	if tx, err = db.Begin(); err != nil {
		t.Fatal(err)
	}
	if err := stmt.QueryRow().Scan(&id); !errors.Is(err, problem.ErrUnavailable) {
		t.Errorf("a prepared INSERT ... RETURNING while a transaction holds the gate: %v, want ErrUnavailable", err)
	}
	if _, err := update.Exec(1); !errors.Is(err, problem.ErrUnavailable) {
		t.Errorf("a prepared UPDATE while a transaction holds the gate: %v, want ErrUnavailable", err)
	}
	if err := tx.Rollback(); err != nil {
		t.Fatal(err)
	}
	if err := stmt.QueryRow().Scan(&id); err != nil {
		t.Errorf("a prepared INSERT ... RETURNING: %v", err)
	}
	if _, err := update.Exec(1); err != nil {
		t.Errorf("a prepared UPDATE: %v", err)
	}
	if err := db.QueryRow(`SELECT COUNT(*) FROM t`).Scan(&id); err != nil || id != 4 {
		t.Fatalf("%d rows (%v), want 4", id, err)
	}
}

// TestCommitHandsTheGateOver checks that a commit that lets a waiting
// writer in owes it the CPU (package handoff; here the yield is deferred
// to the holder of a Turn, as the change capture does), and that a commit
// nobody waits for does not.
func TestCommitHandsTheGateOver(t *testing.T) {
	db := sqlitedb.Open(t.TempDir()+"/w.db", sqlitedb.Options{})
	defer db.Close()
	if _, err := db.Exec(`CREATE TABLE t (id INTEGER PRIMARY KEY)`); err != nil {
		t.Fatal(err)
	}
	// Two open connections, so that the waiter goes straight to the gate.
	c1, err := db.Conn(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	c2, err := db.Conn(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	c1.Close()
	c2.Close()
	commit := func(waiter bool) (due bool) {
		var turn handoff.Turn
		tx, err := db.BeginTx(handoff.Defer(context.Background(), &turn), nil)
		if err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		if waiter {
			go func() {
				tx, err := db.Begin() // waits at the gate
				if err == nil {
					err = tx.Rollback()
				}
				done <- err
			}()
			time.Sleep(10 * time.Millisecond) // it reaches the gate
		}
		if _, err := tx.Exec(`INSERT INTO t DEFAULT VALUES`); err != nil {
			t.Fatal(err)
		}
		if err := tx.Commit(); err != nil {
			t.Fatal(err)
		}
		if waiter {
			if err := <-done; err != nil {
				t.Fatal(err)
			}
		}
		return turn.Due()
	}
	if commit(false) {
		t.Error("a commit nobody waited for owes a handoff")
	}
	// The waiter must be at the gate in time: in one of five tries.
	handed := false
	for i := 0; i < 5 && !handed; i++ {
		handed = commit(true)
	}
	if !handed {
		t.Error("a commit a writer waited for owes no handoff")
	}
}
