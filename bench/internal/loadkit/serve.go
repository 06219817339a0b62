package loadkit

import (
	"context"
	"net"
	"net/http"
	"time"
)

// Serve serves srv on ln until ctx ends, then calls closing, which ends
// what Shutdown does not (the hand-written hubs' hijacked WebSocket
// connections), and shuts srv down, waiting at most 5 seconds for the
// requests in flight. It returns Serve's error if srv stopped by itself,
// else Shutdown's.
func Serve(ctx context.Context, srv *http.Server, ln net.Listener, closing func()) error {
	errc := make(chan error, 1)
	// The server's goroutine ends when Shutdown below makes Serve return.
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	closing()
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := srv.Shutdown(sctx)
	<-errc
	return err
}
