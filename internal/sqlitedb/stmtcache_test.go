package sqlitedb

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
)

// oneConn opens a database of one connection, so that every call below
// goes to the same statement cache, with a table t of rows 1, 2 and 3.
func oneConn(t *testing.T) *sql.DB {
	t.Helper()
	db := Open(filepath.Join(t.TempDir(), "c.db"), Options{MaxConns: 1})
	t.Cleanup(func() {
		if err := db.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
	})
	if _, err := db.Exec(`CREATE TABLE t (id INTEGER PRIMARY KEY, n INTEGER)`); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`INSERT INTO t (n) VALUES (10), (20), (30)`); err != nil {
		t.Fatal(err)
	}
	return db
}

// kept returns the statements the connection keeps, by SQL.
func kept(t *testing.T, db *sql.DB) map[string]*cachedStmt {
	t.Helper()
	conn, err := db.Conn(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	out := map[string]*cachedStmt{}
	conn.Raw(func(dc any) error {
		for q, el := range dc.(*gatedConn).stmts.byQuery {
			out[q] = el.Value.(*cachedStmt)
		}
		return nil
	})
	return out
}

func sum(t *testing.T, db interface {
	QueryRow(string, ...any) *sql.Row
}, q string, args ...any) (n int64, err error) {
	t.Helper()
	err = db.QueryRow(q, args...).Scan(&n)
	return n, err
}

func TestStatementsAreKeptPrepared(t *testing.T) {
	db := oneConn(t)
	const q = `SELECT n FROM t WHERE id = ?`
	for id, want := range []int64{10, 20, 30} {
		if n, err := sum(t, db, q, id+1); err != nil || n != want {
			t.Fatalf("id %d: %d, %v; want %d", id+1, n, err, want)
		}
	}
	first := kept(t, db)[q]
	if first == nil {
		t.Fatal("the query's statement was not kept")
	}
	sum(t, db, q, 1)
	if kept(t, db)[q] != first {
		t.Error("the query was prepared again")
	}
	// Execs are kept too, and write what they say.
	for i := range 3 {
		if _, err := db.Exec(`UPDATE t SET n = n + ? WHERE id = ?`, 1, i+1); err != nil {
			t.Fatal(err)
		}
	}
	if kept(t, db)[`UPDATE t SET n = n + ? WHERE id = ?`] == nil {
		t.Error("the exec's statement was not kept")
	}
	if n, _ := sum(t, db, `SELECT SUM(n) FROM t`); n != 63 {
		t.Errorf("sum after the updates: %d, want 63", n)
	}
}

// TestKeptStatementsMeanTheSameAsTheDrivers checks the calls a kept
// statement must not change: each gives what the driver gives without
// one.
func TestKeptStatementsMeanTheSameAsTheDrivers(t *testing.T) {
	db := oneConn(t)
	ctx := context.Background()

	// Too few arguments: an error, not the bindings of the last run.
	if n, err := sum(t, db, `SELECT ? + ?`, 1, 2); err != nil || n != 3 {
		t.Fatalf("1 + 2: %d, %v", n, err)
	}
	if n, err := sum(t, db, `SELECT ? + ?`, 5); err == nil {
		t.Errorf("SELECT ? + ? with one argument: %d, want an error", n)
	}

	// Arguments by name.
	if n, err := sum(t, db, `SELECT :a * 2`, sql.Named("a", 21)); err != nil || n != 42 {
		t.Errorf("named: %d, %v; want 42", n, err)
	}

	// A write with RETURNING through Exec, in a transaction and out of
	// one: the transaction commits, and the lock is let go after the
	// other (a kept statement stopped on its row would hold both). In the
	// transaction a query has run it first, so the exec finds it kept and
	// must still go the driver's way.
	tx0, err := db.Begin()
	if err != nil {
		t.Fatal(err)
	}
	var n0 int64
	if err := tx0.QueryRow(`UPDATE t SET n = n + 1 WHERE id = ? RETURNING n`, 1).Scan(&n0); err != nil || n0 != 11 {
		t.Fatalf("UPDATE ... RETURNING through a query: %d, %v; want 11", n0, err)
	}
	for range 2 {
		if _, err := tx0.Exec(`UPDATE t SET n = n + 1 WHERE id = ? RETURNING n`, 1); err != nil {
			t.Fatal(err)
		}
	}
	if err := tx0.Commit(); err != nil {
		t.Fatalf("commit after UPDATE ... RETURNING through Exec: %v", err)
	}
	for range 3 {
		if _, err := db.Exec(`UPDATE t SET n = n - 1 WHERE id = ? RETURNING n`, 1); err != nil {
			t.Fatal(err)
		}
	}
	if n, err := sum(t, db, `SELECT n FROM t WHERE id = 1`); err != nil || n != 10 {
		t.Errorf("after three increments and three decrements: %d, %v; want 10", n, err)
	}

	// Several statements in one exec all run.
	if _, err := db.Exec(`INSERT INTO t (n) VALUES (1); INSERT INTO t (n) VALUES (2);`); err != nil {
		t.Fatal(err)
	}
	if n, _ := sum(t, db, `SELECT COUNT(*) FROM t`); n != 5 {
		t.Errorf("%d rows after a two-statement exec, want 5", n)
	}

	// The same query while its rows are open, in one transaction (on the
	// one connection): both read everything.
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	const all = `SELECT n FROM t WHERE id <= ? ORDER BY id`
	outer, err := tx.Query(all, 3)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for outer.Next() {
		var n int64
		outer.Scan(&n)
		inner, err := tx.Query(all, 2)
		if err != nil {
			t.Fatal(err)
		}
		var in []int64
		for inner.Next() {
			var m int64
			inner.Scan(&m)
			in = append(in, m)
		}
		inner.Close()
		got = append(got, fmt.Sprint(n, in))
	}
	if err := outer.Err(); err != nil {
		t.Fatal(err)
	}
	outer.Close()
	tx.Rollback()
	if s := strings.Join(got, " "); s != "10 [10 20] 20 [10 20] 30 [10 20]" {
		t.Errorf("nested reads: %s", s)
	}

	// A changed schema: a kept SELECT * (see keeping) has the new column.
	if _, err := db.Exec(`ALTER TABLE t ADD COLUMN m INTEGER DEFAULT 7`); err != nil {
		t.Fatal(err)
	}
	rows, err := db.Query(`SELECT * FROM t WHERE id = ?`, 1)
	if err != nil {
		t.Fatal(err)
	}
	cols, _ := rows.Columns()
	rows.Close()
	if strings.Join(cols, ",") != "id,n,m" {
		t.Errorf("columns after ALTER TABLE: %v", cols)
	}
}

// TestKeptStatementsAreBounded checks that a connection keeps at most
// stmtsPerConn statements, and that one evicted while its rows are open
// reads on and is finalized when they close.
func TestKeptStatementsAreBounded(t *testing.T) {
	db := oneConn(t)
	tx, err := db.Begin()
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	const first = `SELECT n FROM t ORDER BY id`
	rows, err := tx.Query(first)
	if err != nil {
		t.Fatal(err)
	}
	rows.Next()
	for i := range 2 * stmtsPerConn {
		if n, err := sum(t, tx, fmt.Sprintf(`SELECT %d + ?`, i), 1); err != nil || n != int64(i+1) {
			t.Fatalf("query %d: %d, %v", i, n, err)
		}
	}
	var got []int64
	for {
		var n int64
		rows.Scan(&n)
		got = append(got, n)
		if !rows.Next() {
			break
		}
	}
	if err := rows.Close(); err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(got) != "[10 20 30]" {
		t.Errorf("rows of an evicted statement: %v", got)
	}
	tx.Rollback()
	if n := len(kept(t, db)); n != stmtsPerConn {
		t.Errorf("%d statements kept, want %d", n, stmtsPerConn)
	}
	if kept(t, db)[first] != nil {
		t.Error("the least recently used statement is still kept")
	}
}

// twoConns opens a database and two of its connections.
func twoConns(t *testing.T) (a, b *sql.Conn) {
	t.Helper()
	db := Open(filepath.Join(t.TempDir(), "s.db"), Options{MaxConns: 2})
	t.Cleanup(func() { db.Close() })
	for _, c := range []**sql.Conn{&a, &b} {
		conn, err := db.Conn(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { conn.Close() })
		*c = conn
	}
	return a, b
}

// TestKeptStatementSeesAnotherConnectionsSchema checks that a kept
// statement runs against the schema as it is now, after another
// connection replaced the table under it with other columns.
func TestKeptStatementSeesAnotherConnectionsSchema(t *testing.T) {
	ctx := context.Background()
	a, b := twoConns(t)
	if _, err := a.ExecContext(ctx, `CREATE TABLE t (id INTEGER PRIMARY KEY, n INTEGER); INSERT INTO t VALUES (1, 10)`); err != nil {
		t.Fatal(err)
	}
	const q = `SELECT n FROM t WHERE id = ?`
	var n int64
	if err := a.QueryRowContext(ctx, q, 1).Scan(&n); err != nil || n != 10 {
		t.Fatalf("before: %d, %v", n, err)
	}
	if _, err := b.ExecContext(ctx, `DROP TABLE t; CREATE TABLE t (id INTEGER PRIMARY KEY, x TEXT, n INTEGER); INSERT INTO t VALUES (1, 'x', 99)`); err != nil {
		t.Fatal(err)
	}
	if err := a.QueryRowContext(ctx, q, 1).Scan(&n); err != nil || n != 99 {
		t.Errorf("after another connection replaced the table: %d, %v; want 99", n, err)
	}
}

func TestKeeping(t *testing.T) {
	for q, want := range map[string]bool{
		"SELECT n FROM t WHERE id = ?":                               true,
		"select count(*) from `items`":                               true,
		"INSERT INTO t (n) VALUES (?) RETURNING `id`":                true,
		"UPDATE t SET n = ? WHERE id = ?;":                           true,
		"DELETE FROM t WHERE id = ?":                                 true,
		"SELECT * FROM `items` WHERE `items`.`id` = ?":               true, // its columns are read after its first step
		"SELECT t.* FROM t":                                          true,
		"INSERT INTO t (n) VALUES (?) RETURNING *":                   true,
		"INSERT INTO t (n) VALUES (1); INSERT INTO t (n) VALUES (2)": false,
		"PRAGMA table_info(`items`)":                                 false,
		"CREATE TABLE u (id INTEGER)":                                false,
		"BEGIN":                                                      false,
		"WITH v(n) AS (SELECT 1) INSERT INTO t (n) SELECT n FROM v":  true, // a write
		"WITH v(n) AS (SELECT 1) SELECT n FROM v":                    false,
	} {
		if got := keeping(q); got != want {
			t.Errorf("keeping(%q) = %v, want %v", q, got, want)
		}
	}
}

func TestWritesAndReturnsRows(t *testing.T) {
	for _, c := range []struct {
		query        string
		writes, rows bool
	}{
		{"SELECT n FROM t", false, true},
		{"INSERT INTO t (n) VALUES (?)", true, false},
		{" replace into t (n) values (?) returning id", true, true},
		{"UPDATE t SET returning_n = ?", true, false}, // a name, not the word
		{"INSERT INTO t (n) VALUES (?) RETURNING*", true, true},
		{"WITH v(n) AS (SELECT 1) INSERT INTO t (n) SELECT n FROM v RETURNING id", true, true},
		{"with old as (select id from t) delete from t where id in old", true, true}, // any WITH may return rows
		{"WITH v(n) AS (SELECT 1) REPLACE INTO t (n) SELECT n FROM v", true, true},
		{"WITH v AS (SELECT replace(name, 'a', 'b') AS n FROM t) SELECT n FROM v", false, true}, // the function
		{"WITH\n\tv AS (SELECT 1)\nDELETE FROM t", true, true},
		{"INSERT\nINTO t (n) VALUES (?)", true, false},
		{"SELECT(1)", false, true},
		{"-- name: AddItem\nINSERT INTO t (n) VALUES (?)", true, false},
		{"/* a note */ UPDATE t SET n = 1", true, false},
		{"/* one */ -- two\n  DELETE FROM t", true, false},
		{"-- only a comment", false, false},
		{"UPDATE\"t\"SET n = 1", true, false},
		{"\fDELETE FROM t", true, false},
		{"WITH v AS (SELECT * FROM updates_log) SELECT * FROM v", false, true},
		{"WITH v AS (SELECT 1) SELECT * FROM v WHERE note = 'update'", true, true}, // in a string: taken for a write
	} {
		if got := writes(c.query); got != c.writes {
			t.Errorf("writes(%q) = %v, want %v", c.query, got, c.writes)
		}
		if got := returnsRows(c.query); got != c.rows {
			t.Errorf("returnsRows(%q) = %v, want %v", c.query, got, c.rows)
		}
	}
}

// TestKeptSelectStarReadsTheSchemaOfNow checks a kept SELECT *: kept and
// reused while the schema stays, and after another connection rebuilt the
// table with its columns in another order, read with the new columns, not
// the old ones the statement was prepared with.
func TestKeptSelectStarReadsTheSchemaOfNow(t *testing.T) {
	ctx := context.Background()
	a, b := twoConns(t)
	if _, err := a.ExecContext(ctx, `CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT, n INTEGER); INSERT INTO t VALUES (1, 'one', 10)`); err != nil {
		t.Fatal(err)
	}
	const q = `SELECT * FROM t WHERE id = ?`
	read := func(id int) string {
		t.Helper()
		return readAll(t, a, q, id)
	}
	if got := read(1); got != "id=1 name=one n=10" {
		t.Fatalf("before: %s", got)
	}
	var st *cachedStmt
	a.Raw(func(dc any) error {
		if el := dc.(*gatedConn).stmts.byQuery[q]; el != nil {
			st = el.Value.(*cachedStmt)
		}
		return nil
	})
	if st == nil {
		t.Fatal("SELECT * was not kept")
	}
	if got := read(2); got != "" {
		t.Errorf("a missing row: %q", got)
	}
	if got := read(1); got != "id=1 name=one n=10" {
		t.Errorf("again: %s", got)
	}
	if _, err := b.ExecContext(ctx, `DROP TABLE t; CREATE TABLE t (n INTEGER, id INTEGER PRIMARY KEY, label TEXT, name TEXT); INSERT INTO t VALUES (99, 1, 'x', 'uno')`); err != nil {
		t.Fatal(err)
	}
	if got := read(1); got != "n=99 id=1 label=x name=uno" {
		t.Errorf("after another connection rebuilt the table: %s", got)
	}
	if got := read(1); got != "n=99 id=1 label=x name=uno" {
		t.Errorf("and again: %s", got)
	}

	// A table of the same name in the temporary database shadows the main
	// one.
	if _, err := a.ExecContext(ctx, `CREATE TEMP TABLE t (name TEXT, id INTEGER PRIMARY KEY); INSERT INTO temp.t VALUES ('tmp', 1)`); err != nil {
		t.Fatal(err)
	}
	if got := read(1); got != "name=tmp id=1" {
		t.Errorf("with a temporary t: %s", got)
	}
	if _, err := a.ExecContext(ctx, `DROP TABLE temp.t`); err != nil {
		t.Fatal(err)
	}

	// A first SELECT * on a connection that read the table before another
	// connection rebuilt it: prepared with the schema the connection
	// holds, the old one.
	const q2 = `SELECT * FROM t WHERE n = ?`
	if _, err := a.ExecContext(ctx, `UPDATE t SET n = n WHERE id = 1`); err != nil {
		t.Fatal(err)
	}
	if _, err := b.ExecContext(ctx, `DROP TABLE t; CREATE TABLE t (name TEXT, n INTEGER, id INTEGER PRIMARY KEY); INSERT INTO t VALUES ('eins', 7, 1)`); err != nil {
		t.Fatal(err)
	}
	rows, err := a.QueryContext(ctx, q2, 7)
	if err != nil {
		t.Fatal(err)
	}
	cols, _ := rows.Columns()
	var name string
	var n, id int64
	for rows.Next() {
		if err := rows.Scan(&name, &n, &id); err != nil {
			t.Fatal(err)
		}
	}
	rows.Close()
	if got := fmt.Sprintf("%v %s %d %d", cols, name, n, id); got != "[name n id] eins 7 1" {
		t.Errorf("a first SELECT * after another connection rebuilt the table: %s", got)
	}

	// A write's RETURNING * is kept too.
	const ins = `INSERT INTO t (id, name) VALUES (?, ?) RETURNING *`
	if got := readAll(t, a, ins, 2, "zwei"); got != "name=zwei n=<nil> id=2" {
		t.Errorf("RETURNING *: %s", got)
	}
	if _, err := b.ExecContext(ctx, `DROP TABLE t; CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT, extra TEXT DEFAULT 'e')`); err != nil {
		t.Fatal(err)
	}
	if got := readAll(t, a, ins, 3, "drei"); got != "id=3 name=drei extra=e" {
		t.Errorf("RETURNING * after another connection rebuilt the table: %s", got)
	}
	a.Raw(func(dc any) error {
		if dc.(*gatedConn).stmts.byQuery[ins] == nil {
			t.Error("the INSERT ... RETURNING * was not kept")
		}
		return nil
	})
}

// readAll runs q on c and returns its rows as column=value pairs.
func readAll(t *testing.T, c *sql.Conn, q string, args ...any) string {
	t.Helper()
	rows, err := c.QueryContext(context.Background(), q, args...)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	cols, _ := rows.Columns()
	var out []string
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		for i, c := range cols {
			out = append(out, fmt.Sprintf("%s=%v", c, vals[i]))
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return strings.Join(out, " ")
}

// TestKeptSelectStarSeesTheTemporarySchemaChange: a kept SELECT * reads
// a temporary table that shadows the main one, made and dropped by
// statements database/sql prepared, and the main one again after a
// transaction that made one rolled back.
func TestKeptSelectStarSeesTheTemporarySchemaChange(t *testing.T) {
	ctx := context.Background()
	a, _ := twoConns(t)
	if _, err := a.ExecContext(ctx, `CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT); INSERT INTO t VALUES (1, 'main')`); err != nil {
		t.Fatal(err)
	}
	const q = `SELECT * FROM t WHERE id = ?`
	if got := readAll(t, a, q, 1); got != "id=1 name=main" {
		t.Fatalf("before: %s", got)
	}

	// Made by a prepared statement, and dropped by one.
	prepared := func(stmt string) {
		t.Helper()
		p, err := a.PrepareContext(ctx, stmt)
		if err != nil {
			t.Fatal(err)
		}
		defer p.Close()
		if _, err := p.ExecContext(ctx); err != nil {
			t.Fatal(err)
		}
	}
	prepared(`CREATE TEMP TABLE t (name TEXT, id INTEGER PRIMARY KEY, n INTEGER)`)
	prepared(`INSERT INTO temp.t VALUES ('temp', 1, 5)`)
	if got := readAll(t, a, q, 1); got != "name=temp id=1 n=5" {
		t.Errorf("with a temporary t a prepared statement made: %s", got)
	}
	prepared(`DROP TABLE temp.t`)
	if got := readAll(t, a, q, 1); got != "id=1 name=main" {
		t.Errorf("after a prepared statement dropped it: %s", got)
	}

	// Made in a transaction, read there, and rolled back with it.
	tx, err := a.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.ExecContext(ctx, `CREATE TEMP TABLE t (name TEXT, id INTEGER PRIMARY KEY); INSERT INTO temp.t VALUES ('rolled back', 1)`); err != nil {
		t.Fatal(err)
	}
	var name string
	var id int64
	if err := tx.QueryRowContext(ctx, q, 1).Scan(&name, &id); err != nil || name != "rolled back" {
		t.Fatalf("in the transaction: %q %d %v", name, id, err)
	}
	if err := tx.Rollback(); err != nil {
		t.Fatal(err)
	}
	if got := readAll(t, a, q, 1); got != "id=1 name=main" {
		t.Errorf("after the transaction that made a temporary t rolled back: %s", got)
	}
}

// TestKeptSelectStarAfterASchemaChangeIsTakenBack: a change of the schema
// taken back by SQLite itself, when a kept statement fails (INSERT OR
// ROLLBACK), or by a rollback, after which another connection's change
// brings the schema's version back to the number a kept SELECT * last
// ran under, with other columns.
func TestKeptSelectStarAfterASchemaChangeIsTakenBack(t *testing.T) {
	ctx := context.Background()
	a, b := twoConns(t)
	if _, err := a.ExecContext(ctx, `CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT); INSERT INTO t VALUES (1, 'main'); CREATE TABLE u (id INTEGER PRIMARY KEY)`); err != nil {
		t.Fatal(err)
	}
	const q = `SELECT * FROM t WHERE id = ?`
	if got := readAll(t, a, q, 1); got != "id=1 name=main" {
		t.Fatalf("before: %s", got)
	}

	// A temporary t read in a transaction that a kept INSERT OR ROLLBACK
	// ends by failing.
	tx, err := a.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.ExecContext(ctx, `CREATE TEMP TABLE t (name TEXT, id INTEGER PRIMARY KEY, n INTEGER); INSERT INTO temp.t VALUES ('temp', 1, 5)`); err != nil {
		t.Fatal(err)
	}
	var name string
	var id, n int64
	if err := tx.QueryRowContext(ctx, q, 1).Scan(&name, &id, &n); err != nil || name != "temp" {
		t.Fatalf("in the transaction: %q %d %v", name, id, err)
	}
	for range 2 { // the second fails, and SQLite rolls the transaction back
		tx.ExecContext(ctx, `INSERT OR ROLLBACK INTO u (id) VALUES (?)`, 1)
	}
	// database/sql still has the transaction; its next query runs on the
	// connection, which has none.
	var got []string
	if err := tx.QueryRowContext(ctx, q, 1).Scan(&id, &name); err != nil {
		got = append(got, err.Error())
	}
	if got = append(got, fmt.Sprintf("%d %s", id, name)); strings.Join(got, " ") != "1 main" {
		t.Errorf("after SQLite rolled back the transaction that made a temporary t: %v", got)
	}
	tx.Rollback() // no transaction is left to roll back

	// A column added in a transaction that rolls back, and then another
	// connection's: the schema's version is the same number again.
	tx, err = a.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.ExecContext(ctx, `ALTER TABLE t ADD COLUMN gone TEXT DEFAULT 'g'`); err != nil {
		t.Fatal(err)
	}
	var gone string
	if err := tx.QueryRowContext(ctx, q, 1).Scan(&id, &name, &gone); err != nil || gone != "g" {
		t.Fatalf("in the transaction: %q %v", gone, err)
	}
	if err := tx.Rollback(); err != nil {
		t.Fatal(err)
	}
	if _, err := b.ExecContext(ctx, `ALTER TABLE t ADD COLUMN other INTEGER DEFAULT 7`); err != nil {
		t.Fatal(err)
	}
	if got := readAll(t, a, q, 1); got != "id=1 name=main other=7" {
		t.Errorf("after a column added and rolled back, and another added by another connection: %s", got)
	}
}
