package sqlitedb

import (
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

// TestCheckpointsKeepTheWALBounded: no connection checkpoints by itself,
// and under a stream of writes (some three WAL pages each: a new leaf, its
// parent, the database's header) the checkpointer restarts the WAL each
// time it passes walPages, so that its file, reused, stays far below what
// the writes made (some 9 × walPages pages without it); closing the
// database stops it.
func TestCheckpointsKeepTheWALBounded(t *testing.T) {
	before := runtime.NumGoroutine()
	path := filepath.Join(t.TempDir(), "w.db")
	db, c := open(path, Options{})
	if _, err := db.Exec(`CREATE TABLE t (id INTEGER PRIMARY KEY, pad TEXT)`); err != nil {
		t.Fatal(err)
	}
	var auto int
	if err := db.QueryRow(`PRAGMA wal_autocheckpoint`).Scan(&auto); err != nil || auto != 0 {
		t.Fatalf("wal_autocheckpoint %d (%v), want 0", auto, err)
	}
	pad := strings.Repeat("x", 3000)
	const frame = 4096 + 24
	for range 3 * walPages {
		if _, err := db.Exec(`INSERT INTO t (pad) VALUES (?)`, pad); err != nil {
			t.Fatal(err)
		}
	}
	st, err := os.Stat(path + "-wal")
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("the WAL's file: %d pages; %d RESTART checkpoints", st.Size()/frame, c.restarts.Load())
	if pages := st.Size() / frame; c.restarts.Load() < 2 || pages > 3*walPages {
		t.Errorf("the WAL's file has %d pages after %d RESTART checkpoints, want at most %d after 2 or more", pages, c.restarts.Load(), 3*walPages)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > before {
		if time.Now().After(deadline) {
			t.Fatalf("%d goroutines after Close, %d before Open", runtime.NumGoroutine(), before)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestARestartAReaderHoldsUpIsNotTriedAtEachCheckpoint: a query whose rows
// stay open pins the WAL, and each RESTART holds the writers up for
// restartWait; the checkpointer tries one for each walPages of growth, not
// one every checkpointEvery writes.
func TestARestartAReaderHoldsUpIsNotTriedAtEachCheckpoint(t *testing.T) {
	db, c := open(filepath.Join(t.TempDir(), "w.db"), Options{})
	defer db.Close()
	if _, err := db.Exec(`CREATE TABLE t (id INTEGER PRIMARY KEY, pad TEXT); INSERT INTO t (pad) VALUES ('a')`); err != nil {
		t.Fatal(err)
	}
	rows, err := db.Query(`SELECT id FROM t`)
	if err != nil {
		t.Fatal(err)
	}
	if !rows.Next() {
		t.Fatal(rows.Err())
	}
	pad := strings.Repeat("x", 3000)
	for range walPages {
		if _, err := db.Exec(`INSERT INTO t (pad) VALUES (?)`, pad); err != nil {
			t.Fatal(err)
		}
	}
	rows.Close()
	// Some 3 WAL pages a write: the WAL passed walPages three times.
	if n := c.restarts.Load(); n < 1 || n > 4 {
		t.Errorf("%d RESTART checkpoints tried, want 1 to 4", n)
	}
}
