package migrate_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing/fstest"

	"gorm.io/driver/sqlite"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"

	"github.com/fastapi-easy/easy-go/easy"
	"github.com/fastapi-easy/easy-go/easy/migrate"
)

// exampleDB opens a new SQLite database in a temporary directory; done
// closes and removes it.
func exampleDB() (db *gorm.DB, done func()) {
	dir, err := os.MkdirTemp("", "migrate-example")
	if err != nil {
		panic(err)
	}
	db, err = gorm.Open(sqlite.Open(filepath.Join(dir, "easy.db")), &gorm.Config{Logger: logger.Discard})
	if err != nil {
		panic(err)
	}
	return db, func() {
		if sqlDB, err := db.DB(); err == nil {
			sqlDB.Close()
		}
		os.RemoveAll(dir)
	}
}

// The plan command prints what AutoMigrate would run for the App's
// models, to review and keep in a migration file.
func ExampleRun() {
	db, done := exampleDB()
	defer done()
	app := easy.New(easy.DB(db), easy.NoMigrate())
	app.Include(easy.CRUDRouter[Item]())

	if err := migrate.Run(context.Background(), app, os.Stdout, "plan"); err != nil {
		fmt.Println(err)
	}
	// Output:
	// CREATE TABLE `items` (`id` integer PRIMARY KEY AUTOINCREMENT,`name` text,`price` real);
}

func ExampleSchema_Up() {
	db, done := exampleDB()
	defer done()
	files := fstest.MapFS{
		"00001_create_items.sql": {Data: []byte(`-- +goose Up
CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT NOT NULL, price REAL NOT NULL);
-- +goose Down
DROP TABLE items;
`)},
		"00002_rename_name.sql": {Data: []byte(`-- +goose Up
ALTER TABLE items RENAME COLUMN name TO title;
-- +goose Down
ALTER TABLE items RENAME COLUMN title TO name;
`)},
	}
	s := migrate.New(db, migrate.Config{FS: files, Logger: quiet})

	applied, err := s.Up(context.Background())
	for _, m := range applied {
		fmt.Println("applied", m.Name)
	}
	fmt.Println(err)
	// Output:
	// applied 00001_create_items.sql
	// applied 00002_rename_name.sql
	// <nil>
}
