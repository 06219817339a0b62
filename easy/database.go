package easy

import (
	"errors"
	"fmt"
	"net/url"
	"os"
	"strings"

	"gorm.io/driver/postgres"
	"gorm.io/driver/sqlite"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"

	"github.com/fastapi-easy/easy-go/internal/sqlitedb"
)

// defaultDatabase is the SQLite file used when neither the DB option nor
// DATABASE_URL names a database.
const defaultDatabase = "easy.db"

// dialectorFromEnv reads DATABASE_URL: sqlite:PATH (also sqlite://PATH and
// sqlite:///ABS/PATH) or postgres://... (postgresql:// too).
func dialectorFromEnv() (gorm.Dialector, error) {
	raw, ok := os.LookupEnv("DATABASE_URL")
	if !ok || raw == "" {
		return sqliteDialector(defaultDatabase), nil
	}
	scheme, rest, found := strings.Cut(raw, ":")
	if !found {
		return nil, fmt.Errorf("easy: DATABASE_URL %q: want sqlite:PATH or postgres://USER:PASSWORD@HOST/DB", redact(raw))
	}
	switch strings.ToLower(scheme) {
	case "sqlite", "sqlite3":
		path := strings.TrimPrefix(rest, "//")
		if path == "" {
			return nil, errors.New("easy: DATABASE_URL: sqlite: needs a file path, as in sqlite:easy.db")
		}
		return sqliteDialector(path), nil
	case "postgres", "postgresql":
		u, err := url.Parse(raw)
		if err != nil || u.Host == "" {
			return nil, fmt.Errorf("easy: DATABASE_URL %q: not a valid postgres:// URL", redact(raw))
		}
		return postgres.Open(raw), nil
	}
	return nil, fmt.Errorf("easy: DATABASE_URL %q: unsupported scheme %q (want sqlite or postgres)", redact(raw), scheme)
}

// sqliteDialector opens path in WAL mode, with a busy timeout and foreign
// keys on, letting writers in one at a time (see internal/sqlitedb).
func sqliteDialector(path string) gorm.Dialector {
	return sqlite.Dialector{Conn: sqlitedb.Open(path, sqlitedb.Options{})}
}

func openDatabase(d gorm.Dialector) (*gorm.DB, error) {
	db, err := gorm.Open(d, &gorm.Config{Logger: logger.Discard, TranslateError: true})
	if err != nil {
		return nil, fmt.Errorf("easy: open database: %w", err)
	}
	return db, nil
}

// redact hides a password in a database URL.
func redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.User == nil {
		return raw
	}
	if _, ok := u.User.Password(); ok {
		u.User = url.UserPassword(u.User.Username(), "xxxxx")
	}
	return u.String()
}
