package main

import (
	"context"
	"embed"

	"gorm.io/gorm"

	"github.com/fastapi-easy/easy-go/easy"
)

// migrationFiles are the SQL migrations, read from the binary; the
// migrate command's create writes new ones into ./migrations, so run it
// from this directory (go run . migrate create NAME).
//
//go:embed migrations
var migrationFiles embed.FS

// migrations are the versioned migrations of the items table: 1, in Go,
// makes the table as the app first had it, the same way on SQLite and
// PostgreSQL; the others are the files. The app applies the pending ones
// when it starts, as a demonstration does; a production deployment would
// leave MigrateOnStart out and run "items migrate up" before it starts
// the new version. AutoMigrate still adds what the models have that the
// migrations do not (the owner of an item, with -auth).
func migrations() []easy.Option {
	return []easy.Option{
		easy.Migrations(migrationFiles, "migrations"),
		easy.GoMigration(1, createItems, dropItems),
		easy.MigrateOnStart(),
	}
}

// itemV1 is an item as the first migration makes its table. Item may
// change; this may not, or the migration would make another table on a
// new database than it made on the old ones.
type itemV1 struct {
	ID    uint `gorm:"primaryKey"`
	Name  string
	Price float64
}

func (itemV1) TableName() string { return "items" }

// createItems makes the items table, unless it is there already: made by
// AutoMigrate, before the app had migrations.
func createItems(ctx context.Context, tx *gorm.DB) error {
	if tx.Migrator().HasTable(&itemV1{}) {
		return nil
	}
	return tx.Migrator().CreateTable(&itemV1{})
}

func dropItems(ctx context.Context, tx *gorm.DB) error {
	return tx.Migrator().DropTable(&itemV1{})
}
