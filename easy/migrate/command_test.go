package migrate_test

import (
	"context"
	"errors"
	"os"
	"regexp"
	"strings"
	"testing"

	"gorm.io/gorm"

	"github.com/fastapi-easy/easy-go/easy"
	"github.com/fastapi-easy/easy-go/easy/migrate"
	"github.com/fastapi-easy/easy-go/internal/testkit"
)

// run runs the migrate command line args on app and returns what it
// wrote, failing t on an error.
func run(t *testing.T, app migrate.App, args ...string) string {
	t.Helper()
	var out strings.Builder
	if err := migrate.Run(context.Background(), app, &out, args...); err != nil {
		t.Fatalf("migrate %s: %v", strings.Join(args, " "), err)
	}
	return out.String()
}

// itemsApp is an App whose schema is its migrations in ./migrations, with
// the CRUD router of model.
func itemsApp[T any](db *gorm.DB) *easy.App {
	app := easy.New(easy.DB(db), easy.Logger(quiet), easy.Migrations(os.DirFS("."), "migrations"), easy.NoMigrate())
	app.Include(easy.CRUDRouter[T]())
	return app
}

// TestCommandWorkflow goes the way of a model change to production: plan
// what AutoMigrate would do, create a migration file, put the plan in it,
// review it, apply it; then a field is added, and the same again.
func TestCommandWorkflow(t *testing.T) {
	create := map[string]string{
		"sqlite":   "CREATE TABLE `items` (`id` integer PRIMARY KEY AUTOINCREMENT,`name` text,`price` real);\n",
		"postgres": `CREATE TABLE "items" ("id" bigserial,"name" text,"price" decimal,PRIMARY KEY ("id"));` + "\n",
	}
	addStock := map[string]string{
		"sqlite":   "ALTER TABLE `items` ADD `stock` integer NOT NULL DEFAULT 0;\n",
		"postgres": `ALTER TABLE "items" ADD "stock" bigint NOT NULL DEFAULT 0;` + "\n",
	}
	testkit.Each(t, nil, func(t *testing.T, db *gorm.DB) {
		t.Chdir(t.TempDir())
		if err := os.Mkdir("migrations", 0o755); err != nil {
			t.Fatal(err)
		}
		dialect := db.Dialector.Name()
		v1 := itemsApp[ItemV1](db)
		if got := run(t, v1, "status"); got != "there are no versioned migrations\n" {
			t.Errorf("status: %q", got)
		}
		plan := run(t, v1, "plan")
		if plan != create[dialect] {
			t.Errorf("plan:\n%s\nwant\n%s", plan, create[dialect])
		}
		if got := run(t, v1, "create", "Create items!"); got != "created migrations/00001_create_items.sql\n" {
			t.Errorf("create: %q", got)
		}
		fill(t, "migrations/00001_create_items.sql", plan, "DROP TABLE items;\n")
		if got := run(t, v1, "status"); !matches(got, `VERSION  STATE    APPLIED AT \(UTC\)  MIGRATION
1        pending                    00001_create_items.sql
`) {
			t.Errorf("status:\n%s", got)
		}
		if got := run(t, v1, "up"); got != "applied 00001_create_items.sql\n" {
			t.Errorf("up: %q", got)
		}
		if got := run(t, v1, "plan"); got != "-- AutoMigrate has nothing to do: the tables match the models\n" {
			t.Errorf("plan after up: %q", got)
		}

		v2 := itemsApp[ItemV2](db)
		plan = run(t, v2, "plan")
		if plan != addStock[dialect] {
			t.Errorf("plan of a field added:\n%s\nwant\n%s", plan, addStock[dialect])
		}
		if got := run(t, v2, "create", "add_stock"); got != "created migrations/00002_add_stock.sql\n" {
			t.Errorf("create: %q", got)
		}
		fill(t, "migrations/00002_add_stock.sql", plan, "ALTER TABLE items DROP COLUMN stock;\n")
		if got := run(t, v2, "up"); got != "applied 00002_add_stock.sql\n" {
			t.Errorf("up: %q", got)
		}
		if got := run(t, v2, "up"); got != "no migration is pending\n" {
			t.Errorf("up again: %q", got)
		}
		if got := run(t, v2, "status"); !matches(got, `VERSION  STATE    APPLIED AT \(UTC\)     MIGRATION
1        applied  \d{4}-\d\d-\d\d \d\d:\d\d:\d\d  00001_create_items.sql
2        applied  \d{4}-\d\d-\d\d \d\d:\d\d:\d\d  00002_add_stock.sql
`) {
			t.Errorf("status:\n%s", got)
		}
		if got := run(t, v2, "down"); got != "rolled back 00002_add_stock.sql\n" {
			t.Errorf("down: %q", got)
		}
		err := migrate.Run(context.Background(), v2, &strings.Builder{}, "plan")
		if !errors.Is(err, migrate.ErrPending) {
			t.Errorf("plan with a migration pending: %v, want ErrPending", err)
		}
	})
}

// fill writes a migration file's two sections.
func fill(t *testing.T, path, up, down string) {
	t.Helper()
	if err := os.WriteFile(path, []byte("-- +goose Up\n"+up+"\n-- +goose Down\n"+down), 0o644); err != nil {
		t.Fatal(err)
	}
}

func matches(s, pattern string) bool {
	return regexp.MustCompile(`^` + pattern + `$`).MatchString(s)
}

func TestCommandLineMistakes(t *testing.T) {
	app := itemsAppIn(t)
	for args, want := range map[string]string{
		"":              "migrate: no command",
		"frobnicate":    `migrate: unknown command "frobnicate"`,
		"create":        "migrate: create takes 1 argument(s), not 0",
		"up now":        "migrate: up takes 0 argument(s), not 1",
		"create ---":    `migrate: create: "---" is not a name: use letters and digits`,
		"down":          "migrate: down: no migration is applied",
		"create a b":    "migrate: create takes 1 argument(s), not 2",
		"status please": "migrate: status takes 0 argument(s), not 1",
	} {
		err := migrate.Run(context.Background(), app, &strings.Builder{}, strings.Fields(args)...)
		if err == nil || err.Error() != want {
			t.Errorf("migrate %s: %v, want %s", args, err, want)
		}
	}
	if got := run(t, app, "help"); !strings.HasPrefix(got, "usage: migrate COMMAND\n") {
		t.Errorf("help: %q", got)
	}
	without := easy.New(easy.DB(testkit.SQLite(t, nil)), easy.Logger(quiet))
	err := migrate.Run(context.Background(), without, &strings.Builder{}, "create", "x")
	if err == nil || err.Error() != "migrate: create: no migrations directory: give the App easy.Migrations(fsys, dir)" {
		t.Errorf("create without migrations: %v", err)
	}
}

// itemsAppIn is itemsApp on a new SQLite database, in a new working
// directory with one migration.
func itemsAppIn(t *testing.T) *easy.App {
	t.Chdir(t.TempDir())
	if err := os.Mkdir("migrations", 0o755); err != nil {
		t.Fatal(err)
	}
	fill(t, "migrations/00001_nothing.sql", "SELECT 1;\n", "SELECT 1;\n")
	return itemsApp[ItemV1](testkit.SQLite(t, nil))
}

// TestMainLeavesOtherArguments: Main runs nothing unless asked to.
func TestMainLeavesOtherArguments(t *testing.T) {
	app := itemsAppIn(t)
	for _, args := range [][]string{nil, {}, {"serve"}, {"-addr", ":80"}, {"migrations"}} {
		if migrate.Main(app, args) {
			t.Errorf("Main(%q) ran a command", args)
		}
	}
}
