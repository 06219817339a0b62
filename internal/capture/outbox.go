package capture

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/fastapi-easy/easy-go/internal/handoff"
)

// Outbox is told the changes of each watched transaction after its last
// statement and before its COMMIT, in the transaction, under the commit
// lock: what it writes through tx commits or rolls back with the changes
// themselves. This is how the events of a write outlive a crash between
// its commit and the sink call (see package ws's outbox).
type Outbox interface {
	// Write runs in the transaction; an error rolls the transaction back
	// and is the error of its Commit.
	Write(ctx context.Context, tx Execer, changes []Change) error
	// Failed is called, still under the commit lock, when COMMIT returned
	// an error after Write succeeded: the database may have committed the
	// transaction or not, and the sink is not called.
	Failed()
}

// Execer is the part of a transaction an Outbox writes with.
type Execer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// WriteOutbox makes every transaction with watched writes call o before it
// commits. Call it once, right after Watch and before any watched write.
func (c *Capture) WriteOutbox(o Outbox) {
	if o == nil {
		panic("capture: WriteOutbox(nil)")
	}
	if !c.outbox.CompareAndSwap(nil, &o) {
		panic("capture: WriteOutbox called twice")
	}
}

// Hold runs fn while no watched write can commit, as the sink does, so
// that fn may publish changes of its own in between commits. fn must not
// write to watched models nor call Hold or Exclusive. fn's statements run
// with the context it is given: a lock they release (the SQLite gate)
// hands the CPU over when Hold has let the commit lock go (see package
// handoff).
func (c *Capture) Hold(ctx context.Context, fn func(ctx context.Context) error) error {
	select {
	case c.sem <- struct{}{}:
	case <-ctx.Done():
		return fmt.Errorf("capture: hold: %w", ctx.Err())
	}
	var turn handoff.Turn
	defer func() {
		<-c.sem
		turn.Yield()
	}()
	return fn(handoff.Defer(ctx, &turn))
}

// commitWith commits tx, writing the outbox first if there is one. The
// caller holds the commit lock.
func (c *Capture) commitWith(ctx context.Context, tx interface {
	Execer
	Commit() error
	Rollback() error
}, changes []Change) error {
	op := c.outbox.Load()
	if op == nil {
		return tx.Commit()
	}
	o := *op
	if err := o.Write(ctx, tx, changes); err != nil {
		_ = tx.Rollback()
		return fmt.Errorf("capture: outbox: %w", err)
	}
	if err := tx.Commit(); err != nil {
		o.Failed()
		return err
	}
	return nil
}
