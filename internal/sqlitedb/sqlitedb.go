// Package sqlitedb opens the embedded SQLite database the way a web server
// needs it: many readers at once, and writers let in one at a time in the
// order they came.
//
// SQLite allows one writer. When many connections try to write at once,
// the ones that lose wait in SQLite's busy handler, which sleeps and
// retries with growing pauses: under 64 concurrent writers the slowest
// requests wait close to a second. Here every write transaction first
// takes a gate, a one-slot queue in Go, so writers wait in line and each
// gets the lock as soon as the one before it commits. Readers never touch
// the gate; with WAL they do not block the writer nor it them.
package sqlitedb

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mattn/go-sqlite3"

	"github.com/fastapi-easy/easy-go/easy/problem"
	"github.com/fastapi-easy/easy-go/internal/handoff"
)

// Options say how to open the database.
type Options struct {
	// BusyTimeout bounds how long a writer waits for the gate and for
	// SQLite's lock; past it the write fails with problem.ErrUnavailable.
	BusyTimeout time.Duration
	// MaxConns bounds the open connections.
	MaxConns int
}

// Open opens the SQLite file at path in WAL mode, with foreign keys on
// and write transactions that take the write lock when they begin.
func Open(path string, opt Options) *sql.DB {
	db, _ := open(path, opt)
	return db
}

func open(path string, opt Options) (*sql.DB, *connector) {
	if opt.BusyTimeout == 0 {
		opt.BusyTimeout = 5 * time.Second
	}
	if opt.MaxConns == 0 {
		opt.MaxConns = 32
	}
	dsn := fmt.Sprintf("file:%s?_journal_mode=WAL&_busy_timeout=%d&_foreign_keys=on&_synchronous=NORMAL&_txlock=immediate",
		path, opt.BusyTimeout.Milliseconds())
	walSetUp := func(conn *sqlite3.SQLiteConn) error {
		_, err := conn.Exec(walPragmas, nil)
		return err
	}
	c := &connector{dsn: dsn, drv: &sqlite3.SQLiteDriver{ConnectHook: walSetUp},
		gate: make(chan struct{}, 1), wait: opt.BusyTimeout,
		kick: make(chan struct{}, 1), stopped: make(chan struct{})}
	// The checkpointer belongs to the connector, whose Close (DB.Close)
	// stops it.
	ctx, stop := context.WithCancel(context.Background())
	c.stop = stop
	go c.checkpointer(ctx)
	db := sql.OpenDB(c)
	db.SetMaxOpenConns(opt.MaxConns)
	db.SetMaxIdleConns(opt.MaxConns)
	return db, c
}

type connector struct {
	dsn     string
	drv     *sqlite3.SQLiteDriver
	gate    chan struct{} // holds a token while a write transaction is open
	waiting atomic.Int32  // writers waiting for the gate
	wait    time.Duration

	// The checkpoints (checkpoint.go).
	writes   atomic.Int64  // write transactions ended
	restarts atomic.Int64  // RESTART checkpoints tried
	kick     chan struct{} // capacity 1: "checkpoint now"
	stop     func()        // stops the checkpointer
	stopped  chan struct{} // closed when it has
}

// Connect opens a connection. Opening sets WAL mode, which on a new file
// takes a lock that SQLite refuses at once, without its busy handler, to
// a connection of another pool (another instance of the App starting at
// the same moment): that is tried again for as long as the busy timeout.
func (c *connector) Connect(ctx context.Context) (driver.Conn, error) {
	deadline := time.Now().Add(c.wait)
	for delay := time.Millisecond; ; delay = min(2*delay, 50*time.Millisecond) {
		conn, err := c.drv.Open(c.dsn)
		if err == nil {
			return &gatedConn{SQLiteConn: conn.(*sqlite3.SQLiteConn), c: c}, nil
		}
		var se sqlite3.Error
		if !errors.As(err, &se) || se.Code != sqlite3.ErrBusy && se.Code != sqlite3.ErrLocked || time.Now().After(deadline) {
			return nil, err
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(delay):
		}
	}
}

func (c *connector) Driver() driver.Driver { return c.drv }

