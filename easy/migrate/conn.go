package migrate

import (
	"context"
	"database/sql/driver"
	"errors"
	"strconv"
)

// pinned is a connector that always hands out one connection: the one
// the lock is held on. goose and GORM take a *sql.DB; given one made
// with sql.OpenDB(pinned), everything they do runs on that connection,
// inside the lock, and needs no second connection from the App's pool
// (which may have room for only one).
//
// On SQLite the lock is a transaction (BEGIN IMMEDIATE holds the write
// lock until it ends), so a transaction begun inside it is a savepoint:
// each migration still commits or rolls back on its own.
type pinned struct {
	conn    driver.Conn
	inTx    bool // a transaction of the lock's is open: BeginTx makes savepoints
	nextSP  int
	session *pinnedConn
}

func newPinned(conn driver.Conn) *pinned {
	p := &pinned{conn: conn}
	p.session = &pinnedConn{p: p}
	return p
}

func (p *pinned) Connect(context.Context) (driver.Conn, error) { return p.session, nil }
func (p *pinned) Driver() driver.Driver                        { return pinnedDriver{} }

type pinnedDriver struct{}

func (pinnedDriver) Open(string) (driver.Conn, error) {
	return nil, errors.New("migrate: a pinned connection is opened by its connector")
}

// pinnedConn passes everything to the pinned connection but its Close:
// the connection belongs to the App's pool, which gets it back when the
// lock is released.
type pinnedConn struct{ p *pinned }

var (
	_ driver.ConnBeginTx        = (*pinnedConn)(nil)
	_ driver.ConnPrepareContext = (*pinnedConn)(nil)
	_ driver.ExecerContext      = (*pinnedConn)(nil)
	_ driver.QueryerContext     = (*pinnedConn)(nil)
	_ driver.NamedValueChecker  = (*pinnedConn)(nil)
	_ driver.Pinger             = (*pinnedConn)(nil)
	_ driver.SessionResetter    = (*pinnedConn)(nil)
	_ driver.Validator          = (*pinnedConn)(nil)
	_ driver.Tx                 = savepoint{}
	_ driver.Connector          = (*pinned)(nil)
)

func (c *pinnedConn) Prepare(query string) (driver.Stmt, error) { return c.p.conn.Prepare(query) }

func (c *pinnedConn) PrepareContext(ctx context.Context, query string) (driver.Stmt, error) {
	if pc, ok := c.p.conn.(driver.ConnPrepareContext); ok {
		return pc.PrepareContext(ctx, query)
	}
	return c.p.conn.Prepare(query)
}

func (c *pinnedConn) Close() error { return nil }

func (c *pinnedConn) Begin() (driver.Tx, error) {
	return c.BeginTx(context.Background(), driver.TxOptions{})
}

func (c *pinnedConn) BeginTx(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	if c.p.inTx {
		c.p.nextSP++
		name := "easy_migrate_" + strconv.Itoa(c.p.nextSP)
		if err := c.p.exec(ctx, "SAVEPOINT "+name); err != nil {
			return nil, err
		}
		return savepoint{p: c.p, ctx: ctx, name: name}, nil
	}
	if b, ok := c.p.conn.(driver.ConnBeginTx); ok {
		return b.BeginTx(ctx, opts)
	}
	//lint:ignore SA1019 a driver without BeginTx has only Begin
	return c.p.conn.Begin()
}

func (c *pinnedConn) ExecContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	if e, ok := c.p.conn.(driver.ExecerContext); ok {
		return e.ExecContext(ctx, query, args)
	}
	return nil, driver.ErrSkip
}

func (c *pinnedConn) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	if q, ok := c.p.conn.(driver.QueryerContext); ok {
		return q.QueryContext(ctx, query, args)
	}
	return nil, driver.ErrSkip
}

func (c *pinnedConn) CheckNamedValue(v *driver.NamedValue) error {
	if nc, ok := c.p.conn.(driver.NamedValueChecker); ok {
		return nc.CheckNamedValue(v)
	}
	return driver.ErrSkip
}

func (c *pinnedConn) Ping(ctx context.Context) error {
	if pg, ok := c.p.conn.(driver.Pinger); ok {
		return pg.Ping(ctx)
	}
	return nil
}

func (c *pinnedConn) ResetSession(context.Context) error { return nil }
func (c *pinnedConn) IsValid() bool                      { return true }

// exec runs a statement without arguments on the pinned connection.
func (p *pinned) exec(ctx context.Context, query string) error {
	e, ok := p.conn.(driver.ExecerContext)
	if !ok {
		return errors.New("migrate: the database driver cannot execute statements directly")
	}
	_, err := e.ExecContext(ctx, query, nil)
	return err
}

// savepoint is a transaction begun inside the lock's own.
type savepoint struct {
	p    *pinned
	ctx  context.Context
	name string
}

func (s savepoint) Commit() error {
	return s.p.exec(context.WithoutCancel(s.ctx), "RELEASE SAVEPOINT "+s.name)
}

func (s savepoint) Rollback() error {
	ctx := context.WithoutCancel(s.ctx)
	return errors.Join(s.p.exec(ctx, "ROLLBACK TO SAVEPOINT "+s.name), s.p.exec(ctx, "RELEASE SAVEPOINT "+s.name))
}
