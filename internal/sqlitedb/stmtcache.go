package sqlitedb

import (
	"container/list"
	"context"
	"database/sql/driver"
	"io"
	"strings"

	"github.com/mattn/go-sqlite3"
)

// stmtsPerConn bounds the statements a connection keeps prepared, and
// stmtParams the parameters of one it keeps.
const (
	stmtsPerConn = 32
	stmtParams   = 64
)

// The driver prepares, runs and finalizes a statement for every query and
// exec that database/sql does not prepare itself, which is all of GORM's
// unless PrepareStmt is on: parsing and planning the SQL each time, a few
// microseconds of a GORM First or Create. A connection keeps its last stmtsPerConn
// statements prepared instead, by their SQL, as pgx does on PostgreSQL.
// A statement is kept only when keeping says so (and, for an exec, when
// it returns no rows: the driver's exec steps once and leaves a statement
// that returns rows running), with at most stmtParams parameters (a
// multi-row INSERT of a size seen once would push out the statements used
// all the time), and used only when the call gives exactly its
// parameters, none by name (a prepared statement keeps the bindings of
// its last run), and no rows of its last query are still open; else the
// call goes the driver's way.
type stmtCache struct {
	byQuery map[string]*list.Element // of *cachedStmt
	lru     list.List                // most recently used first
	version [2]*sqlite3.SQLiteStmt   // versionSQL, prepared at their first use
}

type cachedStmt struct {
	query string
	s     *sqlite3.SQLiteStmt
	n     int  // its parameters
	rows  bool // it may return rows (returnsRows): never run as an exec
	busy  bool // rows of it are open
	gone  bool // evicted while busy: finalized when its rows close

	// A checked statement's columns come from the schema (see keeping):
	// version is the schema's the statement was last seen to run under,
	// once known.
	checked bool
	known   bool
	version schema
}

// cached returns the prepared statement for query and args, preparing it
// the first time, or nil when the call must go the driver's way; for an
// exec (exec true) also when the statement returns rows. A statement kept
// already is found before query is looked at: keeping said yes to it when
// it was prepared. The connection is the caller's alone (database/sql's
// driverConn lock).
func (g *gatedConn) cached(ctx context.Context, query string, args []driver.NamedValue, exec bool) *cachedStmt {
	if len(args) > stmtParams {
		return nil
	}
	for _, a := range args {
		if a.Name != "" {
			return nil
		}
	}
	c := &g.stmts
	if el, ok := c.byQuery[query]; ok {
		st := el.Value.(*cachedStmt)
		if st.busy || st.n != len(args) || exec && st.rows {
			return nil
		}
		c.lru.MoveToFront(el)
		return st
	}
	k := keeping(query)
	rows := returnsRows(query)
	if k == keepNot || exec && rows {
		return nil
	}
	s, err := g.SQLiteConn.PrepareContext(ctx, query)
	if err != nil {
		return nil // the driver's way reports it
	}
	st := &cachedStmt{query: query, s: s.(*sqlite3.SQLiteStmt), n: s.NumInput(), rows: rows, checked: k == keepChecked}
	if c.byQuery == nil {
		c.byQuery = make(map[string]*list.Element)
	}
	c.byQuery[query] = c.lru.PushFront(st)
	if c.lru.Len() > stmtsPerConn {
		c.evict(c.lru.Back().Value.(*cachedStmt))
	}
	if st.n != len(args) {
		return nil
	}
	return st
}

// keep says how a statement may be kept prepared.
type keep int

const (
	keepNot     keep = iota
	keepPlain        // its result columns are spelled out
	keepChecked      // a SELECT whose columns come from the schema (*): checked at each use
)

// keeping says whether query may be kept prepared: one statement (no ';'
// but at its end) that reads or writes rows. SQLite prepares a kept
// statement again by itself when the schema changed (on any connection),
// but only when it runs, and the driver reads a query's columns before
// that: those of a SELECT * could be the old schema's. So a SELECT * is
// checked: its first row is read before its rows are handed out, and the
// schema's version, read in the same read transaction, must be the one it
// last ran under (QueryContext). A write whose RETURNING has a * is not
// kept, nor a PRAGMA (table_info is answered when it is prepared).
func keeping(query string) keep {
	q := strings.TrimRight(query, "; \t\r\n")
	if strings.IndexByte(q, ';') >= 0 {
		return keepNot
	}
	k := keepPlain
	for i := strings.IndexByte(q, '*'); i >= 0; i = strings.IndexByte(q, '*') {
		if i == 0 || q[i-1] != '(' { // count(*) names one column
			k = keepChecked
			break
		}
		q = q[i+1:]
	}
	switch verb(query) {
	case "SELECT":
		return k
	case "INSERT", "UPDATE", "DELETE", "REPLACE":
		if k == keepPlain {
			return k
		}
	}
	return keepNot
}

// verb is the first word of query, in upper case.
func verb(query string) string {
	v, _, _ := strings.Cut(strings.TrimLeft(query, " \t\r\n("), " ")
	return strings.ToUpper(v)
}

