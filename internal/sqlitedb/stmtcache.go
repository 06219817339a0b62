package sqlitedb

import (
	"container/list"
	"context"
	"database/sql/driver"
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
}

type cachedStmt struct {
	query string
	s     *sqlite3.SQLiteStmt
	n     int  // its parameters
	rows  bool // it may return rows (returnsRows): never run as an exec
	write bool // it writes rows (writes): outside a transaction it passes the gate
	busy  bool // rows of it are open
	gone  bool // evicted while busy: finalized when its rows close
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
	rows := returnsRows(query)
	if !keeping(query) || exec && rows {
		return nil
	}
	s, err := g.SQLiteConn.PrepareContext(ctx, query)
	if err != nil {
		return nil // the driver's way reports it
	}
	st := &cachedStmt{query: query, s: s.(*sqlite3.SQLiteStmt), n: s.NumInput(), rows: rows, write: writes(query)}
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

// keeping says whether query may be kept prepared: one statement (no ';'
// but at its end) that reads or writes rows; not a PRAGMA (table_info is
// answered when it is prepared). SQLite prepares a kept statement again
// by itself when the schema has changed (on any connection, or the
// connection's temporary one, or by a change taken back), in the
// statement's first step, and the driver takes that step before it reads
// a query's columns: a kept SELECT * or RETURNING * has the columns of
// the schema of now.
func keeping(query string) bool {
	if strings.IndexByte(strings.TrimRight(query, "; \t\r\n"), ';') >= 0 {
		return false
	}
	return verb(query) == "SELECT" || writes(query)
}

// writes reports whether query may write rows: an INSERT, UPDATE, DELETE
// or REPLACE, or a WITH that has INSERT, UPDATE, DELETE or INTO as a word
// (a write after common table expressions; INTO, not REPLACE, which is
// also a function). A read whose text has one of them in a string is
// taken for a write: outside a transaction it holds the gate until its
// rows close, as a write does.
func writes(query string) bool {
	switch verb(query) {
	case "INSERT", "UPDATE", "DELETE", "REPLACE":
		return true
	case "WITH":
		return hasWord(query, "INSERT") || hasWord(query, "UPDATE") || hasWord(query, "DELETE") || hasWord(query, "INTO")
	}
	return false
}

// hasWord reports whether query has kw (in upper case), in any case, as a
// word of its own: not a part of a longer name.
func hasWord(query, kw string) bool {
	for i := 0; i+len(kw) <= len(query); i++ {
		if query[i]&^0x20 == kw[0] && strings.EqualFold(query[i:i+len(kw)], kw) &&
			(i == 0 || !nameByte(query[i-1])) && (i+len(kw) == len(query) || !nameByte(query[i+len(kw)])) {
			return true
		}
	}
	return false
}

// nameByte reports whether c may be a byte of an SQL name.
func nameByte(c byte) bool {
	return c == '_' || c == '$' || 'a' <= c|0x20 && c|0x20 <= 'z' || '0' <= c && c <= '9' || c >= 0x80
}

// verb is the first word of query, in upper case, after any comments.
func verb(query string) string {
	const space = " \t\r\n\f("
	v := strings.TrimLeft(query, space)
	for {
		var rest string
		var ok bool
		switch {
		case strings.HasPrefix(v, "--"):
			_, rest, ok = strings.Cut(v, "\n")
		case strings.HasPrefix(v, "/*"):
			_, rest, ok = strings.Cut(v, "*/")
		default:
			i := 0
			for i < len(v) && nameByte(v[i]) {
				i++
			}
			return strings.ToUpper(v[:i])
		}
		if !ok {
			return ""
		}
		v = strings.TrimLeft(rest, space)
	}
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

// QueryContext runs query with a statement the connection keeps prepared
// when it can (see stmtCache and keeping). A write outside a transaction
// (GORM's Create with SkipDefaultTransaction is an INSERT ... RETURNING)
// passes the gate, as ExecContext's does, and holds it until its rows
// close: SQLite's write lock is held as long.
func (g *gatedConn) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	st := g.cached(ctx, query, args, false)
	var release func()
	if st != nil && st.write || st == nil && writes(query) { // a kept statement's SQL is not looked at again
		var err error
		if release, err = g.gate(ctx); err != nil {
			return nil, err
		}
	}
	if st == nil {
		r, err := g.SQLiteConn.QueryContext(ctx, query, args)
		return held(r, err, nil, release)
	}
	r, err := st.s.QueryContext(ctx, args)
	if err == nil {
		st.busy = true
	}
	return held(r, err, st, release)
}

// exec runs query with a statement the connection keeps prepared when it
// can (see stmtCache).
func (g *gatedConn) exec(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	if st := g.cached(ctx, query, args, true); st != nil {
		return st.s.ExecContext(ctx, args)
	}
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

// returnsRows reports whether query may return rows: a SELECT, a WITH, or
// a write with RETURNING.
func returnsRows(query string) bool {
	v := verb(query)
	return v == "SELECT" || v == "WITH" || hasWord(query, "RETURNING")
}

// Close finalizes the connection's statements and closes it.
func (g *gatedConn) Close() error {
	g.stmts.close()
	return g.SQLiteConn.Close()
}

// connRows are the rows of a query: of a kept statement, which is free
// again when they close, and of a write outside a transaction, which
// holds the gate until then.
type connRows struct {
	*sqlite3.SQLiteRows
	st      *cachedStmt // nil: a statement of the driver's
	release func()      // nil: the rows hold no gate
}

// held returns the rows r of a query, which hold st until they close, and
// the gate when release is not nil; when the query failed, it lets the
// gate go and returns err.
func held(r driver.Rows, err error, st *cachedStmt, release func()) (driver.Rows, error) {
	if err != nil {
		if release != nil {
			release()
		}
		return nil, err
	}
	if st == nil && release == nil {
		return r, nil
	}
	return &connRows{SQLiteRows: r.(*sqlite3.SQLiteRows), st: st, release: release}, nil
}

func (r *connRows) Close() error {
	err := r.SQLiteRows.Close()
	if r.st != nil {
		r.st.busy = false
		if r.st.gone {
			r.st.s.Close()
		}
	}
	if r.release != nil {
		r.release()
		r.release = nil
	}
	return err
}
