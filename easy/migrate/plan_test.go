package migrate_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"testing/fstest"

	"gorm.io/gorm"

	"github.com/fastapi-easy/easy-go/easy/migrate"
	"github.com/fastapi-easy/easy-go/internal/testkit"
)

// ItemV1 and ItemV2 are one model before and after a field is added.
type ItemV1 struct {
	ID    uint `gorm:"primaryKey"`
	Name  string
	Price float64
}

type ItemV2 struct {
	ID    uint `gorm:"primaryKey"`
	Name  string
	Price float64
	Stock int `gorm:"not null;default:0"`
}

func (ItemV1) TableName() string { return "items" }
func (ItemV2) TableName() string { return "items" }

// TestPlanAddedField plans a field added to a model: the statement
// AutoMigrate would run, which it does not run. Applied as a migration
// file, it leaves nothing to plan.
func TestPlanAddedField(t *testing.T) {
	want := map[string][]string{
		"sqlite":   {"ALTER TABLE `items` ADD `stock` integer NOT NULL DEFAULT 0"},
		"postgres": {`ALTER TABLE "items" ADD "stock" bigint NOT NULL DEFAULT 0`},
	}
	testkit.Each(t, nil, func(t *testing.T, db *gorm.DB) {
		ctx := context.Background()
		if err := db.AutoMigrate(&ItemV1{}); err != nil {
			t.Fatal(err)
		}
		s := migrate.New(db, migrate.Config{Models: []any{&ItemV2{}}})
		plan, err := s.Plan(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if w := want[db.Dialector.Name()]; !slices.Equal(plan, w) {
			t.Errorf("plan\n%q\nwant\n%q", plan, w)
		}
		if db.Migrator().HasColumn(&ItemV2{}, "stock") {
			t.Error("the plan added the column")
		}

		file := "-- +goose Up\n" + strings.Join(plan, ";\n") + ";\n"
		s = migrate.New(db, migrate.Config{FS: fstest.MapFS{"00001_add_stock.sql": {Data: []byte(file)}}, Models: []any{&ItemV2{}}})
		if _, err := s.Up(ctx); err != nil {
			t.Fatal(err)
		}
		if plan, err := s.Plan(ctx); err != nil || len(plan) != 0 {
			t.Errorf("plan after the migration: %q, %v; want nothing", plan, err)
		}
	})
}

// TestPlanNewTable plans a model's table on an empty database.
func TestPlanNewTable(t *testing.T) {
	want := map[string][]string{
		"sqlite":   {"CREATE TABLE `items` (`id` integer PRIMARY KEY AUTOINCREMENT,`name` text,`price` real)"},
		"postgres": {`CREATE TABLE "items" ("id" bigserial,"name" text,"price" decimal,PRIMARY KEY ("id"))`},
	}
	testkit.Each(t, nil, func(t *testing.T, db *gorm.DB) {
		plan, err := migrate.New(db, migrate.Config{Models: []any{&ItemV1{}}}).Plan(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if w := want[db.Dialector.Name()]; !slices.Equal(plan, w) {
			t.Errorf("plan\n%q\nwant\n%q", plan, w)
		}
		if got := testkit.Tables(t, db); len(got) != 0 {
			t.Errorf("tables %q after a plan, want none", got)
		}
	})
}

// TestPlanRefusesPendingMigrations: a plan starts where the migrations
// leave the database, so they must be applied first.
func TestPlanRefusesPendingMigrations(t *testing.T) {
	testkit.Each(t, nil, func(t *testing.T, db *gorm.DB) {
		s := migrate.New(db, migrate.Config{FS: notes, Models: []any{&Note{}}})
		_, err := s.Plan(context.Background())
		if !errors.Is(err, migrate.ErrPending) || err.Error() != "migrate: the database is behind its migrations: 00001_create_notes.sql, 00002_add_done.sql, 00003_seed.sql not applied; apply them first: a plan starts where they leave the database" {
			t.Errorf("Plan: %v", err)
		}
	})
}
