package migrate

import (
	"context"
	"fmt"
	"io/fs"
	"log/slog"
	"time"

	"gorm.io/gorm"
)

// Config says what a Schema is made of.
type Config struct {
	// FS holds the SQL migration files at its root, named
	// VERSION_NAME.sql (00001_create_items.sql) in goose's format; nil
	// for none.
	FS fs.FS
	// Dir is the directory, relative to the working directory, where
	// Create writes new migration files: the one FS is read from when the
	// program runs from its source directory.
	Dir string
	// Go are the migrations written in Go, numbered with the files.
	Go []Go
	// Models are the models AutoMigrate keeps the tables of, for Plan.
	Models []any
	// Logger logs the migrations applied and a wait for the lock held by
	// another instance; slog.Default() when nil.
	Logger *slog.Logger
}

// Go is a migration written in Go, for a change SQL says badly: data
// computed row by row, or a change made the same way on every database
// through GORM's Migrator. Up and Down run in the migration's
// transaction, on a *gorm.DB of their own: its writes publish no
// realtime events, as a SQL migration's do not. A nil Down cannot be
// undone but by hand, and rolls back as an empty migration.
type Go struct {
	Version  int64
	Up, Down func(ctx context.Context, tx *gorm.DB) error
}

// Migration is a versioned migration, and whether the database has it.
type Migration struct {
	Version   int64
	Name      string    // the file's name; "Go migration N" for one registered without a file
	Applied   bool      // recorded in the database's version table
	AppliedAt time.Time // when, as the database recorded it
}

// Schema is the schema of a database: the versioned migrations that
// change it and the models GORM's AutoMigrate keeps up to date. Every
// change it makes runs under one lock per database (a PostgreSQL
// advisory lock, SQLite's write lock), so that any number of instances
// of an App can start at once: one changes the schema, the others wait
// and then find it ready. An App gives its own with easy.App.Schema.
type Schema struct {
	db  *gorm.DB
	cfg Config
	log *slog.Logger
}

// New returns the Schema of db, made of what cfg says.
func New(db *gorm.DB, cfg Config) *Schema {
	log := cfg.Logger
	if log == nil {
		log = slog.Default()
	}
	return &Schema{db: db, cfg: cfg, log: log}
}

// AutoMigrate runs GORM's AutoMigrate for models under the lock, in a
// transaction: on PostgreSQL and SQLite, whose DDL is transactional, a
// failure leaves the schema as it was. On SQLite it runs with foreign
// keys off, which GORM's rebuild of a table needs, and checks them
// before it commits.
func (s *Schema) AutoMigrate(ctx context.Context, models ...any) error {
	if len(models) == 0 {
		return nil
	}
	return s.lockedForAutoMigrate(ctx, func(ctx context.Context, h *held) error {
		return h.gorm.Transaction(func(tx *gorm.DB) error {
			if err := tx.AutoMigrate(models...); err != nil {
				return err
			}
			if h.checkForeignKeys {
				return checkForeignKeys(tx)
			}
			return nil
		})
	})
}

// gormOn returns the Schema's database working through pool: its
// configuration (naming, logger, dialect) on another connection.
func (s *Schema) gormOn(ctx context.Context, pool gorm.ConnPool) *gorm.DB {
	g := s.db.Session(&gorm.Session{NewDB: true, Context: ctx})
	g.Statement.ConnPool = pool
	return g
}

// dialectName is GORM's name for the database, checked against those
// easy runs on.
func (s *Schema) dialectName() (string, error) {
	switch name := s.db.Dialector.Name(); name {
	case "sqlite", "postgres":
		return name, nil
	default:
		return "", fmt.Errorf("migrate: %s databases are not supported: PostgreSQL and SQLite are", name)
	}
}
