package easy

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"

	"gorm.io/gorm"

	"github.com/fastapi-easy/easy-go/easy/migrate"
	"github.com/fastapi-easy/easy-go/easy/problem"
)

// schemaConfig is what the options of versioned migrations set.
type schemaConfig struct {
	fsys fs.FS // the migration files, at its root
	dir  string
	gos  []migrate.Go
	up   bool // apply pending migrations on start, instead of refusing to start
}

func (c *schemaConfig) versioned() bool { return c.fsys != nil || len(c.gos) > 0 }

// Migrations gives the App versioned migrations: the SQL files in dir of
// fsys, named VERSION_NAME.sql (00001_create_items.sql) in goose's
// format, applied in order and recorded in the table goose_db_version.
// dir is where the migrate command creates new files too, relative to
// the working directory, so fsys is the package's files, as embedded:
//
//	//go:embed migrations
//	var migrations embed.FS
//
//	app := easy.New(easy.Migrations(migrations, "migrations"))
//
// With versioned migrations, the App readies its schema when it starts
// (Run, Serve or its first request), under the migration lock: it
// refuses to start while a migration is pending, unless MigrateOnStart
// is given, and then auto-migrates the models of its routers, unless
// NoMigrate is. See docs/migrations.md. A dir that fsys does not have
// panics.
func Migrations(fsys fs.FS, dir string) Option {
	if fsys == nil {
		panic("easy: Migrations: a nil fs.FS")
	}
	sub, err := fs.Sub(fsys, dir)
	if err == nil {
		_, err = fs.Stat(fsys, dir)
	}
	if err != nil {
		panic(fmt.Sprintf("easy: Migrations: %v", err))
	}
	return appOption(func(c *config) { c.schema.fsys, c.schema.dir = sub, dir })
}

// GoMigration adds a versioned migration written in Go, numbered with
// the SQL files of Migrations: for data computed row by row, or a change
// made the same way on PostgreSQL and SQLite with tx.Migrator(). up and
// down run in the migration's transaction; down may be nil. A version
// given twice panics.
func GoMigration(version int64, up, down func(ctx context.Context, tx *gorm.DB) error) Option {
	if up == nil {
		panic(fmt.Sprintf("easy: GoMigration %d: a nil up", version))
	}
	return appOption(func(c *config) {
		for _, g := range c.schema.gos {
			if g.Version == version {
				panic(fmt.Sprintf("easy: GoMigration %d given twice", version))
			}
		}
		c.schema.gos = append(c.schema.gos, migrate.Go{Version: version, Up: up, Down: down})
	})
}

// MigrateOnStart makes the App apply its pending versioned migrations
// when it starts, instead of refusing to start: for development, and for
// deployments whose every change may run unreviewed when an instance
// starts. However many instances start at once, each migration is
// applied once.
func MigrateOnStart() Option { return appOption(func(c *config) { c.schema.up = true }) }

// schemaState is where the App's schema stands.
type schemaState struct {
	mu      sync.Mutex
	models  []any // of the included routers and of AutoMigrate, in order
	started bool  // the start's migrations have run: models are migrated when added
	err     error // every failure to migrate, joined

	once   sync.Once
	failed atomic.Pointer[error] // err, for the requests to read without the lock
}

// Schema returns the App's schema: its versioned migrations and the
// models it auto-migrates, for the migrate command (migrate.Main) and
// for programs that migrate by themselves.
func (a *App) Schema() (*migrate.Schema, error) {
	db, err := a.Database()
	if err != nil {
		return nil, err
	}
	a.schema.mu.Lock()
	models := slices.Clone(a.schema.models)
	a.schema.mu.Unlock()
	return migrate.New(db, migrate.Config{
		FS:     a.cfg.schema.fsys,
		Dir:    a.cfg.schema.dir,
		Go:     a.cfg.schema.gos,
		Models: models,
		Logger: a.logger,
	}), nil
}

// AutoMigrate adds models to those the App auto-migrates, beside the
// models of the routers it includes (the users of a login, say), and
// migrates them as Include does its routers': at once, or when the App
// starts if it has versioned migrations, under the migration lock, and
// not at all with NoMigrate. A failure is Run's error.
func (a *App) AutoMigrate(models ...any) { a.migrateModels("models", models) }

// migrateModels adds models to the App's schema and migrates them now,
// unless the App migrates when it starts and has not started yet. A
// failure is kept for Run, Serve and the requests, and logged.
func (a *App) migrateModels(what string, models []any) {
	a.schema.mu.Lock()
	a.schema.models = append(a.schema.models, models...)
	now := a.cfg.migrate && (a.schema.started || !a.cfg.schema.versioned())
	a.schema.mu.Unlock()
	if !now || len(models) == 0 {
		return
	}
	s, err := a.Schema()
	if err == nil {
		err = s.AutoMigrate(context.Background(), models...)
	}
	if err != nil {
		a.failSchema(fmt.Errorf("easy: migrate %s: %w", what, err))
	}
}

// startSchema readies the schema once, when the App starts, and returns
// why it is not ready. Without versioned migrations, it was readied as
// the routers were included.
func (a *App) startSchema(ctx context.Context) error {
	a.schema.once.Do(func() {
		a.schema.mu.Lock()
		a.schema.started = true
		models := slices.Clone(a.schema.models)
		a.schema.mu.Unlock()
		if !a.cfg.schema.versioned() {
			return
		}
		// A request may start the migration: the client's leaving must
		// not cut it short. (WithoutCancel is called here, once, not for
		// each request.)
		if err := a.migrateOnStart(context.WithoutCancel(ctx), models); err != nil {
			a.failSchema(fmt.Errorf("easy: start: %w", err))
		}
	})
	if p := a.schema.failed.Load(); p != nil {
		return *p
	}
	return nil
}

func (a *App) migrateOnStart(ctx context.Context, models []any) error {
	s, err := a.Schema()
	if err != nil {
		return err
	}
	if a.cfg.schema.up {
		_, err = s.Up(ctx)
	} else if err = s.Check(ctx); errors.Is(err, migrate.ErrPending) {
		err = fmt.Errorf("%w: apply them with the migrate command (migrate up), or give easy.MigrateOnStart()", err)
	}
	if err != nil || !a.cfg.migrate {
		return err
	}
	return s.AutoMigrate(ctx, models...)
}

func (a *App) failSchema(err error) {
	a.logger.Error(err.Error())
	a.schema.mu.Lock()
	a.schema.err = errors.Join(a.schema.err, err)
	joined := a.schema.err
	a.schema.mu.Unlock()
	a.schema.failed.Store(&joined)
}

// schemaReady answers every request with 503 while the App's schema is
// not ready, and readies it on the first request of an App served
// without Run or Serve (by httptest.NewServer, say).
func (a *App) schemaReady(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := a.startSchema(r.Context()); err != nil {
			problem.Text(w, http.StatusServiceUnavailable, "Service Unavailable: the database schema is not ready")
			return
		}
		next.ServeHTTP(w, r)
	})
}
