package testkit

import (
	"context"
	"net"
	"sync"
	"testing"
)

// ServeOn runs serve (an App's Serve) on a new listener at addr
// ("127.0.0.1:0" for any free port) and returns the listener's address
// and stop, which cancels serve's context, waits for it to return and
// fails the test if it returned an error. The test's cleanup calls stop
// too. The goroutine that runs serve ends when stop does.
func ServeOn(t testing.TB, addr string, serve func(context.Context, net.Listener) error) (string, func()) {
	t.Helper()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- serve(ctx, ln) }()
	stop := sync.OnceFunc(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
	})
	t.Cleanup(stop)
	return ln.Addr().String(), stop
}

// FreeAddr returns a loopback address whose port was free a moment ago,
// for a server that opens its own listener (pprof's).
func FreeAddr(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}
