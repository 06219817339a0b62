package migrate

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"hash/fnv"
	"slices"
	"strings"
	"time"

	"github.com/mattn/go-sqlite3"
	"gorm.io/gorm"

	"github.com/fastapi-easy/easy-go/easy/problem"
)

// held is the connection that holds the lock, as goose and GORM take it.
type held struct {
	db   *sql.DB  // for goose: a pool of that one connection
	gorm *gorm.DB // the Schema's database on it

	// checkForeignKeys: SQLite's foreign keys are off for this hold (see
	// lockedForAutoMigrate); the change must check them before it ends.
	checkForeignKeys bool
}

// locked runs fn with the migration lock held, on the connection that
// holds it. Everything fn does must go through h: on SQLite another
// connection of the pool would wait for the lock held here.
//
// The lock is taken on a connection of the database's own pool, kept for
// the whole of fn. When taking or giving back the lock fails, that
// connection is dropped from the pool rather than returned to it: the
// server ends its session, and with it the lock or the transaction it
// may still hold.
func (s *Schema) locked(ctx context.Context, fn func(ctx context.Context, h *held) error) error {
	return s.hold(ctx, false, fn)
}

// lockedForAutoMigrate is locked for GORM's AutoMigrate. To change a
// column, GORM rebuilds a SQLite table (a new one, the rows copied, the
// old one dropped, the new one renamed), which fails while another
// table's rows refer to it and foreign keys are on; and they can be
// turned off only outside a transaction. So on SQLite this hold turns
// them off before it begins, as SQLite's documentation of ALTER TABLE
// says to, and fn must check them (PRAGMA foreign_key_check) before its
// change ends: see held.checkForeignKeys.
func (s *Schema) lockedForAutoMigrate(ctx context.Context, fn func(ctx context.Context, h *held) error) error {
	return s.hold(ctx, true, fn)
}

func (s *Schema) hold(ctx context.Context, foreignKeysOff bool, fn func(ctx context.Context, h *held) error) error {
	name, err := s.dialectName()
	if err != nil {
		return err
	}
	pool, err := s.db.DB()
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	conn, err := pool.Conn(ctx)
	if err != nil {
		return fmt.Errorf("migrate: connect: %w", err)
	}
	defer conn.Close()

	var result error
	rawErr := conn.Raw(func(dc any) error {
		p := newPinned(dc.(driver.Conn))
		one := sql.OpenDB(p)
		one.SetMaxOpenConns(1)
		defer one.Close()

		h := &held{db: one, gorm: s.gormOn(ctx, one)}
		var unlock func() error
		if name == "sqlite" {
			unlock, h.checkForeignKeys, err = lockSQLite(ctx, s, one, p, foreignKeysOff)
		} else {
			unlock, err = lockPostgres(ctx, s, one)
		}
		if err != nil {
			result = fmt.Errorf("migrate: take the migration lock: %w", err)
			return driver.ErrBadConn
		}
		result = fn(ctx, h)
		if err := unlock(); err != nil {
			result = errors.Join(result, fmt.Errorf("migrate: release the migration lock: %w", err))
			return driver.ErrBadConn
		}
		return nil
	})
	if rawErr != nil && !errors.Is(rawErr, driver.ErrBadConn) {
		result = errors.Join(result, fmt.Errorf("migrate: %w", rawErr))
	}
	return result
}

// lockClass is the first key of the PostgreSQL advisory lock: "easy".
const lockClass int32 = 0x65617379

