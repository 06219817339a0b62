package easy

import (
	"fmt"
	"os"

	"gorm.io/driver/postgres"
	"gorm.io/driver/sqlite"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"

	"github.com/fastapi-easy/easy-go/internal/dburl"
	"github.com/fastapi-easy/easy-go/internal/sqlitedb"
)

// defaultDatabase is the SQLite file used when neither the DB option nor
// DATABASE_URL names a database.
const defaultDatabase = "easy.db"

// dialectorFromEnv opens the database DATABASE_URL names (see package
// dburl), or defaultDatabase without it.
func dialectorFromEnv() (gorm.Dialector, error) {
	raw, ok := os.LookupEnv("DATABASE_URL")
	if !ok || raw == "" {
		return sqliteDialector(defaultDatabase), nil
	}
	d, err := dburl.Parse(raw)
	switch {
	case err != nil:
		return nil, fmt.Errorf("easy: %w", err)
	case d.SQLite != "":
		return sqliteDialector(d.SQLite), nil
	}
	return postgres.Open(d.Postgres), nil
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
