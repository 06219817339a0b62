package crud

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"net"
	"slices"
	"syscall"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/mattn/go-sqlite3"
	"gorm.io/gorm"
)

// TestConstraintOf checks which driver errors are unique and foreign-key
// violations, and the columns read from them.
func TestConstraintOf(t *testing.T) {
	cases := []struct {
		name string
		err  error
		v    violation
		cols []string
	}{
		{"pg unique", &pgconn.PgError{Code: "23505", Detail: `Key (name)=(apple) already exists.`}, uniqueViolation, []string{"name"}},
		{"pg unique pair", fmt.Errorf("%w: %w", gorm.ErrDuplicatedKey, &pgconn.PgError{Code: "23505", Detail: `Key (sku, "shop")=(k1, a) already exists.`}), uniqueViolation, []string{"sku", "shop"}},
		{"pg foreign key", &pgconn.PgError{Code: "23503", Detail: `Key (category_id)=(9) is not present in table "categories".`}, foreignKeyViolation, []string{"category_id"}},
		{"pg other", &pgconn.PgError{Code: "23514"}, noViolation, nil},
		{"sqlite unique", sqlite3.Error{Code: sqlite3.ErrConstraint, ExtendedCode: sqlite3.ErrConstraintUnique}, uniqueViolation, nil},
		{"sqlite primary key", sqlite3.Error{Code: sqlite3.ErrConstraint, ExtendedCode: sqlite3.ErrConstraintPrimaryKey}, uniqueViolation, nil},
		{"sqlite foreign key", sqlite3.Error{Code: sqlite3.ErrConstraint, ExtendedCode: sqlite3.ErrConstraintForeignKey}, foreignKeyViolation, nil},
		{"gorm duplicate", gorm.ErrDuplicatedKey, uniqueViolation, nil},
		{"gorm foreign key", fmt.Errorf("create: %w", gorm.ErrForeignKeyViolated), foreignKeyViolation, nil},
		{"other", errors.New("no such table: items"), noViolation, nil},
	}
	for _, c := range cases {
		v, cols := constraintOf(c.err)
		if v != c.v || !slices.Equal(cols, c.cols) {
			t.Errorf("%s: %v %v, want %v %v", c.name, v, cols, c.v, c.cols)
		}
	}
	if got := sqliteColumns("UNIQUE constraint failed: items.sku, items.shop"); !slices.Equal(got, []string{"sku", "shop"}) {
		t.Errorf("sqlite columns %v", got)
	}
}

// TestUnavailableErrors checks which errors mean the database cannot be reached.
func TestUnavailableErrors(t *testing.T) {
	yes := []error{
		driver.ErrBadConn,
		fmt.Errorf("query: %w", sql.ErrConnDone),
		errors.New("sql: database is closed"),
		context.DeadlineExceeded,
		&net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED},
		&pgconn.PgError{Code: "57P01"},
		&pgconn.PgError{Code: "08006"},
		&pgconn.PgError{Code: "53300"},
		sqlite3.Error{Code: sqlite3.ErrBusy},
		sqlite3.Error{Code: sqlite3.ErrLocked},
	}
	no := []error{
		errors.New("no such table: items"),
		&pgconn.PgError{Code: "42P01"},
		sqlite3.Error{Code: sqlite3.ErrConstraint},
		gorm.ErrInvalidData,
	}
	for _, err := range yes {
		if !unavailable(err) {
			t.Errorf("%v (%T) is not unavailable", err, err)
		}
	}
	for _, err := range no {
		if unavailable(err) {
			t.Errorf("%v (%T) is unavailable", err, err)
		}
	}
}
