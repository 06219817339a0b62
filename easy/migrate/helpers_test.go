package migrate_test

import (
	"strings"
	"testing"

	"gorm.io/driver/postgres"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"

	"github.com/fastapi-easy/easy-go/internal/testkit"
)

// openURL opens the database of a DATABASE_URL with a pool of its own,
// closed when the test ends.
func openURL(t *testing.T, url string) *gorm.DB {
	t.Helper()
	if path, ok := strings.CutPrefix(url, "sqlite:"); ok {
		return testkit.SQLiteFile(t, path, nil)
	}
	db, err := gorm.Open(postgres.Open(url), &gorm.Config{Logger: logger.Discard, TranslateError: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if sqlDB, err := db.DB(); err == nil {
			sqlDB.Close()
		}
	})
	return db
}

// tablesOf lists the tables of the database of url, in its current schema.
func tablesOf(t *testing.T, url string) []string {
	t.Helper()
	return testkit.Tables(t, openURL(t, url))
}
