package migrate

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"strings"

	"gorm.io/gorm"
)

// Plan returns the statements GORM's AutoMigrate would run to bring the
// database to the Schema's models, without running them: the SQL of a
// migration file to review, instead of letting AutoMigrate change a
// production database by itself. Pending migrations are an error
// wrapping ErrPending: the plan starts where they leave the database.
//
// It is a dry run that reads the database: AutoMigrate's queries of the
// schema run, its statements are collected instead. (GORM's own DryRun
// session would print every statement to the process's standard output.)
func (s *Schema) Plan(ctx context.Context) ([]string, error) {
	var stmts []string
	err := s.locked(ctx, func(ctx context.Context, h *held) error {
		if err := s.check(ctx, h); err != nil {
			return fmt.Errorf("%w; apply them first: a plan starts where they leave the database", err)
		}
		dry := &dryRun{inner: h.db, explain: s.db.Dialector.Explain}
		if err := s.gormOn(ctx, dry).AutoMigrate(s.cfg.Models...); err != nil {
			return fmt.Errorf("migrate: plan: %w", err)
		}
		stmts = dry.stmts
		return nil
	})
	return stmts, err
}

// dryRun is a connection pool that runs queries and collects the
// statements that would change something, such as AutoMigrate's DDL.
// The transactions begun on it are dryRun too, so that a statement in
// one is collected in order; their savepoints are not.
type dryRun struct {
	inner   *sql.DB
	explain func(sql string, vars ...any) string
	stmts   []string
}

var (
	_ gorm.ConnPoolBeginner = (*dryRun)(nil)
	_ gorm.TxCommitter      = (*dryTx)(nil)
)

func (d *dryRun) PrepareContext(context.Context, string) (*sql.Stmt, error) {
	return nil, errors.New("migrate: plan: a prepared statement cannot be planned")
}

func (d *dryRun) ExecContext(_ context.Context, query string, args ...any) (sql.Result, error) {
	stmt := d.explain(query, args...)
	switch up := strings.ToUpper(stmt); {
	case strings.HasPrefix(up, "SAVEPOINT "), strings.HasPrefix(up, "RELEASE SAVEPOINT "), strings.HasPrefix(up, "ROLLBACK TO SAVEPOINT "):
	default:
		d.stmts = append(d.stmts, stmt)
	}
	return driver.RowsAffected(0), nil
}

func (d *dryRun) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	return d.inner.QueryContext(ctx, query, args...)
}

func (d *dryRun) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	return d.inner.QueryRowContext(ctx, query, args...)
}

// BeginTx begins nothing: GORM's migrator wraps a table's rebuild in a
// transaction, whose statements are collected as any others.
func (d *dryRun) BeginTx(context.Context, *sql.TxOptions) (gorm.ConnPool, error) {
	return &dryTx{d}, nil
}

// dryTx is a transaction of a dryRun. It is a pointer, as GORM takes a
// transaction to be.
type dryTx struct{ *dryRun }

func (*dryTx) Commit() error   { return nil }
func (*dryTx) Rollback() error { return nil }