// close finalizes the statements, before the connection closes.
func (c *stmtCache) close() {
	for el := c.lru.Front(); el != nil; el = el.Next() {
		if st := el.Value.(*cachedStmt); !st.busy {
			st.s.Close()
		}
	}
	c.byQuery = nil
	c.lru.Init()
	for i, v := range c.version {
		if v != nil {
			v.Close()
			c.version[i] = nil
		}
	}
}

// evict drops st from the cache, finalizing it unless its rows are open.
func (c *stmtCache) evict(st *cachedStmt) {
	if el, ok := c.byQuery[st.query]; ok && el.Value == st {
		c.lru.Remove(el)
		delete(c.byQuery, st.query)
	}
	if st.busy {
		st.gone = true
	} else {
		st.s.Close()
	}
}

// schema is the version of the main database's schema and of the
// temporary one's, where a table of the same name would shadow a main one.
type schema struct{ main, temp int64 }

// versionSQL reads the schema's version (no table-valued form of this
// PRAGMA takes a schema).
var versionSQL = [2]string{"PRAGMA main.schema_version", "PRAGMA temp.schema_version"}

// tempSchema is the version of a connection's temporary schema as the
// connection last read it. That schema is the connection's own: only a
// statement run on it changes it, and a kept statement that succeeds (it
// only reads and writes rows) never does. So the version is known until
// the schema may have changed (see forgetSchema), and schemaVersion reads
// it again only then, saving one of its two PRAGMAs (benchmarks.md).
type tempSchema struct {
	known   bool
	version int64
}

// forgetSchema is called after anything on the connection that may have
// changed its schema or taken a change back: a statement that went the
// driver's way (DDL, SAVEPOINT, ROLLBACK TO), one database/sql prepared,
// a kept statement that failed (SQLite rolls a transaction back by itself
// on some errors), a rollback, a failed commit. The temporary schema's
// version is read again, and each kept checked statement runs twice at
// its next use: a change taken back puts the version back, and the next
// change can bring the same number with other columns.
func (g *gatedConn) forgetSchema() {
	g.temp.known = false
	for el := g.stmts.lru.Front(); el != nil; el = el.Next() {
		el.Value.(*cachedStmt).known = false
	}
}

// schemaVersion reads the schema's version, which SQLite reads from the
// database when the statement runs, in the connection's read transaction;
// the temporary schema's only when the connection may have changed it
// (see tempSchema).
func (g *gatedConn) schemaVersion(ctx context.Context) (schema, error) {
	var v [2]int64
	for i, stmt := range g.stmts.version {
		if i == 1 && g.temp.known {
			v[1] = g.temp.version
			break
		}
		if stmt == nil {
			s, err := g.SQLiteConn.PrepareContext(ctx, versionSQL[i])
			if err != nil {
				return schema{}, err
			}
			stmt = s.(*sqlite3.SQLiteStmt)
			g.stmts.version[i] = stmt
		}
		rows, err := stmt.QueryContext(context.Background(), nil)
		if err != nil {
			return schema{}, err
		}
		dest := make([]driver.Value, 1)
		err = rows.Next(dest)
		rows.Close()
		if err != nil {
			return schema{}, err
		}
		v[i], _ = dest[0].(int64)
		if i == 1 {
			g.temp = tempSchema{known: true, version: v[1]}
		}
	}
	return schema{v[0], v[1]}, nil
}

// QueryContext runs query with a statement the connection keeps prepared
// when it can (see stmtCache and keeping).
func (g *gatedConn) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	st := g.cached(ctx, query, args, false)
	if st == nil {
		g.forgetSchema()
		return g.SQLiteConn.QueryContext(ctx, query, args)
	}
	if !st.checked {
		return g.run(ctx, st, args)
	}
	// The driver reads a query's columns before its first step, and SQLite
	// prepares a statement again for a changed schema (or one this
	// connection had not read yet) only in that step. So the first row is
	// read before the rows are handed out, then the schema's version in
	// the same read transaction: the version the statement last ran under
	// means the columns are right. Else the step has prepared the
	// statement for the schema of now, and a second run reads it with its
	// columns; one more change meanwhile, and the query goes the driver's
	// way.
	for try := 0; ; try++ {
		r, err := g.run(ctx, st, args)
		if err != nil {
			return nil, err
		}
		v, err := r.peek(g, ctx)
		if err == nil && st.known && v == st.version {
			return r, nil
		}
		r.Close()
		if ctx.Err() != nil {
			g.forgetSchema() // SQLite may have stopped it mid-step
			return nil, ctx.Err()
		}
		if err != nil || try == 1 {
			g.stmts.evict(st)
			g.forgetSchema()
			return g.SQLiteConn.QueryContext(ctx, query, args)
		}
		st.version, st.known = v, true
	}
}

// run runs st's query.
func (g *gatedConn) run(ctx context.Context, st *cachedStmt, args []driver.NamedValue) (*cachedRows, error) {
	rows, err := st.s.QueryContext(ctx, args)
	if err != nil {
		g.forgetSchema()
		return nil, err
	}
	st.busy = true
	return &cachedRows{SQLiteRows: rows.(*sqlite3.SQLiteRows), st: st, g: g}, nil
}

