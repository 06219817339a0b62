package capture_test

import (
	"bytes"
	"fmt"
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/fastapi-easy/easy-go/internal/capture"
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
