package easy_test

import (
	"context"
	"errors"
	"net"
	"slices"
	"strings"
	"testing"
	"testing/fstest"

	"gorm.io/gorm"

	"github.com/fastapi-easy/easy-go/easy"
	"github.com/fastapi-easy/easy-go/easy/migrate"
	"github.com/fastapi-easy/easy-go/internal/testkit"
)

// Gadget is the model of the schema tests; gadgets is its table.
type Gadget struct {
	ID   uint   `json:"id" gorm:"primaryKey"`
	Name string `json:"name"`
}

// gadgetMigrations create the table of a Gadget and add a row to it.
var gadgetMigrations = fstest.MapFS{
	"migrations/00001_create_gadgets.sql": {Data: []byte(`-- +goose Up
CREATE TABLE gadgets (id INTEGER PRIMARY KEY, name TEXT NOT NULL);
-- +goose Down
DROP TABLE gadgets;
`)},
	"migrations/00002_seed.sql": {Data: []byte(`-- +goose Up
INSERT INTO gadgets (id, name) VALUES (1, 'lever');
-- +goose Down
DELETE FROM gadgets;
`)},
}

const notReady = `{"detail":"Service Unavailable: the database schema is not ready"}`

// serveErr serves app until it stops by itself and returns its error.
func serveErr(t *testing.T, app *easy.App) error {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	return app.Serve(ctx, ln)
}

// TestFailedMigrationIsServesError: a table AutoMigrate cannot make (a
// view has its name) is not a panic in Include but Serve's error, naming
// the router, and every request is a 503, never a 500 from the missing
// table.
func TestFailedMigrationIsServesError(t *testing.T) {
	testkit.Each(t, nil, func(t *testing.T, db *gorm.DB) {
		if err := db.Exec("CREATE VIEW gadgets AS SELECT 1 AS x").Error; err != nil {
			t.Fatal(err)
		}
		app, logs := newApp(t, easy.DB(db))
		app.Include(easy.CRUDRouter[Gadget]())
		srv := testkit.Serve(t, app)
		testkit.Do(t, srv, "GET", "/gadgets", "").Expect(t, 503, notReady)
		testkit.Do(t, srv, "GET", "/openapi.json", "").Expect(t, 503, notReady)

		err := serveErr(t, app)
		const prefix = "easy: migrate *crud.Router[github.com/fastapi-easy/easy-go/easy_test.Gadget]: "
		if err == nil || !strings.HasPrefix(err.Error(), prefix) {
			t.Fatalf("Serve = %v, want an error starting %q", err, prefix)
		}
		if n := strings.Count(logs.String(), "level=ERROR msg=\""+prefix); n != 1 {
			t.Errorf("the failure is logged %d times, want once:\n%s", n, logs)
		}
	})
}

// TestPendingMigrationsStopTheStart: with versioned migrations and no
// MigrateOnStart, an App whose database is behind does not start, says
// why, and changes nothing but goose's version table.
func TestPendingMigrationsStopTheStart(t *testing.T) {
	testkit.Each(t, nil, func(t *testing.T, db *gorm.DB) {
		app, _ := newApp(t, easy.DB(db), easy.Migrations(gadgetMigrations, "migrations"))
		app.Include(easy.CRUDRouter[Gadget]())
		if got := testkit.Tables(t, db); len(got) != 0 {
			t.Errorf("tables %q after Include, want none: with migrations, the App migrates when it starts", got)
		}
		err := serveErr(t, app)
		const want = "easy: start: migrate: the database is behind its migrations: 00001_create_gadgets.sql, 00002_seed.sql not applied: " +
			"apply them with the migrate command (migrate up), or give easy.MigrateOnStart()"
		if !errors.Is(err, migrate.ErrPending) || err.Error() != want {
			t.Fatalf("Serve = %v\nwant %s", err, want)
		}
		testkit.Do(t, testkit.Serve(t, app), "GET", "/gadgets", "").Expect(t, 503, notReady)
		if got := testkit.Tables(t, db); !slices.Equal(got, []string{"goose_db_version"}) {
			t.Errorf("tables %q, want [goose_db_version]", got)
		}
	})
}

