package capture

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"sync"

	"gorm.io/gorm"

	"github.com/fastapi-easy/easy-go/internal/handoff"
)

// pool wraps the connection pool of a watched *gorm.DB so that every
// transaction GORM begins on it, explicitly or by default, is a txConn that
// holds the changes of its writes until it commits.
type pool struct {
	c     *Capture
	inner gorm.ConnPool // *sql.DB, or a *sql.Conn inside db.Connection
}

// Interfaces GORM looks for: pool must be a ConnPoolBeginner and never a
// TxBeginner (whose BeginTx would have to return a bare *sql.Tx), and txConn
// must be a gorm.Tx so that PreparedStmtDB accepts it.
var (
	_ gorm.ConnPool         = (*pool)(nil)
	_ gorm.ConnPoolBeginner = (*pool)(nil)
	_ gorm.GetDBConnector   = (*pool)(nil)
	_ gorm.Tx               = (*txConn)(nil)
	_ gorm.GetDBConnector   = (*txConn)(nil)
)

// wrapPool puts a pool around db's connection pool. With PrepareStmt the
// pool goes under GORM's PreparedStmtDB, which then begins its transactions
// on it.
func (c *Capture) wrapPool(db *gorm.DB) error {
	switch cp := db.ConnPool.(type) {
	case *gorm.PreparedStmtDB:
		if !isBeginner(cp.ConnPool) {
			return fmt.Errorf("capture: watch: connection pool %T cannot begin transactions", cp.ConnPool)
		}
		cp.ConnPool = &pool{c: c, inner: cp.ConnPool}
	default:
		if !isBeginner(cp) {
			return fmt.Errorf("capture: watch: connection pool %T cannot begin transactions", cp)
		}
		p := &pool{c: c, inner: cp}
		if db.Statement.ConnPool == db.ConnPool {
			db.Statement.ConnPool = p
		}
		db.ConnPool = p
	}
	return nil
}

func isBeginner(cp gorm.ConnPool) bool {
	switch cp.(type) {
	case gorm.TxBeginner, gorm.ConnPoolBeginner:
		return true
	}
	return false
}

func (p *pool) PrepareContext(ctx context.Context, query string) (*sql.Stmt, error) {
	return p.inner.PrepareContext(ctx, query)
}

func (p *pool) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	return p.inner.ExecContext(ctx, query, args...)
}

func (p *pool) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	return p.inner.QueryContext(ctx, query, args...)
}

func (p *pool) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	return p.inner.QueryRowContext(ctx, query, args...)
}

// BeginTx begins a transaction on the inner pool and wraps it.
func (p *pool) BeginTx(ctx context.Context, opts *sql.TxOptions) (gorm.ConnPool, error) {
	t := &txConn{pool: p, ctx: ctx}
	// A lock the transaction's driver releases (the SQLite gate) hands
	// the CPU over when Commit has released the commit lock too.
	ctx = handoff.Defer(ctx, &t.turn)
	switch b := p.inner.(type) {
	case gorm.TxBeginner:
		stx, err := b.BeginTx(ctx, opts)
		if err != nil {
			return nil, err
		}
		t.tx = stx
	case gorm.ConnPoolBeginner:
		cp, err := b.BeginTx(ctx, opts)
		if err != nil {
			return nil, err
		}
		tx, ok := cp.(gorm.Tx)
		if !ok {
			return nil, gorm.ErrInvalidTransaction
		}
		t.tx = tx
	default:
		return nil, gorm.ErrInvalidTransaction
	}
	return t, nil
}

// GetDBConn returns the *sql.DB underneath, for gorm.DB.DB.
func (p *pool) GetDBConn() (*sql.DB, error) {
	switch cp := p.inner.(type) {
	case *sql.DB:
		return cp, nil
	case gorm.GetDBConnector:
		return cp.GetDBConn()
	}
	return nil, gorm.ErrInvalidDB
}

// txConn is a transaction begun through a pool. Writes to watched models
// append their changes to it; Commit hands them to the sink, Rollback drops
// them, and ROLLBACK TO SAVEPOINT drops those made since the savepoint.
type txConn struct {
	pool *pool
	tx   gorm.Tx
	ctx  context.Context // the one it was begun with, for the outbox's statements
	turn handoff.Turn    // see BeginTx

	// owner is the statement whose callbacks began this transaction because
	// GORM's default transaction was off; restore is its pool before that.
	owner   *gorm.Statement
	restore gorm.ConnPool
	cancel  context.CancelFunc

	mu        sync.Mutex
	pending   []Change
	marks     []mark
	exclusive bool // begun by Exclusive, which holds the commit lock already
}

// mark is a savepoint: its name and how many changes were pending when it
// was set.
type mark struct {
	name string
	n    int
}

// txOf returns the txConn underneath a statement's pool, or nil when the
// statement is not in a captured transaction.
func txOf(cp gorm.ConnPool) *txConn {
	switch t := cp.(type) {
	case *txConn:
		return t
	case *gorm.PreparedStmtTX:
		tc, _ := t.Tx.(*txConn)
		return tc
	case *stmtConn:
		return txOf(t.ConnPool)
	}
	return nil
}

