package migrate_test

import (
	"context"
	"slices"
	"testing"

	"gorm.io/gorm"

	"github.com/fastapi-easy/easy-go/easy/migrate"
	"github.com/fastapi-easy/easy-go/internal/testkit"
)

// Parent's code changes type in ParentV2; a Child refers to a Parent.
type Parent struct {
	ID   uint `gorm:"primaryKey"`
	Code int
}

type ParentV2 struct {
	ID   uint `gorm:"primaryKey"`
	Code string
}

func (ParentV2) TableName() string { return "parents" }

type Child struct {
	ID       uint `gorm:"primaryKey"`
	ParentID uint
	Parent   Parent
}

// parentsAndChild is a SQLite database of one connection, so that what
// the test reads of the connection's settings is of the one the Schema
// used, with a parent and its child.
func parentsAndChild(t *testing.T) *gorm.DB {
	t.Helper()
	db := testkit.SQLite(t, nil)
	sqlDB, err := db.DB()
	if err != nil {
		t.Fatal(err)
	}
	sqlDB.SetMaxOpenConns(1)
	if err := db.AutoMigrate(&Parent{}, &Child{}); err != nil {
		t.Fatal(err)
	}
	if err := db.Create(&Child{Parent: Parent{Code: 7}}).Error; err != nil {
		t.Fatal(err)
	}
	return db
}

func foreignKeysOn(t *testing.T, db *gorm.DB) bool {
	t.Helper()
	var on bool
	if err := db.Raw("PRAGMA foreign_keys").Scan(&on).Error; err != nil {
		t.Fatal(err)
	}
	return on
}

func codeType(t *testing.T, db *gorm.DB) string {
	t.Helper()
	cols, err := db.Migrator().ColumnTypes(&ParentV2{})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cols {
		if c.Name() == "code" {
			return c.DatabaseTypeName()
		}
	}
	return ""
}

// TestSQLiteRebuildOfAReferencedTable: on SQLite, AutoMigrate changes a
// column's type by rebuilding the table, which another table's rows
// refer to. Under the lock, in a transaction, it needs foreign keys off,
// as outside one; they are on again afterwards, and checked before the
// change commits.
func TestSQLiteRebuildOfAReferencedTable(t *testing.T) {
	ctx := context.Background()
	db := parentsAndChild(t)
	s := migrate.New(db, migrate.Config{Models: []any{&ParentV2{}}})
	plan, err := s.Plan(ctx)
	if want := []string{
		"PRAGMA foreign_keys = OFF",
		"CREATE TABLE `parents__temp`  (`id` integer PRIMARY KEY AUTOINCREMENT,`code` text)",
		"INSERT INTO `parents__temp`(`id`,`code`) SELECT `id`,`code` FROM `parents`",
		"DROP TABLE `parents`",
		"ALTER TABLE `parents__temp` RENAME TO `parents`",
		"PRAGMA foreign_keys = ON",
	}; err != nil || !slices.Equal(plan, want) {
		t.Errorf("plan %q, %v\nwant %q", plan, err, want)
	}

	if err := s.AutoMigrate(ctx, &ParentV2{}); err != nil {
		t.Fatal(err)
	}
	if got := codeType(t, db); got != "text" {
		t.Errorf("parents.code is %s, want text", got)
	}
	var children int64
	if err := db.Model(&Child{}).Count(&children).Error; err != nil || children != 1 {
		t.Errorf("%d children (%v), want 1", children, err)
	}
	if !foreignKeysOn(t, db) {
		t.Error("foreign keys are off after the migration")
	}
}

// TestSQLiteForeignKeysCheckedBeforeCommit: a change that would leave a
// row referring to no row is rolled back whole.
func TestSQLiteForeignKeysCheckedBeforeCommit(t *testing.T) {
	db := parentsAndChild(t)
	if err := db.Exec("PRAGMA foreign_keys = OFF").Error; err != nil {
		t.Fatal(err)
	}
	if err := db.Create(&Child{ParentID: 99}).Error; err != nil {
		t.Fatal(err)
	}
	if err := db.Exec("PRAGMA foreign_keys = ON").Error; err != nil {
		t.Fatal(err)
	}
	err := migrate.New(db, migrate.Config{}).AutoMigrate(context.Background(), &ParentV2{})
	if err == nil || err.Error() != "migrate: the change leaves rows of children whose foreign keys refer to no row" {
		t.Errorf("AutoMigrate: %v", err)
	}
	if got := codeType(t, db); got != "integer" {
		t.Errorf("parents.code is %s after a failed change, want integer", got)
	}
	if !foreignKeysOn(t, db) {
		t.Error("foreign keys are off after the migration")
	}
}
