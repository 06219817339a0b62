package migrate_test

import (
	"context"
	"testing"
	"testing/fstest"

	"gorm.io/gorm"

	"github.com/fastapi-easy/easy-go/easy"
	"github.com/fastapi-easy/easy-go/easy/migrate"
	"github.com/fastapi-easy/easy-go/internal/testkit"
)

// RenamedItem is ItemV1 with Name renamed Title, as docs/migrations.md
// renames it.
type RenamedItem struct {
	ID    uint    `json:"id" gorm:"primaryKey"`
	Title string  `json:"title"`
	Price float64 `json:"price"`
}

func (RenamedItem) TableName() string { return "items" }

// TestRenameKeepsTheData is docs/migrations.md's rename: on a table with
// rows, an App whose model renames a field starts with the migration that
// renames the column, and serves the rows with their names, where
// AutoMigrate alone would add an empty column.
func TestRenameKeepsTheData(t *testing.T) {
	rename := fstest.MapFS{"00001_rename_name.sql": {Data: []byte(`-- +goose Up
ALTER TABLE items RENAME COLUMN name TO title;

-- +goose Down
ALTER TABLE items RENAME COLUMN title TO name;
`)}}
	testkit.Each(t, nil, func(t *testing.T, db *gorm.DB) {
		if err := db.AutoMigrate(&ItemV1{}); err != nil {
			t.Fatal(err)
		}
		if err := db.Create(&ItemV1{Name: "apple", Price: 10.5}).Error; err != nil {
			t.Fatal(err)
		}
		s := migrate.New(db, migrate.Config{Models: []any{&RenamedItem{}}})
		if plan, err := s.Plan(context.Background()); err != nil || len(plan) != 1 {
			t.Errorf("plan %q, %v; want AutoMigrate's new, empty column", plan, err)
		}

		app := easy.New(easy.DB(db), easy.Logger(quiet), easy.Migrations(rename, "."), easy.MigrateOnStart())
		app.Include(easy.CRUDRouter[RenamedItem]())
		testkit.Do(t, testkit.Serve(t, app), "GET", "/items", "").Expect(t, 200, `[{"id":1,"title":"apple","price":10.5}]`)
		if db.Migrator().HasColumn(&ItemV1{}, "name") {
			t.Error("the column name is still there")
		}
		if s, err := app.Schema(); err != nil {
			t.Fatal(err)
		} else if plan, err := s.Plan(context.Background()); err != nil || len(plan) != 0 {
			t.Errorf("plan after the rename %q, %v; want nothing", plan, err)
		}
	})
}
