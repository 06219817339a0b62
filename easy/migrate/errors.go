package migrate

import (
	"errors"
	"fmt"
)

// ErrPending is the error of a database that is behind its migrations:
// some are not applied yet. The error returned wraps it and names them.
var ErrPending = errors.New("migrate: the database is behind its migrations")

// Error is a versioned migration that failed. A migration that ran in a
// transaction (the default, unless its file says -- +goose NO
// TRANSACTION) was rolled back whole, and is not recorded as applied:
// Version is where the database stands after the failure.
type Error struct {
	Migration Migration // the migration that failed
	Op        string    // "up" or "down"
	Version   int64     // the database's version after the failure
	Err       error     // what the database said
}

func (e *Error) Error() string {
	return fmt.Sprintf("migrate: %s %s failed, and the database stays at version %d: %v",
		e.Op, e.Migration.Name, e.Version, e.Err)
}

func (e *Error) Unwrap() error { return e.Err }