// lockPostgres takes a session-level advisory lock keyed by the current
// schema, which is where AutoMigrate and goose work: Apps on two schemas
// of one database do not wait for each other. It waits as long as ctx
// lets it; the server releases the lock if the session ends.
func lockPostgres(ctx context.Context, s *Schema, db *sql.DB) (func() error, error) {
	var schema string
	if err := db.QueryRowContext(ctx, "SELECT COALESCE(current_schema(), '')").Scan(&schema); err != nil {
		return nil, err
	}
	h := fnv.New32a()
	h.Write([]byte(schema))
	key := int32(h.Sum32())
	var got bool
	if err := db.QueryRowContext(ctx, "SELECT pg_try_advisory_lock($1, $2)", lockClass, key).Scan(&got); err != nil {
		return nil, err
	}
	if !got {
		s.log.Info("migrate: waiting for the migration lock, held by another instance", "schema", schema)
		if _, err := db.ExecContext(ctx, "SELECT pg_advisory_lock($1, $2)", lockClass, key); err != nil {
			return nil, err
		}
	}
	return func() error {
		var released bool
		err := db.QueryRowContext(context.WithoutCancel(ctx), "SELECT pg_advisory_unlock($1, $2)", lockClass, key).Scan(&released)
		if err == nil && !released {
			err = errors.New("it was not held")
		}
		return err
	}, nil
}

// lockSQLite begins a transaction that takes the database's write lock at
// once (BEGIN IMMEDIATE), which SQLite gives one connection of any
// process at a time. A connection that finds it taken tries again until
// ctx ends: SQLite's own busy timeout is too short for a long migration.
// What runs under the lock runs in this transaction, and the
// transactions it begins are savepoints (see pinned).
//
// With foreignKeysOff, foreign keys that are on are turned off before
// the transaction begins and on again after it ends; offed reports that
// they were.
func lockSQLite(ctx context.Context, s *Schema, db *sql.DB, p *pinned, foreignKeysOff bool) (unlock func() error, offed bool, err error) {
	if foreignKeysOff {
		if err := db.QueryRowContext(ctx, "PRAGMA foreign_keys").Scan(&offed); err != nil {
			return nil, false, err
		}
		if offed {
			if err := p.exec(ctx, "PRAGMA foreign_keys = OFF"); err != nil {
				return nil, false, err
			}
		}
	}
	restore := func(err error) error {
		if offed {
			err = errors.Join(err, p.exec(context.WithoutCancel(ctx), "PRAGMA foreign_keys = ON"))
		}
		return err
	}
	for delay, waiting := 10*time.Millisecond, false; ; delay = min(2*delay, time.Second) {
		_, err := db.ExecContext(ctx, "BEGIN IMMEDIATE")
		if err == nil {
			break
		}
		if !busy(err) {
			return nil, false, restore(err)
		}
		if !waiting {
			waiting = true
			s.log.Info("migrate: waiting for the migration lock, held by another connection")
		}
		select {
		case <-ctx.Done():
			return nil, false, restore(ctx.Err())
		case <-time.After(delay):
		}
	}
	p.inTx = true
	return func() error {
		p.inTx = false
		ctx := context.WithoutCancel(ctx)
		err := p.exec(ctx, "COMMIT")
		if err != nil {
			err = errors.Join(err, p.exec(ctx, "ROLLBACK"))
		}
		return restore(err)
	}, offed, nil
}

// checkForeignKeys fails when a row of db refers to no row: what SQLite
// would have refused with foreign keys on.
func checkForeignKeys(db *gorm.DB) error {
	rows, err := db.Raw("PRAGMA foreign_key_check").Rows()
	if err != nil {
		return err
	}
	defer rows.Close()
	var tables []string
	for rows.Next() {
		var table, parent string
		var rowid, fkid sql.NullInt64
		if err := rows.Scan(&table, &rowid, &parent, &fkid); err != nil {
			return err
		}
		if !slices.Contains(tables, table) {
			tables = append(tables, table)
		}
	}
	if err := rows.Err(); err != nil {
		return err
	}
	if len(tables) > 0 {
		return fmt.Errorf("migrate: the change leaves rows of %s whose foreign keys refer to no row", strings.Join(tables, ", "))
	}
	return nil
}

// busy reports whether err says that another connection holds SQLite's
// write lock, or easy's gate in front of it (internal/sqlitedb).
func busy(err error) bool {
	var se sqlite3.Error
	if errors.As(err, &se) && (se.Code == sqlite3.ErrBusy || se.Code == sqlite3.ErrLocked) {
		return true
	}
	return errors.Is(err, problem.ErrUnavailable)
}
