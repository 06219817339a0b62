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
	return tables(t, openURL(t, url))
}

// tables lists the tables of db's current schema, by name.
func tables(t *testing.T, db *gorm.DB) []string {
	t.Helper()
	q := "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema() ORDER BY table_name"
	if db.Dialector.Name() == "sqlite" {
		q = "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name"
	}
	var names []string
	if err := db.Raw(q).Scan(&names).Error; err != nil {
		t.Fatal(err)
	}
	return names
}
