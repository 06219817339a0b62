package capture_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/fastapi-easy/easy-go/internal/capture"
)

// TestExclusive proves that the sink never runs while an Exclusive fn runs,
// and that the rows fn reads agree exactly with the changes delivered so far,
// while writers keep committing around it.
func TestExclusive(t *testing.T) {
	forEachDB(t, func(t *testing.T, e *env) {
		var inFn atomic.Bool
		var overlaps atomic.Int32
		e.rec.onSink = func([]capture.Change) {
			if inFn.Load() {
				overlaps.Add(1)
			}
		}
		stop := make(chan struct{})
		var wg sync.WaitGroup
		errs := make(chan error, 4)
		for w := range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := 0; ; i++ {
					select {
					case <-stop:
						return
					default:
					}
					if err := e.db.Create(&Item{Name: fmt.Sprintf("w%d-%d", w, i)}).Error; err != nil {
						errs <- err
						return
					}
				}
			}()
		}
		for range 10 {
			err := e.c.Exclusive(context.Background(), func(tx *gorm.DB) error {
				inFn.Store(true)
				defer inFn.Store(false)
				var before, after int64
				if err := tx.Model(&Item{}).Count(&before).Error; err != nil {
					return err
				}
				time.Sleep(5 * time.Millisecond) // let writers reach their commit
				if err := tx.Model(&Item{}).Count(&after).Error; err != nil {
					return err
				}
				if delivered := e.rec.changes(); int64(delivered) != before || before != after {
					t.Errorf("snapshot has %d then %d rows, sink has seen %d creates", before, after, delivered)
				}
				return nil
			})
			must(t, err)
		}
		close(stop)
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}
		if n := overlaps.Load(); n != 0 {
			t.Fatalf("the sink ran %d times during an Exclusive fn", n)
		}
	})
}

// TestExclusiveTransaction proves that fn's transaction commits what fn wrote
// when it returns nil, rolls it back on an error, and that a context ending
// while another Exclusive holds the lock ends the wait.
func TestExclusiveTransaction(t *testing.T) {
	boom := errors.New("boom")
	forEachDB(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		must(t, e.c.Exclusive(ctx, func(tx *gorm.DB) error { return tx.Create(&Item{Name: "a"}).Error }))
		if got, want := names(e.rec.take()), []string{"create:a"}; !slices.Equal(got, want) {
			t.Fatalf("published %q, want %q", got, want)
		}

		err := e.c.Exclusive(ctx, func(tx *gorm.DB) error {
			must(t, tx.Create(&Item{Name: "b"}).Error)
			return boom
		})
		if !errors.Is(err, boom) {
			t.Fatalf("Exclusive: %v, want boom", err)
		}
		var n int64
		must(t, e.db.Model(&Item{}).Count(&n).Error)
		if got := e.rec.take(); len(got) != 0 || n != 1 {
			t.Fatalf("rolled back fn published %q, table has %d rows", summary(got), n)
		}

		held, release := make(chan struct{}), make(chan struct{})
		done := make(chan error, 1)
		go func() {
			done <- e.c.Exclusive(ctx, func(*gorm.DB) error {
				close(held)
				<-release
				return nil
			})
		}()
		<-held
		short, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
		defer cancel()
		err = e.c.Exclusive(short, func(*gorm.DB) error { return nil })
		close(release)
		must(t, <-done)
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("Exclusive while held: %v, want DeadlineExceeded", err)
		}
	})
}
