package capture_test

import (
	"bytes"
	"context"
	"fmt"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/fastapi-easy/easy-go/internal/capture"
	"github.com/fastapi-easy/easy-go/internal/handoff"
	"github.com/fastapi-easy/easy-go/internal/testkit"
)

// TestCommitHandsTheCPUOverAfterTheCommitLock checks, on the SQLite gate
// of package sqlitedb, that a watched commit a writer waits for hands it
// the CPU once the commit lock is let go, and not before: the gate,
// released inside the commit lock, leaves the handoff due (the sink sees
// it), and Commit makes it when it has let the lock go. Yielding with the
// lock held would leave the writer, once it reaches its own commit,
// waiting for the yielder to be scheduled again.
func TestCommitHandsTheCPUOverAfterTheCommitLock(t *testing.T) {
	db := testkit.SQLite(t, nil)
	if err := db.AutoMigrate(&Item{}); err != nil {
		t.Fatal(err)
	}
	var tx *gorm.DB
	dueInSink := false
	_, err := capture.Watch(db, func(changes []capture.Change) {
		if bytes.Contains(changes[0].Data, []byte(`"first`)) {
			dueInSink = dueInSink || capture.HandoffDue(tx)
		}
	}, &Item{})
	if err != nil {
		t.Fatal(err)
	}
	// Two open connections, so that the waiter goes straight to the gate.
	sqlDB, _ := db.DB()
	c1, _ := sqlDB.Conn(t.Context())
	c2, _ := sqlDB.Conn(t.Context())
	c1.Close()
	c2.Close()

	// The waiter has to be at the gate when the first commits: it shows
	// in one of five tries, 10 ms apart.
	for i := 0; i < 5 && !dueInSink; i++ {
		tx = db.Begin()
		if err := tx.Create(&Item{Name: fmt.Sprint("first", i)}).Error; err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() { done <- db.Create(&Item{Name: fmt.Sprint("waiter", i)}).Error }()
		time.Sleep(10 * time.Millisecond)
		if err := tx.Commit().Error; err != nil {
			t.Fatal(err)
		}
		if capture.HandoffDue(tx) {
			t.Fatal("Commit returned without the handoff it owed")
		}
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
	if !dueInSink {
		t.Error("the sink, inside the commit lock, found no handoff due: the gate yielded by itself or had no waiter")
	}
}

// TestHoldHandsTheCPUOverAfterTheCommitLock checks that a lock released
// with waiters inside Hold's fn (the SQLite gate, for the outbox's direct
// publishing) yields when Hold has let the commit lock go, not before.
// With one P a goroutine started in fn runs only if something yields.
func TestHoldHandsTheCPUOverAfterTheCommitLock(t *testing.T) {
	prev := runtime.GOMAXPROCS(1)
	t.Cleanup(func() { runtime.GOMAXPROCS(prev) })
	db := testkit.SQLite(t, nil)
	c, err := capture.Watch(db, func([]capture.Change) {}, &Item{})
	if err != nil {
		t.Fatal(err)
	}
	// Now and then the scheduler takes from the global queue before the
	// local one and runs the yielder again first: the yield must show in
	// one of five tries (without it, it never does).
	handed := false
	for range 5 {
		var ran atomic.Bool
		err := c.Hold(t.Context(), func(ctx context.Context) error {
			go ran.Store(true)
			handoff.Released(ctx, true)
			if ran.Load() {
				t.Error("a lock released inside Hold yielded with the commit lock held")
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		handed = handed || ran.Load()
	}
	if !handed {
		t.Error("Hold did not hand the CPU over after the commit lock")
	}
}
