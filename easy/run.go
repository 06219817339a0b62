package easy

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/signal"
	"strings"
	"syscall"
)

// Run serves the App on addr (such as ":8000") until SIGINT or SIGTERM,
// then shuts down gracefully: it stops accepting, runs the shutdown hooks
// (which close WebSockets with 1001), lets in-flight requests finish
// within the shutdown timeout, and closes the database.
func (a *App) Run(addr string) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if a.dbErr != nil {
		return a.dbErr
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("easy: listen: %w", err)
	}
	return a.Serve(ctx, ln)
}

// Serve serves the App on ln until ctx ends, then shuts down as Run does.
// It returns nil after a clean shutdown. Its server holds at most
// MaxConnections connections at once, bounds the time a client has to
// send headers (HeaderTimeout), the time to write a response
// (WriteTimeout) and the time between requests (IdleTimeout), holds
// request bodies to MinBodyRate, refuses a request that declares
// its length twice, answers its own errors as JSON, and, on a loopback
// address, serves only loopback host names unless AllowedHosts says
// otherwise.
// Before serving it readies the database schema (see Include and
// Migrations): a failure to migrate is its error, with what failed.
func (a *App) Serve(ctx context.Context, ln net.Listener) error {
	if a.dbErr != nil {
		ln.Close()
		return a.dbErr
	}
	a.mu.Lock()
	if a.running {
		a.mu.Unlock()
		ln.Close()
		return errors.New("easy: the App is already serving")
	}
	a.running = true
	hooks := a.startup
	a.mu.Unlock()
	if err := a.startSchema(ctx); err != nil {
		ln.Close()
		return err
	}
	for _, fn := range hooks {
		if err := fn(ctx); err != nil {
			ln.Close()
			return fmt.Errorf("easy: startup: %w", err)
		}
	}

	srv, ln := a.server(ln)
	base := "http://" + displayAddr(ln.Addr())
	msg := "easy: serving the API at " + base
	if a.cfg.openAPIPath != "" && a.cfg.docsPath != "" {
		msg += ", docs at " + base + a.cfg.docsPath
	}
	a.logger.Info(msg, "addr", ln.Addr().String())

	// The server's goroutine ends when Serve returns, which Shutdown causes.
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		a.Close(context.Background())
		return fmt.Errorf("easy: serve: %w", err)
	case <-ctx.Done():
	}

	a.drain()
	a.logger.Info("easy: shutting down")
	a.drainDelay()
	sctx, cancel := context.WithTimeout(context.Background(), a.cfg.shutdownTimeout)
	defer cancel()
	// Shutdown stops accepting at once and waits for in-flight requests;
	// the hooks run meanwhile, so WebSockets (hijacked, unseen by
	// Shutdown) are closed with 1001 while requests finish.
	done := make(chan error, 1)
	go func() { done <- srv.Shutdown(sctx) }()
	hookErr := a.closeHooks(sctx)
	err := <-done
	if errors.Is(err, context.DeadlineExceeded) {
		srv.Close()
		err = fmt.Errorf("easy: shutdown: requests still running after %s", a.cfg.shutdownTimeout)
	}
	<-errc
	return errors.Join(err, hookErr, a.closeDB())
}

func (a *App) closeHooks(ctx context.Context) error {
	a.mu.Lock()
	hooks := a.shutdown
	a.shutdown = nil
	a.mu.Unlock()
	var errs []error
	for i := len(hooks) - 1; i >= 0; i-- {
		if err := hooks[i](ctx); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func (a *App) closeDB() error {
	if !a.ownsDB {
		return nil
	}
	a.ownsDB = false
	sqlDB, err := a.db.DB()
	if err != nil {
		return err
	}
	return sqlDB.Close()
}

// displayAddr is a listener's address as a person would type it.
func displayAddr(addr net.Addr) string {
	s := addr.String()
	if strings.HasPrefix(s, "[::]:") || strings.HasPrefix(s, "0.0.0.0:") {
		_, port, _ := net.SplitHostPort(s)
		return "127.0.0.1:" + port
	}
	return s
}
