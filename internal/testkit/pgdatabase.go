package testkit

import (
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"testing"

	"gorm.io/driver/postgres"
	"gorm.io/gorm"

	"github.com/fastapi-easy/easy-go/internal/dburl"
)

// PostgresDatabase creates a new, empty database on the server
// EASY_TEST_POSTGRES_DSN names and returns its URL, for tests of what
// happens database-wide (locks, several processes starting at once) that a
// schema of a shared database would not show. The database is dropped when
// the test ends, with whatever connections are left. It skips without the
// variable (see Require); the variable must be a URL.
func PostgresDatabase(t testing.TB) string {
	t.Helper()
	dsn := Require(t, PostgresEnv)
	if d, err := dburl.Parse(dsn); err != nil || d.Postgres == "" {
		t.Fatalf("testkit: %s is not a postgres:// URL", PostgresEnv)
	}
	u, _ := url.Parse(dsn)
	var b [6]byte
	rand.Read(b[:])
	name := "mig_" + hex.EncodeToString(b[:])
	if err := adminExec(dsn, "CREATE DATABASE "+name); err != nil {
		t.Fatalf("testkit: create database: %v", err)
	}
	t.Cleanup(func() {
		if err := adminExec(dsn, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			t.Errorf("testkit: drop database %s: %v", name, err)
		}
	})
	u.Path = "/" + name
	return u.String()
}

// adminExec runs one statement on the server of dsn, on a connection of
// its own, so that no connection is held between the test's statements:
// the server's connections are shared by every test running on it.
func adminExec(dsn, stmt string) error {
	admin, err := gorm.Open(postgres.Open(dsn), config(nil))
	if err != nil {
		return err
	}
	defer closeDB(admin)
	return admin.Exec(stmt).Error
}

// OpenURL opens the database of a DATABASE_URL (see package dburl), such
// as PostgresDatabase gives, with a pool of its own, closed when the test
// ends, with the App's configuration.
func OpenURL(t testing.TB, raw string) *gorm.DB {
	t.Helper()
	d, err := dburl.Parse(raw)
	if err != nil {
		t.Fatalf("testkit: %v", err)
	}
	if d.SQLite != "" {
		return SQLiteFile(t, d.SQLite, nil)
	}
	db, err := gorm.Open(postgres.Open(d.Postgres), config(nil))
	if err != nil {
		t.Fatalf("testkit: open %s: %v", dburl.Redact(raw), err)
	}
	t.Cleanup(func() { closeDB(db) })
	return db
}
