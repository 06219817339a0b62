package ws

import (
	"context"
	"errors"

	"github.com/fastapi-easy/easy-go/easy"
)

// observe makes the Manager visible through what app serves: its numbers
// on the App's metrics (metrics.go), its spans with the App's tracer
// (trace.go), and its broker among the App's readiness checks.
func (m *Manager) observe(app *easy.App) {
	m.useMetrics(app)
	m.useTracer(app)
	if m.cfg.broker != nil {
		app.ReadyCheck("broker", m.pingBroker)
	}
}

// pinger is a Broker that can say whether it is reachable without
// touching a log.
type pinger interface {
	Ping(ctx context.Context) error
}

// Ping reports whether the Redis server answers.
func (b *RedisBroker) Ping(ctx context.Context) error { return b.client.Ping(ctx).Err() }

// pingBroker is the readiness check of the broker: a Ping where the
// broker has one, else a read of the tail of a resource's log.
func (m *Manager) pingBroker(ctx context.Context) error {
	if p, ok := m.cfg.broker.(pinger); ok {
		return p.Ping(ctx)
	}
	m.resMu.RLock()
	var name string
	for name = range m.resources {
		break
	}
	m.resMu.RUnlock()
	if name == "" {
		return errors.New("ws: no resource to read the broker's log of")
	}
	_, _, err := m.cfg.broker.Tail(ctx, name, 0)
	return err
}