// TestMigrateOnStartOnTheFirstRequest: an App served without Run or
// Serve applies its migrations at its first request, then auto-migrates
// its routers' models (a column the migrations lack is added).
func TestMigrateOnStartOnTheFirstRequest(t *testing.T) {
	type Gadget struct {
		ID     uint   `json:"id" gorm:"primaryKey"`
		Name   string `json:"name"`
		Colour string `json:"colour" gorm:"not null;default:grey"`
	}
	testkit.Each(t, nil, func(t *testing.T, db *gorm.DB) {
		app, _ := newApp(t, easy.DB(db), easy.Migrations(gadgetMigrations, "migrations"), easy.MigrateOnStart())
		app.Include(easy.CRUDRouter[Gadget]())
		srv := testkit.Serve(t, app)
		testkit.Do(t, srv, "GET", "/gadgets", "").Expect(t, 200, `[{"id":1,"name":"lever","colour":"grey"}]`)
	})
}

// TestNoMigrateWithMigrations: NoMigrate leaves the schema to the
// migrations alone.
func TestNoMigrateWithMigrations(t *testing.T) {
	type Gadget struct {
		ID     uint   `json:"id" gorm:"primaryKey"`
		Name   string `json:"name"`
		Colour string `json:"colour"`
	}
	testkit.Each(t, nil, func(t *testing.T, db *gorm.DB) {
		app, _ := newApp(t, easy.DB(db), easy.Migrations(gadgetMigrations, "migrations"), easy.MigrateOnStart(), easy.NoMigrate())
		app.Include(easy.CRUDRouter[Gadget]())
		testkit.Do(t, testkit.Serve(t, app), "GET", "/gadgets", "").Expect(t, 200, `[{"id":1,"name":"lever","colour":""}]`)
		if db.Migrator().HasColumn(&Gadget{}, "colour") {
			t.Error("the App added a column with NoMigrate")
		}
	})
}

// TestAppAutoMigrate: models without a router are migrated as a router's
// are, and the migrate command plans them.
func TestAppAutoMigrate(t *testing.T) {
	testkit.Each(t, nil, func(t *testing.T, db *gorm.DB) {
		app, _ := newApp(t, easy.DB(db))
		app.AutoMigrate(&Gadget{})
		if got := testkit.Tables(t, db); !slices.Equal(got, []string{"gadgets"}) {
			t.Errorf("tables %q, want [gadgets]", got)
		}
		s, err := app.Schema()
		if err != nil {
			t.Fatal(err)
		}
		if plan, err := s.Plan(context.Background()); err != nil || len(plan) != 0 {
			t.Errorf("plan %q, %v; want nothing", plan, err)
		}
	})
}

// TestMigrationOptionMistakesPanic: a directory the files do not have, a
// Go migration given twice.
func TestMigrationOptionMistakesPanic(t *testing.T) {
	up := func(context.Context, *gorm.DB) error { return nil }
	for name, f := range map[string]func(){
		"easy: Migrations: open migrationz: file does not exist": func() { easy.Migrations(gadgetMigrations, "migrationz") },
		"easy: Migrations: a nil fs.FS":                          func() { easy.Migrations(nil, "migrations") },
		"easy: GoMigration 3 given twice":                        func() { easy.New(easy.GoMigration(3, up, nil), easy.GoMigration(3, up, nil)) },
		"easy: GoMigration 4: a nil up":                          func() { easy.GoMigration(4, nil, nil) },
	} {
		func() {
			defer func() {
				if v := recover(); v != name {
					t.Errorf("panic %v, want %q", v, name)
				}
			}()
			f()
		}()
	}
}
