package testkit

import (
	"crypto/rand"
	"encoding/hex"
	"maps"
	"net/url"
	"path/filepath"
	"slices"
	"testing"

	"gorm.io/driver/postgres"
	"gorm.io/driver/sqlite"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"

	"github.com/fastapi-easy/easy-go/internal/dburl"
	"github.com/fastapi-easy/easy-go/internal/sqlitedb"
)

// config is the gorm configuration of the App's own database: quiet, and
// translating unique and foreign-key errors.
func config(cfg *gorm.Config) *gorm.Config {
	if cfg == nil {
		return &gorm.Config{Logger: logger.Discard, TranslateError: true}
	}
	if cfg.Logger == nil {
		cfg.Logger = logger.Discard
	}
	return cfg
}

// SQLite opens a new SQLite database in a file of t.TempDir(), as the App
// opens its own (internal/sqlitedb: WAL, foreign keys on, writers let in
// one at a time). cfg nil is the App's configuration.
// The database is closed when the test ends.
func SQLite(t testing.TB, cfg *gorm.Config) *gorm.DB {
	t.Helper()
	return SQLiteFile(t, filepath.Join(t.TempDir(), "test.db"), cfg)
}

// SQLiteFile opens the SQLite database in path, as SQLite does in a
// temporary one.
func SQLiteFile(t testing.TB, path string, cfg *gorm.Config) *gorm.DB {
	t.Helper()
	db, err := gorm.Open(sqlite.Dialector{Conn: sqlitedb.Open(path, sqlitedb.Options{})}, config(cfg))
	if err != nil {
		t.Fatalf("testkit: open %s: %v", path, err)
	}
	t.Cleanup(func() { closeDB(db) })
	return db
}

// Postgres opens the server EASY_TEST_POSTGRES_DSN names, in a new schema
// that is dropped when the test ends, so that tests share no tables. It
// skips without the variable (see Require). cfg nil is the App's
// configuration.
func Postgres(t testing.TB, cfg *gorm.Config) *gorm.DB {
	t.Helper()
	dsn := Require(t, PostgresEnv)
	admin, err := gorm.Open(postgres.Open(dsn), config(nil))
	if err != nil {
		t.Fatalf("testkit: connect to %s: %v", PostgresEnv, err)
	}
	var b [6]byte
	rand.Read(b[:])
	schema := "test_" + hex.EncodeToString(b[:])
	if err := admin.Exec("CREATE SCHEMA " + schema).Error; err != nil {
		closeDB(admin)
		t.Fatalf("testkit: create schema: %v", err)
	}
	db, err := gorm.Open(postgres.Open(withParams(dsn, url.Values{"search_path": {schema}})), config(cfg))
	if err != nil {
		admin.Exec("DROP SCHEMA " + schema + " CASCADE")
		closeDB(admin)
		t.Fatalf("testkit: connect to schema %s: %v", schema, err)
	}
	t.Cleanup(func() {
		closeDB(db)
		admin.Exec("DROP SCHEMA " + schema + " CASCADE")
		closeDB(admin)
	})
	return db
}

// Reopen opens the schema of db, a handle Postgres returned, with a pool
// of its own (closed when the test ends), as another process would, with
// params added to the server's DSN (pgx's, such as
// default_query_exec_mode) and the App's configuration.
func Reopen(t testing.TB, db *gorm.DB, params url.Values) *gorm.DB {
	t.Helper()
	var schema string
	if err := db.Raw("SELECT current_schema()").Scan(&schema).Error; err != nil {
		t.Fatalf("testkit: reopen: %v", err)
	}
	all := url.Values{"search_path": {schema}}
	for k, v := range params {
		all[k] = v
	}
	again, err := gorm.Open(postgres.Open(withParams(Require(t, PostgresEnv), all)), config(nil))
	if err != nil {
		t.Fatalf("testkit: reopen schema %s: %v", schema, err)
	}
	t.Cleanup(func() { closeDB(again) })
	return again
}

// withParams adds params to a URL or key=value DSN.
func withParams(dsn string, params url.Values) string {
	if d, err := dburl.Parse(dsn); err == nil && d.Postgres != "" {
		u, _ := url.Parse(dsn) // Parse has parsed it
		q := u.Query()
		for k, v := range params {
			q[k] = v
		}
		u.RawQuery = q.Encode()
		return u.String()
	}
	for _, k := range slices.Sorted(maps.Keys(params)) {
		dsn += " " + k + "=" + params.Get(k)
	}
	return dsn
}

// Each runs fn as a subtest on each database: "sqlite" always, "postgres"
// when EASY_TEST_POSTGRES_DSN is set (skipped, or failed under
// EASY_TEST_REQUIRE=all, when not). cfg nil is the App's configuration.
func Each(t *testing.T, cfg *gorm.Config, fn func(t *testing.T, db *gorm.DB)) {
	t.Helper()
	open := []struct {
		name string
		open func(testing.TB, *gorm.Config) *gorm.DB
	}{{"sqlite", SQLite}, {"postgres", Postgres}}
	for _, o := range open {
		t.Run(o.name, func(t *testing.T) {
			var c *gorm.Config
			if cfg != nil {
				cp := *cfg
				c = &cp
			}
			fn(t, o.open(t, c))
		})
	}
}

func closeDB(db *gorm.DB) {
	if sqlDB, err := db.DB(); err == nil {
		sqlDB.Close()
	}
}

// Tables lists the tables of db's current schema, by name, without views
// and without SQLite's own.
func Tables(t testing.TB, db *gorm.DB) []string {
	t.Helper()
	q := "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' ORDER BY table_name"
	if db.Dialector.Name() == "sqlite" {
		q = "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name"
	}
	var names []string
	if err := db.Raw(q).Scan(&names).Error; err != nil {
		t.Fatal(err)
	}
	return names
}