// acquire waits for the gate, at most the busy timeout.
func (c *connector) acquire(ctx context.Context) error {
	select {
	case c.gate <- struct{}{}:
		return nil
	default:
	}
	c.waiting.Add(1)
	defer c.waiting.Add(-1)
	t := time.NewTimer(c.wait)
	defer t.Stop()
	select {
	case c.gate <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return fmt.Errorf("sqlite: waited %s for the write lock: %w", c.wait, problem.ErrUnavailable)
	}
}

// release lets the next writer in and hands it the CPU (see package
// handoff): the gate is SQLite's one writer at a time, and a writer that
// waits for a CPU while the gate is free costs every writer behind it.
// It counts the write for the checkpointer.
func (c *connector) release(ctx context.Context) {
	<-c.gate
	c.wrote()
	handoff.Released(ctx, c.waiting.Load() > 0)
}

// gatedConn is a SQLite connection whose transactions pass the gate.
type gatedConn struct {
	*sqlite3.SQLiteConn
	c     *connector
	stmts stmtCache
}

func (g *gatedConn) BeginTx(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	if err := g.c.acquire(ctx); err != nil {
		return nil, err
	}
	tx, err := g.SQLiteConn.BeginTx(ctx, opts)
	if err != nil {
		g.c.release(ctx)
		return nil, err
	}
	return &gatedTx{Tx: tx, g: g, ctx: ctx}, nil
}

func (g *gatedConn) Begin() (driver.Tx, error) {
	return g.BeginTx(context.Background(), driver.TxOptions{})
}

// gate takes the gate for a statement outside a transaction (a write made
// with GORM's SkipDefaultTransaction, say) and returns what lets it go;
// nil in a transaction, which holds the gate already.
func (g *gatedConn) gate(ctx context.Context) (release func(), err error) {
	if !g.AutoCommit() {
		return nil, nil
	}
	if err := g.c.acquire(ctx); err != nil {
		return nil, err
	}
	return func() { g.c.release(ctx) }, nil
}

// ExecContext lets a statement outside a transaction through the gate.
func (g *gatedConn) ExecContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	release, err := g.gate(ctx)
	if err != nil {
		return nil, err
	}
	if release != nil {
		defer release()
	}
	return g.exec(ctx, query, args)
}

// PrepareContext prepares a statement for database/sql, which runs it
// itself (GORM's PrepareStmt): one that writes rows passes the gate as
// ExecContext's and QueryContext's writes do.
func (g *gatedConn) PrepareContext(ctx context.Context, query string) (driver.Stmt, error) {
	s, err := g.SQLiteConn.PrepareContext(ctx, query)
	if err != nil || !writes(query) {
		return s, err
	}
	return &preparedWrite{SQLiteStmt: s.(*sqlite3.SQLiteStmt), g: g}, nil
}

func (g *gatedConn) Prepare(query string) (driver.Stmt, error) {
	return g.PrepareContext(context.Background(), query)
}

// preparedWrite is a statement that writes rows, prepared for database/sql.
type preparedWrite struct {
	*sqlite3.SQLiteStmt
	g *gatedConn
}

func (s *preparedWrite) ExecContext(ctx context.Context, args []driver.NamedValue) (driver.Result, error) {
	release, err := s.g.gate(ctx)
	if err != nil {
		return nil, err
	}
	if release != nil {
		defer release()
	}
	return s.SQLiteStmt.ExecContext(ctx, args)
}

func (s *preparedWrite) QueryContext(ctx context.Context, args []driver.NamedValue) (driver.Rows, error) {
	release, err := s.g.gate(ctx)
	if err != nil {
		return nil, err
	}
	r, err := s.SQLiteStmt.QueryContext(ctx, args)
	return held(r, err, nil, release)
}

func (s *preparedWrite) Exec(args []driver.Value) (driver.Result, error) {
	return s.ExecContext(context.Background(), named(args))
}

func (s *preparedWrite) Query(args []driver.Value) (driver.Rows, error) {
	return s.QueryContext(context.Background(), named(args))
}

type gatedTx struct {
	driver.Tx
	g    *gatedConn
	ctx  context.Context // BeginTx's, which may defer the handoff
	once sync.Once
}

// Commit and Rollback end the transaction and let the gate go.
func (t *gatedTx) Commit() error {
	defer t.release()
	return t.Tx.Commit()
}

func (t *gatedTx) Rollback() error {
	defer t.release()
	return t.Tx.Rollback()
}

func (t *gatedTx) release() { t.once.Do(func() { t.g.c.release(t.ctx) }) }
