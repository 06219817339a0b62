package migrate_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"slices"
	"sync"
	"testing"

	"github.com/fastapi-easy/easy-go/easy"
	"github.com/fastapi-easy/easy-go/easy/ws"
	"github.com/fastapi-easy/easy-go/internal/testkit"
)

// Item is the card's model.
type Item struct {
	ID    uint    `json:"id" gorm:"primaryKey"`
	Name  string  `json:"name" required:"true" minLength:"1"`
	Price float64 `json:"price" minimum:"0"`
}

// TestInstancesStartAtOnce starts eight instances of the card's program
// at the same moment against a new database, each with its own
// connection pool, twenty times: every one starts and serves, with no
// error logged, and the database has one table (and the outbox's).
// Without the migration lock, the instances raced to CREATE TABLE items
// and all but one panicked in Include, in nearly every round.
func TestInstancesStartAtOnce(t *testing.T) {
	const instances, rounds = 8, 20
	for _, kind := range []string{"sqlite", "postgres"} {
		t.Run(kind, func(t *testing.T) {
			for round := range rounds {
				t.Run(fmt.Sprint(round), func(t *testing.T) {
					url := databaseURL(t, kind)
					t.Setenv("DATABASE_URL", url)
					logger, log := testkit.Logger(slog.LevelWarn)
					errs := make([]error, instances)
					var wg sync.WaitGroup
					start := make(chan struct{})
					for i := range instances {
						wg.Go(func() {
							<-start
							errs[i] = startCard(logger)
						})
					}
					close(start)
					wg.Wait()
					for i, err := range errs {
						if err != nil {
							t.Errorf("instance %d: %v", i, err)
						}
					}
					if s := log.String(); s != "" {
						t.Errorf("logged:\n%s", s)
					}
					// items, and the realtime outbox ws.Setup creates.
					if tables := tablesOf(t, url); !slices.Equal(tables, []string{"easy_outbox_items", "items"}) {
						t.Errorf("tables %q, want [easy_outbox_items items]", tables)
					}
				})
			}
		})
	}
}

// TestInstancesApplyMigrationsAtOnce starts four Apps with
// MigrateOnStart at once, each with its own pool, against a new
// database, five times: each migration runs once (the table runs has one
// row per migration), and each App serves.
func TestInstancesApplyMigrationsAtOnce(t *testing.T) {
	const instances, rounds = 4, 5
	for _, kind := range []string{"sqlite", "postgres"} {
		t.Run(kind, func(t *testing.T) {
			for round := range rounds {
				t.Run(fmt.Sprint(round), func(t *testing.T) {
					url := databaseURL(t, kind)
					t.Setenv("DATABASE_URL", url)
					errs := make([]error, instances)
					var wg sync.WaitGroup
					start := make(chan struct{})
					for i := range instances {
						wg.Go(func() {
							<-start
							app := easy.New(easy.Logger(quiet), easy.Migrations(notes, "."), easy.MigrateOnStart(), easy.NoMigrate())
							app.Include(easy.CRUDRouter[Note]())
							errs[i] = serveOnce(app, "/notes", `[{"id":1,"body":"first","done":false}]`)
						})
					}
					close(start)
					wg.Wait()
					for i, err := range errs {
						if err != nil {
							t.Errorf("instance %d: %v", i, err)
						}
					}
					db := testkit.OpenURL(t, url)
					var runs []int
					if err := db.Raw("SELECT version FROM runs ORDER BY version").Scan(&runs).Error; err != nil || !slices.Equal(runs, []int{1, 2, 3}) {
						t.Errorf("runs %v (%v), want [1 2 3]: each migration once", runs, err)
					}
					var versions []int
					if err := db.Raw("SELECT version_id FROM goose_db_version ORDER BY id").Scan(&versions).Error; err != nil || !slices.Equal(versions, []int{0, 1, 2, 3}) {
						t.Errorf("goose_db_version %v (%v), want [0 1 2 3]", versions, err)
					}
				})
			}
		})
	}
}

// databaseURL returns the DATABASE_URL of a new, empty database of kind.
func databaseURL(t *testing.T, kind string) string {
	if kind == "sqlite" {
		return "sqlite:" + filepath.Join(t.TempDir(), "easy.db")
	}
	return testkit.PostgresDatabase(t)
}

// startCard runs the card's program, as DATABASE_URL says, until it has
// answered GET /items, and stops it.
func startCard(logger *slog.Logger) (err error) {
	defer func() {
		if v := recover(); v != nil {
			err = fmt.Errorf("panic: %v", v)
		}
	}()
	app := easy.New(easy.Logger(logger))
	app.Include(easy.CRUDRouter[Item]())
	ws.Setup(app, Item{})
	return serveOnce(app, "/items", "[]")
}

// serveOnce serves app until it has answered GET path with 200 and body,
// and stops it.
func serveOnce(app *easy.App, path, body string) error {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- app.Serve(ctx, ln) }()
	err = get("http://"+ln.Addr().String()+path, body)
	cancel()
	if serr := <-served; serr != nil {
		return serr
	}
	return err
}

// quiet is a logger for the tests that do not read the log.
var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// get checks that url answers 200 with body.
func get(url, body string) error {
	res, err := http.Get(url)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		return err
	}
	if res.StatusCode != http.StatusOK || string(b) != body {
		return fmt.Errorf("GET %s: %d %s, want 200 %s", url, res.StatusCode, b, body)
	}
	return nil
}
