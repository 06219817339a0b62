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
// microseconds of a GORM Create. A connection keeps its last stmtsPerConn
// statements prepared instead, by their SQL, as pgx does on PostgreSQL.
// A statement is kept only when keepable says so (and, for an exec, when
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
	version *sqlite3.SQLiteStmt      // PRAGMA schema_version, prepared at its first use
}

type cachedStmt struct {
	query string
	s     *sqlite3.SQLiteStmt
	n     int  // its parameters
	busy  bool // rows of it are open
	gone  bool // evicted while busy: finalized when its rows close

	// A checked statement's columns come from the schema (see keeping):
	// version is the schema's when it was prepared.
	checked bool
	version int64
}

// cached returns the prepared statement for query and args, preparing it
// the first time, or nil when the call must go the driver's way. The
// connection is the caller's alone (database/sql's driverConn lock).
func (g *gatedConn) cached(ctx context.Context, query string, args []driver.NamedValue) *cachedStmt {
	if len(args) > stmtParams {
		return nil
	}
	k := keeping(query)
	if k == keepNot {
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
		if st.busy || st.n != len(args) {
			return nil
		}
		c.lru.MoveToFront(el)
		return st
	}
	st := &cachedStmt{query: query, checked: k == keepChecked}
	if st.checked {
		// Read before preparing: a change in between makes the statement
		// newer than its version, and the first use prepares it again.
		v, err := g.schemaVersion(ctx)
		if err != nil {
			return nil
		}
		st.version = v
	}
	s, err := g.SQLiteConn.PrepareContext(ctx, query)
	if err != nil {
		return nil // the driver's way reports it
	}
	st.s, st.n = s.(*sqlite3.SQLiteStmt), s.NumInput()
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
// was prepared under (QueryContext). A write whose RETURNING has a * is
// not kept, nor a PRAGMA (table_info is answered when it is prepared).
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
	if c.version != nil {
		c.version.Close()
		c.version = nil
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

// schemaVersion reads PRAGMA schema_version, which SQLite reads from the
// database when the statement runs, in the connection's read transaction.
func (g *gatedConn) schemaVersion(ctx context.Context) (int64, error) {
	c := &g.stmts
	if c.version == nil {
		s, err := g.SQLiteConn.PrepareContext(ctx, "PRAGMA schema_version")
		if err != nil {
			return 0, err
		}
		c.version = s.(*sqlite3.SQLiteStmt)
	}
	rows, err := c.version.QueryContext(context.Background(), nil)
	if err != nil {
		return 0, err
	}
	defer rows.Close()
	v := make([]driver.Value, 1)
	if err := rows.Next(v); err != nil {
		return 0, err
	}
	n, _ := v[0].(int64)
	return n, nil
}

// QueryContext runs query with a statement the connection keeps prepared
// when it can (see stmtCache and keeping).
func (g *gatedConn) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	st := g.cached(ctx, query, args)
	if st == nil {
		return g.SQLiteConn.QueryContext(ctx, query, args)
	}
	rows, err := st.s.QueryContext(ctx, args)
	if err != nil {
		return nil, err
	}
	r := &cachedRows{SQLiteRows: rows.(*sqlite3.SQLiteRows), st: st}
	st.busy = true
	if st.checked && !g.current(ctx, r) {
		r.Close()
		g.stmts.evict(st)
		return g.SQLiteConn.QueryContext(ctx, query, args)
	}
	return r, nil
}

// current reads the first row of r, whose statement is checked, and
// reports whether the schema is still the one it was prepared under: the
// columns r reports are then the ones it reads. The first step opened the
// read transaction the version is read in.
func (g *gatedConn) current(ctx context.Context, r *cachedRows) bool {
	r.first = make([]driver.Value, len(r.SQLiteRows.Columns()))
	r.firstErr = r.SQLiteRows.Next(r.first)
	r.peeked = true
	if r.firstErr != nil && r.firstErr != io.EOF {
		return false // the driver's way gives the error again, or succeeds
	}
	v, err := g.schemaVersion(ctx)
	return err == nil && v == r.st.version
}

// exec runs query with a statement the connection keeps prepared when it
// can (see stmtCache).
func (g *gatedConn) exec(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	if !returnsRows(query) {
		if st := g.cached(ctx, query, args); st != nil {
			return st.s.ExecContext(ctx, args)
		}
	}
	return g.SQLiteConn.ExecContext(ctx, query, args)
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

	peeked   bool
	first    []driver.Value
	firstErr error
}

func (r *cachedRows) Next(dest []driver.Value) error {
	if !r.peeked {
		return r.SQLiteRows.Next(dest)
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
