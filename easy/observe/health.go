package observe

import (
	"context"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/fastapi-easy/easy-go/easy/problem"
)

// CheckTimeout bounds the time of one round of readiness checks: a check
// that has not answered by then has failed.
const CheckTimeout = 2 * time.Second

// Health answers the liveness and readiness probes of an App: /healthz
// says the process serves; /readyz that it can do its work (its database
// answers, its broker is reachable) and is not shutting down. Its zero
// value is not usable; call NewHealth.
type Health struct {
	log      *slog.Logger
	draining atomic.Bool

	mu     sync.Mutex
	checks []check
	round  *round // the round of checks under way, shared by the probes that come meanwhile
}

type check struct {
	name string
	fn   func(context.Context) error
}

// round is one run of the checks; done is closed once failed is set.
type round struct {
	done   chan struct{}
	failed []string
}

// NewHealth returns a Health that logs the checks that fail to log.
func NewHealth(log *slog.Logger) *Health { return &Health{log: log} }

// Check adds a readiness check: /readyz fails while fn returns an error,
// naming the check. fn must honour ctx, which ends after CheckTimeout.
func (h *Health) Check(name string, fn func(context.Context) error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.checks = append(h.checks, check{name, fn})
}

// Drain makes /readyz fail from now on, so that a load balancer stops
// sending new requests before the App closes its connections.
func (h *Health) Drain() { h.draining.Store(true) }

// Healthz answers 200 {"status":"ok"} while the process serves.
func (h *Health) Healthz(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.Write([]byte(`{"status":"ok"}` + "\n"))
}

// Readyz answers 200 {"status":"ready"} when every check passes, else 503
// with a detail naming what failed: {"detail":"Not ready: database"}, or
// "Not ready: shutting down". The errors themselves are logged, not
// shown. However many probes come at once, one round of checks runs at a
// time and they share its result.
func (h *Health) Readyz(w http.ResponseWriter, r *http.Request) {
	failed, err := h.Ready(r.Context())
	if err != nil { // the client went away
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	if len(failed) > 0 {
		w.Header().Set("Retry-After", "1")
		problem.Text(w, http.StatusServiceUnavailable, "Not ready: "+strings.Join(failed, ", "))
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Write([]byte(`{"status":"ready"}` + "\n"))
}

// Ready runs the checks, or waits for the round under way, and returns
// the names of those that failed ("shutting down" while draining). Its
// error is ctx's, when ctx ends first.
func (h *Health) Ready(ctx context.Context) ([]string, error) {
	if h.draining.Load() {
		return []string{"shutting down"}, nil
	}
	h.mu.Lock()
	rd := h.round
	if rd == nil {
		rd = &round{done: make(chan struct{})}
		h.round = rd
		checks := h.checks
		// The round's goroutine belongs to the Health; it ends within
		// CheckTimeout, whether the probe that started it waits or not.
		go h.run(rd, checks)
	}
	h.mu.Unlock()
	select {
	case <-rd.done:
		return rd.failed, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func (h *Health) run(rd *round, checks []check) {
	ctx, cancel := context.WithTimeout(context.Background(), CheckTimeout)
	defer cancel()
	errs := make([]error, len(checks))
	var wg sync.WaitGroup
	for i, c := range checks {
		wg.Go(func() { errs[i] = c.fn(ctx) })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			rd.failed = append(rd.failed, checks[i].name)
			h.log.Warn("easy: readiness check failed", "check", checks[i].name, "error", err)
		}
	}
	h.mu.Lock()
	h.round = nil
	h.mu.Unlock()
	close(rd.done)
}