func (t *txConn) add(changes []Change) {
	t.mu.Lock()
	t.pending = append(t.pending, changes...)
	t.mu.Unlock()
}

func (t *txConn) setExclusive() {
	t.mu.Lock()
	t.exclusive = true
	t.mu.Unlock()
}

// take empties the transaction's pending changes and returns them.
func (t *txConn) take() ([]Change, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	changes, excl := t.pending, t.exclusive
	t.pending, t.marks = nil, nil
	return changes, excl
}

// Commit commits and, if the commit succeeded, hands the transaction's
// changes to the sink. The commit lock is held across both, so the sink sees
// commits in the order the database made them.
func (t *txConn) Commit() error {
	changes, excl := t.take()
	if !excl { // Exclusive yields when it lets the commit lock go
		defer t.turn.Yield()
	}
	if len(changes) == 0 {
		return t.tx.Commit()
	}
	c := t.pool.c
	if !excl {
		c.sem <- struct{}{}
		defer func() { <-c.sem }()
	}
	if err := c.commitWith(t.ctx, t.tx, changes); err != nil {
		return err
	}
	c.deliver(changes)
	return nil
}

// Rollback rolls back and drops the pending changes.
func (t *txConn) Rollback() error {
	if _, excl := t.take(); !excl {
		defer t.turn.Yield()
	}
	return t.tx.Rollback()
}

func (t *txConn) PrepareContext(ctx context.Context, query string) (*sql.Stmt, error) {
	return t.tx.PrepareContext(ctx, query)
}

// ExecContext executes a statement in the transaction. Savepoint statements
// are seen here, whether GORM issued them (SavePoint, RollbackTo, a nested
// Transaction) or the caller did with Exec, and move the pending list with
// them once the database has accepted them.
func (t *txConn) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	res, err := t.tx.ExecContext(ctx, query, args...)
	if err == nil {
		if kind, name := parseTxControl(query); kind != txNone {
			t.control(kind, name)
		}
	}
	return res, err
}

func (t *txConn) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	return t.tx.QueryContext(ctx, query, args...)
}

func (t *txConn) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	return t.tx.QueryRowContext(ctx, query, args...)
}

func (t *txConn) StmtContext(ctx context.Context, stmt *sql.Stmt) *sql.Stmt {
	return t.tx.StmtContext(ctx, stmt)
}

// GetDBConn returns the *sql.DB underneath, for gorm.DB.DB.
func (t *txConn) GetDBConn() (*sql.DB, error) {
	return t.pool.GetDBConn()
}

func (t *txConn) control(kind txControl, name string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	switch kind {
	case txSavepoint:
		t.marks = append(t.marks, mark{name: name, n: len(t.pending)})
	case txRollbackTo:
		// The savepoint survives; those set after it do not.
		if i := t.findMark(name); i >= 0 {
			clear(t.pending[t.marks[i].n:])
			t.pending = t.pending[:t.marks[i].n]
			t.marks = t.marks[:i+1]
		}
	case txRelease:
		if i := t.findMark(name); i >= 0 {
			t.marks = t.marks[:i]
		}
	case txRollback:
		t.pending, t.marks = nil, nil
	}
}

// findMark returns the newest savepoint of that name, as the database
// resolves a name used twice.
func (t *txConn) findMark(name string) int {
	for i := len(t.marks) - 1; i >= 0; i-- {
		if strings.EqualFold(t.marks[i].name, name) {
			return i
		}
	}
	return -1
}

type txControl int

const (
	txNone txControl = iota
	txSavepoint
	txRollbackTo
	txRelease
	txRollback
)

// parseTxControl recognises SAVEPOINT, ROLLBACK [TRANSACTION|WORK] TO
// [SAVEPOINT] name, RELEASE [SAVEPOINT] name and a bare ROLLBACK, in the
// forms PostgreSQL and SQLite accept. Anything else is txNone; the first
// byte rules out almost every other statement.
func parseTxControl(q string) (txControl, string) {
	q = strings.TrimSpace(q)
	if q == "" {
		return txNone, ""
	}
	switch q[0] {
	case 's', 'S', 'r', 'R':
	default:
		return txNone, ""
	}
	f := strings.Fields(strings.TrimSuffix(q, ";"))
	word := func(i int, w string) bool { return i < len(f) && strings.EqualFold(f[i], w) }
	switch {
	case word(0, "SAVEPOINT") && len(f) == 2:
		return txSavepoint, unquote(f[1])
	case word(0, "RELEASE"):
		i := 1
		if word(i, "SAVEPOINT") {
			i++
		}
		if len(f) == i+1 {
			return txRelease, unquote(f[i])
		}
	case word(0, "ROLLBACK"):
		i := 1
		if word(i, "TRANSACTION") || word(i, "WORK") {
			i++
		}
		if len(f) == i {
			return txRollback, ""
		}
		if !word(i, "TO") {
			return txNone, ""
		}
		i++
		if word(i, "SAVEPOINT") {
			i++
		}
		if len(f) == i+1 {
			return txRollbackTo, unquote(f[i])
		}
	}
	return txNone, ""
}

func unquote(name string) string {
	if len(name) >= 2 {
		switch name[0] {
		case '"', '`', '[':
			return name[1 : len(name)-1]
		}
	}
	return name
}