// peek reads r's first row, for Next to give first, and then the schema's
// version: in the read transaction of the row, or, when there is none, in
// one of its own (there are no values to be read with wrong columns).
func (r *cachedRows) peek(g *gatedConn, ctx context.Context) (schema, error) {
	r.first = make([]driver.Value, len(r.SQLiteRows.Columns()))
	r.firstErr = r.SQLiteRows.Next(r.first)
	r.peeked = true
	if r.firstErr != nil && r.firstErr != io.EOF {
		return schema{}, r.firstErr
	}
	return g.schemaVersion(ctx)
}

// exec runs query with a statement the connection keeps prepared when it
// can (see stmtCache).
func (g *gatedConn) exec(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	if st := g.cached(ctx, query, args, true); st != nil {
		res, err := st.s.ExecContext(ctx, args)
		if err != nil {
			g.forgetSchema()
		}
		return res, err
	}
	g.forgetSchema()
	return g.SQLiteConn.ExecContext(ctx, query, args)
}

// Exec and Query are ExecContext and QueryContext for a caller without a
// context (database/sql has one; code given the connection by
// sql.Conn.Raw may not): every statement run on the connection passes
// through the gate and the statement cache.
func (g *gatedConn) Exec(query string, args []driver.Value) (driver.Result, error) {
	return g.ExecContext(context.Background(), query, named(args))
}

func (g *gatedConn) Query(query string, args []driver.Value) (driver.Rows, error) {
	return g.QueryContext(context.Background(), query, named(args))
}

// named numbers args from 1, as database/sql does.
func named(args []driver.Value) []driver.NamedValue {
	nv := make([]driver.NamedValue, len(args))
	for i, v := range args {
		nv[i] = driver.NamedValue{Ordinal: i + 1, Value: v}
	}
	return nv
}

// PrepareContext prepares a statement for database/sql, which runs it
// itself: each run may change the schema (see forgetSchema).
func (g *gatedConn) PrepareContext(ctx context.Context, query string) (driver.Stmt, error) {
	s, err := g.SQLiteConn.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	return &preparedStmt{SQLiteStmt: s.(*sqlite3.SQLiteStmt), g: g}, nil
}

func (g *gatedConn) Prepare(query string) (driver.Stmt, error) {
	return g.PrepareContext(context.Background(), query)
}

// preparedStmt is a statement database/sql prepared and runs.
type preparedStmt struct {
	*sqlite3.SQLiteStmt
	g *gatedConn
}

func (s *preparedStmt) ExecContext(ctx context.Context, args []driver.NamedValue) (driver.Result, error) {
	s.g.forgetSchema()
	return s.SQLiteStmt.ExecContext(ctx, args)
}

func (s *preparedStmt) QueryContext(ctx context.Context, args []driver.NamedValue) (driver.Rows, error) {
	s.g.forgetSchema()
	return s.SQLiteStmt.QueryContext(ctx, args)
}

func (s *preparedStmt) Exec(args []driver.Value) (driver.Result, error) {
	s.g.forgetSchema()
	return s.SQLiteStmt.Exec(args)
}

func (s *preparedStmt) Query(args []driver.Value) (driver.Rows, error) {
	s.g.forgetSchema()
	return s.SQLiteStmt.Query(args)
}

// returnsRows reports whether query may return rows: a SELECT, or a write
// with RETURNING.
func returnsRows(query string) bool {
	if verb(query) == "SELECT" {
		return true
	}
	const kw = "RETURNING"
	for i := 0; i+len(kw) <= len(query); i++ {
		if (query[i] == 'R' || query[i] == 'r') && strings.EqualFold(query[i:i+len(kw)], kw) {
			return true
		}
	}
	return false
}

// Close finalizes the connection's statements and closes it.
func (g *gatedConn) Close() error {
	g.stmts.close()
	return g.SQLiteConn.Close()
}

// cachedRows are the rows of a kept statement, which is free again when
// they close. Those of a checked statement hold their first row, read
// before they were handed out.
type cachedRows struct {
	*sqlite3.SQLiteRows
	st *cachedStmt
	g  *gatedConn

	peeked   bool
	first    []driver.Value
	firstErr error
}

func (r *cachedRows) Next(dest []driver.Value) error {
	if !r.peeked {
		err := r.SQLiteRows.Next(dest)
		if err != nil && err != io.EOF {
			r.g.forgetSchema() // see forgetSchema: the write of INSERT ... RETURNING steps here
		}
		return err
	}
	r.peeked = false
	copy(dest, r.first)
	if r.firstErr == io.EOF {
		r.peeked = true // EOF again, as the driver answers
	}
	return r.firstErr
}

func (r *cachedRows) Close() error {
	err := r.SQLiteRows.Close()
	r.st.busy = false
	if r.st.gone {
		r.st.s.Close()
	}
	return err
}
