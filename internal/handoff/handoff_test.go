package handoff_test

import (
	"context"
	"runtime"
	"sync/atomic"
	"testing"

	"github.com/fastapi-easy/easy-go/internal/handoff"
)

// probe starts a goroutine that records that it ran. With one P it runs
// only when the caller yields (or blocks).
func probe() *atomic.Bool {
	var ran atomic.Bool
	go ran.Store(true)
	return &ran
}

// yields reports whether fn yields to a goroutine started before it. Now
// and then the scheduler takes from the global queue before the local
// one, and runs the yielder again first: so a yield must show in one of
// five tries (without one it never does).
func yields(fn func()) bool {
	for range 5 {
		ran := probe()
		fn()
		if ran.Load() {
			return true
		}
	}
	return false
}

func oneP(t *testing.T) {
	prev := runtime.GOMAXPROCS(1)
	t.Cleanup(func() { runtime.GOMAXPROCS(prev) })
}

func TestReleasedYieldsOnlyToWaiters(t *testing.T) {
	oneP(t)
	ctx := context.Background()
	ran := probe()
	handoff.Released(ctx, false)
	if ran.Load() {
		t.Fatal("Released without waiters yielded")
	}
	if !yields(func() { handoff.Released(ctx, true) }) {
		t.Fatal("Released with waiters did not yield")
	}
}

func TestTurnDefersTheYield(t *testing.T) {
	oneP(t)
	var turn handoff.Turn
	ctx := handoff.Defer(context.Background(), &turn)
	ran := probe()
	handoff.Released(ctx, true)
	if ran.Load() {
		t.Fatal("Released under a Turn yielded")
	}
	turn.Yield()
	if !ran.Load() && !yields(func() { handoff.Released(ctx, true); turn.Yield() }) {
		t.Fatal("Yield after a release with waiters did not yield")
	}
	ran = probe()
	turn.Yield()
	if ran.Load() {
		t.Fatal("a second Yield yielded: the turn was taken already")
	}
	handoff.Released(ctx, false)
	turn.Yield()
	if ran.Load() {
		t.Fatal("Yield after a release without waiters yielded")
	}
}
