package migrate

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"path"
	"strings"

	"github.com/pressly/goose/v3"
	"gorm.io/driver/postgres"
	"gorm.io/driver/sqlite"
	"gorm.io/gorm"
)

// Status lists the versioned migrations in order, each with whether the
// database has it.
func (s *Schema) Status(ctx context.Context) ([]Migration, error) {
	var list []Migration
	err := s.locked(ctx, func(ctx context.Context, h *held) error {
		var err error
		list, err = s.status(ctx, h)
		return err
	})
	return list, err
}

// Check returns an error wrapping ErrPending, naming them, when some
// migrations are not applied.
func (s *Schema) Check(ctx context.Context) error {
	return s.locked(ctx, func(ctx context.Context, h *held) error { return s.check(ctx, h) })
}

// Up applies the pending migrations in order, each in its own
// transaction unless its file says otherwise, and returns those it
// applied. A failed one is an *Error; those before it stay applied.
func (s *Schema) Up(ctx context.Context) ([]Migration, error) {
	var applied []Migration
	err := s.locked(ctx, func(ctx context.Context, h *held) error {
		p, err := s.provider(h)
		if p == nil || err != nil {
			return err
		}
		res, err := p.Up(ctx)
		var partial *goose.PartialError
		if errors.As(err, &partial) {
			res = partial.Applied
		}
		for _, r := range res {
			m := migration(r.Source)
			m.Applied = true
			applied = append(applied, m)
			s.log.Info("migrate: applied "+m.Name, "version", m.Version, "duration", r.Duration)
		}
		return s.failed(ctx, p, "up", err)
	})
	return applied, err
}

// Down rolls back the last applied migration and returns it.
func (s *Schema) Down(ctx context.Context) (Migration, error) {
	var undone Migration
	err := s.locked(ctx, func(ctx context.Context, h *held) error {
		p, err := s.provider(h)
		if err != nil {
			return err
		}
		if p == nil {
			return errors.New("migrate: down: there are no migrations")
		}
		r, err := p.Down(ctx)
		if errors.Is(err, goose.ErrNoNextVersion) {
			return errors.New("migrate: down: no migration is applied")
		}
		if err != nil {
			return s.failed(ctx, p, "down", err)
		}
		undone = migration(r.Source)
		s.log.Info("migrate: rolled back "+undone.Name, "version", undone.Version, "duration", r.Duration)
		return nil
	})
	return undone, err
}

func (s *Schema) status(ctx context.Context, h *held) ([]Migration, error) {
	p, err := s.provider(h)
	if p == nil || err != nil {
		return nil, err
	}
	st, err := p.Status(ctx)
	if err != nil {
		return nil, fmt.Errorf("migrate: status: %w", err)
	}
	list := make([]Migration, 0, len(st))
	for _, ms := range st {
		m := migration(ms.Source)
		m.Applied = ms.State == goose.StateApplied
		m.AppliedAt = ms.AppliedAt
		list = append(list, m)
	}
	return list, nil
}

func (s *Schema) check(ctx context.Context, h *held) error {
	list, err := s.status(ctx, h)
	if err != nil {
		return err
	}
	var pending []string
	for _, m := range list {
		if !m.Applied {
			pending = append(pending, m.Name)
		}
	}
	if len(pending) > 0 {
		return fmt.Errorf("%w: %s not applied", ErrPending, strings.Join(pending, ", "))
	}
	return nil
}

// failed makes err, goose's answer to op, an *Error when a migration
// failed, saying where the database stands after it.
func (s *Schema) failed(ctx context.Context, p *goose.Provider, op string, err error) error {
	if err == nil {
		return nil
	}
	var partial *goose.PartialError
	if !errors.As(err, &partial) || partial.Failed == nil {
		return fmt.Errorf("migrate: %s: %w", op, err)
	}
	version, verr := p.GetDBVersion(ctx)
	if verr != nil {
		version = -1
	}
	return &Error{Migration: migration(partial.Failed.Source), Op: op, Version: version, Err: partial.Err}
}

// provider returns goose's view of the migrations, working on the lock's
// connection; nil when there are none.
func (s *Schema) provider(h *held) (*goose.Provider, error) {
	if s.cfg.FS == nil && len(s.cfg.Go) == 0 {
		return nil, nil
	}
	dialect := goose.DialectPostgres
	if name, _ := s.dialectName(); name == "sqlite" {
		dialect = goose.DialectSQLite3
	}
	gos := make([]*goose.Migration, 0, len(s.cfg.Go))
	for _, g := range s.cfg.Go {
		gos = append(gos, goose.NewGoMigration(g.Version, s.goFunc(g.Up), s.goFunc(g.Down)))
	}
	p, err := goose.NewProvider(dialect, h.db, s.cfg.FS,
		goose.WithGoMigrations(gos...), goose.WithDisableGlobalRegistry(true))
	if errors.Is(err, goose.ErrNoMigrations) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("migrate: %w", err)
	}
	return p, nil
}

// goFunc runs fn in goose's transaction, through a *gorm.DB of its own.
func (s *Schema) goFunc(fn func(context.Context, *gorm.DB) error) *goose.GoFunc {
	if fn == nil {
		return &goose.GoFunc{Mode: goose.TransactionEnabled}
	}
	return &goose.GoFunc{RunTx: func(ctx context.Context, tx *sql.Tx) error {
		g, err := s.gormTx(tx)
		if err != nil {
			return err
		}
		return fn(ctx, g.WithContext(ctx))
	}}
}

// gormTx opens a *gorm.DB on tx with the Schema's database's naming and
// logger, but none of the callbacks registered on it (easy/ws's change
// capture, which would refuse a write in a transaction it did not begin).
func (s *Schema) gormTx(tx *sql.Tx) (*gorm.DB, error) {
	var d gorm.Dialector = postgres.New(postgres.Config{Conn: tx})
	if name, _ := s.dialectName(); name == "sqlite" {
		d = sqlite.Dialector{Conn: tx}
	}
	c := s.db.Config
	return gorm.Open(d, &gorm.Config{
		NamingStrategy:         c.NamingStrategy,
		Logger:                 c.Logger,
		NowFunc:                c.NowFunc,
		TranslateError:         c.TranslateError,
		SkipDefaultTransaction: true,
	})
}

func migration(src *goose.Source) Migration {
	m := Migration{Version: src.Version, Name: path.Base(src.Path)}
	if src.Path == "" {
		m.Name = fmt.Sprintf("Go migration %d", src.Version)
	}
	return m
}
