// Package handoff makes a goroutine that lets go of a lock others wait for
// give them its CPU at once.
//
// A goroutine that releases a lock wakes the next waiter, but goes on
// running (it encodes its response, writes it, reads the next request)
// while the waiter sits in a run queue: on a busy server the lock stays
// free all that time. Where the lock is the bottleneck, SQLite's one
// writer at a time, that idle time bounds the write rate. Yielding the
// CPU right after the release lets the waiter run now (bench/outside
// measured 1.4× the POSTs per second; docs/benchmarks.md).
//
// A goroutine that releases several locks in turn must yield after the
// last one: yielding while it still holds one leaves whoever waits for
// that one waiting for the yielder to be scheduled again. The SQLite gate
// is released inside the change capture's commit lock, so the capture
// defers the yield to its own release with a [Turn] in the context.
package handoff

import (
	"context"
	"runtime"
	"sync/atomic"
)

// Turn is a yield deferred to the holder of an outer lock.
type Turn struct {
	due atomic.Bool // an inner lock was released with waiters
}

type turnKey struct{}

// Defer returns ctx carrying t: a lock released under the returned
// context with waiters marks t instead of yielding, and the caller calls
// t.Yield once it has released its own lock.
func Defer(ctx context.Context, t *Turn) context.Context {
	return context.WithValue(ctx, turnKey{}, t)
}

// Released is called by a lock just released under ctx, with whether
// anyone waits for it. It yields, or marks the Turn in ctx.
func Released(ctx context.Context, waiting bool) {
	if !waiting {
		return
	}
	if t, ok := ctx.Value(turnKey{}).(*Turn); ok {
		t.due.Store(true)
		return
	}
	runtime.Gosched()
}

// Due reports whether a yield is owed: a lock was released with waiters
// under t since the last Yield.
func (t *Turn) Due() bool { return t.due.Load() }

// Yield yields if a lock was released with waiters under t since the
// last Yield.
func (t *Turn) Yield() {
	if t.due.Swap(false) {
		runtime.Gosched()
	}
}
