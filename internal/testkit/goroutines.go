package testkit

import (
	"runtime"
	"testing"
	"time"
)

// Goroutines returns a check that the goroutines started since it was
// called have ended: the check waits up to 5 s for their number to fall
// back, and fails t with every goroutine's stack when it does not. Call
// it after what the test does not own (a database's pool) is made, and
// check once the test has closed what it opened.
func Goroutines(t testing.TB) (check func()) {
	before := runtime.NumGoroutine()
	return func() {
		t.Helper()
		deadline := time.Now().Add(5 * time.Second)
		for runtime.NumGoroutine() > before {
			if time.Now().After(deadline) {
				buf := make([]byte, 1<<20)
				t.Fatalf("%d goroutines, %d before:\n%s", runtime.NumGoroutine(), before, buf[:runtime.Stack(buf, true)])
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
}
