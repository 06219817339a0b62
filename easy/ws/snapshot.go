package ws

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/fastapi-easy/easy-go/easy/query"
)

// A snapshot's rows must be those of the moment its seq was taken: no
// commit may publish in between. Reading them while commits are held off
// (capture.Exclusive) makes every writer wait for the whole read. Where
// the database can, a snapshot is read instead in a read transaction of
// its own (PostgreSQL's REPEATABLE READ, SQLite's in WAL mode), whose view
// of the database is fixed by its first statement: that statement and the
// seq are taken while commits are held off, which lasts one round trip,
// and the rows are read after, while writers go on. Their events are kept
// for the subscriber meanwhile (see resource.hold) and follow the initial
// message.

// Snapshot reads the rows that match f, at most limit of them by primary
// key, and the seq of the last event they include.
func (s *gormSource) Snapshot(ctx context.Context, f Filter, limit int) ([]Change, uint64, error) {
	rows := reflect.New(reflect.SliceOf(s.typ))
	read := func(tx *gorm.DB) error {
		q := tx.Model(reflect.New(s.typ).Interface())
		if qf, ok := f.(*query.Filter); ok && qf != nil {
			q = qf.Apply(q)
		}
		order := clause.OrderByColumn{Column: clause.Column{Table: clause.CurrentTable, Name: s.sch.PrioritizedPrimaryField.DBName}}
		return q.Order(order).Limit(limit).Find(rows.Interface()).Error
	}
	var seq uint64
	var err error
	if begin := s.readTx(); begin != "" {
		seq, err = s.pinnedRead(ctx, begin, read)
	} else {
		err = s.capture.Exclusive(ctx, func(tx *gorm.DB) error {
			// With a broker, an event delivered meanwhile may carry a state
			// the rows already have, and is sent again after the snapshot,
			// but none is left out. So with pinnedRead.
			seq = s.m.Seq(s.table)
			return read(tx)
		})
	}
	if err != nil {
		return nil, 0, fmt.Errorf("ws: snapshot of %s: %w", s.table, err)
	}
	list := rows.Elem()
	out := make([]Change, list.Len())
	for i := range out {
		row := list.Index(i).Addr()
		data, err := json.Marshal(row.Interface())
		if err != nil {
			return nil, 0, fmt.Errorf("ws: encode %s row: %w", s.table, err)
		}
		key, _ := s.sch.PrioritizedPrimaryField.ValueOf(ctx, row.Elem())
		out[i] = Change{Op: TypeInitial, Key: key, Row: row.Interface(), Data: data}
	}
	return out, seq, nil
}

// readTx returns the statement that begins a read transaction with a
// fixed view of the database beside the writers, or "" where there is
// none: a database other than PostgreSQL and SQLite, SQLite in another
// journal mode than WAL (a reader there holds writers off as well), or a
// pool of one connection (pinnedRead needs two). It asks once.
func (s *gormSource) readTx() string {
	s.readOnce.Do(func() {
		sqlDB, err := s.db.DB()
		if err != nil || sqlDB.Stats().MaxOpenConnections == 1 {
			return
		}
		switch s.db.Dialector.Name() {
		case "postgres":
			s.begin = "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"
		case "sqlite":
			// A plain BEGIN is deferred: the transaction takes no lock
			// until its first read, which fixes its view (and takes
			// neither the write lock nor internal/sqlitedb's gate beyond
			// the BEGIN itself).
			var mode string
			if s.db.Raw("PRAGMA journal_mode").Scan(&mode).Error == nil && strings.EqualFold(mode, "wal") {
				s.begin = "BEGIN"
			}
		}
	})
	return s.begin
}

// pinnedRead reads with read in a transaction that begin begins on a
// connection of its own, whose view is fixed under capture.Exclusive
// together with the seq, and returns that seq.
//
// Exclusive holds a second connection for its own transaction while the
// first waits: s.pin lets one snapshot at a time do so, so that several
// cannot hold every connection of a small pool, each waiting for one more.
func (s *gormSource) pinnedRead(ctx context.Context, begin string, read func(*gorm.DB) error) (seq uint64, err error) {
	s.pin.Lock()
	unpinned := false
	defer func() {
		if !unpinned {
			s.pin.Unlock()
		}
	}()
	err = s.db.WithContext(ctx).Connection(func(on *gorm.DB) error {
		conn := on.Statement.ConnPool.(*sql.Conn)
		tx := on.Session(&gorm.Session{}) // each statement on tx starts afresh
		if _, err := conn.ExecContext(ctx, begin); err != nil {
			return fmt.Errorf("begin: %w", err)
		}
		defer endRead(conn)
		err := s.capture.Exclusive(ctx, func(*gorm.DB) error {
			seq = s.m.Seq(s.table)
			var one []int
			return tx.Raw("SELECT 1 FROM ? LIMIT 1", clause.Table{Name: s.table}).Scan(&one).Error
		})
		s.pin.Unlock()
		unpinned = true
		if err != nil {
			return err
		}
		return read(tx)
	})
	return seq, err
}

// endRead ends the read transaction on conn. A connection whose
// transaction could not be ended is not given back to the pool, where the
// next user would find it inside one.
func endRead(conn *sql.Conn) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := conn.ExecContext(ctx, "ROLLBACK"); err != nil {
		conn.Raw(func(any) error { return driver.ErrBadConn })
	}
}
