package observe

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"time"

	"github.com/fastapi-easy/easy-go/internal/connlimit"
)

// PprofConnections is how many connections the pprof listener holds at
// once: enough for an operator's browser and go tool pprof. Past it a
// connection waits in the listen backlog, as past the App's
// MaxConnections, so that a client that finds the listener cannot use it
// to exhaust the process's file descriptors.
const PprofConnections = 16

// ServePprof serves net/http/pprof's profiles under /debug/pprof/ on a
// listener of its own at addr, never the App's, behind guard (the App's
// host check for that listener), and returns the function that stops it.
// The server's goroutine is the caller's: it ends when stop is called.
func ServePprof(addr string, log *slog.Logger, guard func(net.Addr, http.Handler) http.Handler) (stop func(context.Context) error, err error) {
	tcp, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("easy: pprof: %w", err)
	}
	ln := connlimit.New(tcp, PprofConnections, nil)
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	// A CPU profile or a trace lasts as long as asked (?seconds=), so
	// writes are not bounded; headers and idle connections are.
	srv := &http.Server{Handler: ln.Handler(guard(ln.Addr(), mux)), ReadHeaderTimeout: 10 * time.Second, IdleTimeout: time.Minute,
		ConnState: ln.ConnState}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	log.Info("easy: serving pprof at http://"+ln.Addr().String()+"/debug/pprof/", "addr", ln.Addr().String())
	return func(ctx context.Context) error {
		err := srv.Shutdown(ctx)
		if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
			err = srv.Close()
		}
		if serr := <-done; !errors.Is(serr, http.ErrServerClosed) {
			err = errors.Join(err, serr)
		}
		return err
	}, nil
}
