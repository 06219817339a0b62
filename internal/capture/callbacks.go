package capture

import (
	"context"
	"errors"
	"fmt"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// Callback names. Each write chain gets four: begin (first of all), before
// (right before GORM's own statement), after (right after it, before the
// associations saved after it, so a parent's change comes before its
// children's), commit (last of all).
const (
	cbBegin  = "capture:begin"
	cbCommit = "capture:commit"
)

// register adds the capture's callbacks to the create, update and delete
// chains of db. Every callback returns at once for an unwatched table.
func (c *Capture) register(db *gorm.DB) error {
	cb := db.Callback()
	create, update, del := cb.Create(), cb.Update(), cb.Delete()
	return errors.Join(
		create.Before("*").Register(cbBegin, c.begin),
		create.Before("gorm:create").Register("capture:before_create", c.before(Create)),
		create.After("gorm:create").Before("gorm:save_after_associations").Register("capture:after_create", c.after(Create)),
		create.After("*").Register(cbCommit, c.commit),

		update.Before("*").Register(cbBegin, c.begin),
		update.Before("gorm:update").Register("capture:before_update", c.before(Update)),
		update.After("gorm:update").Before("gorm:save_after_associations").Register("capture:after_update", c.after(Update)),
		update.After("*").Register(cbCommit, c.commit),

		del.Before("*").Register(cbBegin, c.begin),
		del.Before("gorm:delete").Register("capture:before_delete", c.before(Delete)),
		del.After("gorm:delete").Before("gorm:after_delete").Register("capture:after_delete", c.after(Delete)),
		del.After("*").Register(cbCommit, c.commit),
	)
}

// begin makes sure a write to a watched model runs in a captured
// transaction. GORM's default transaction is begun by gorm:begin_transaction
// through the pool, so begin only steps in where that would not happen: the
// statement's pool is a bare one (a session derived before Watch), or the
// default transaction is off. Every watched write commits under the commit
// lock, so even with SkipDefaultTransaction it gets a transaction.
func (c *Capture) begin(db *gorm.DB) {
	if db.Error != nil || db.DryRun || c.watched(db.Statement) == nil {
		return
	}
	cp := db.Statement.ConnPool
	if _, inTx := cp.(gorm.TxCommitter); inTx || txOf(cp) != nil {
		return // captured, or foreign and refused by before
	}
	switch cp.(type) {
	case *pool, *gorm.PreparedStmtDB:
	default:
		if !isBeginner(cp) {
			return
		}
		cp = &pool{c: c, inner: cp}
		db.Statement.ConnPool = cp
	}
	if !db.SkipDefaultTransaction {
		return
	}
	b, ok := cp.(gorm.ConnPoolBeginner)
	if !ok {
		return
	}
	ctx, cancel := db.Statement.Context, context.CancelFunc(nil)
	if db.DefaultTransactionTimeout > 0 {
		if _, ok := ctx.Deadline(); !ok {
			ctx, cancel = context.WithTimeout(ctx, db.DefaultTransactionTimeout)
		}
	}
	tx, err := b.BeginTx(ctx, nil)
	if err != nil {
		if cancel != nil {
			cancel()
		}
		db.AddError(fmt.Errorf("capture: begin: %w", err))
		return
	}
	t := txOf(tx)
	if t == nil {
		_ = tx.(gorm.TxCommitter).Rollback()
		if cancel != nil {
			cancel()
		}
		db.AddError(ErrUncapturedTx)
		return
	}
	t.owner, t.restore, t.cancel = db.Statement, cp, cancel
	db.Statement.ConnPool = tx
}

// commit ends the transaction begin started, if it started one.
func (c *Capture) commit(db *gorm.DB) {
	t := txOf(db.Statement.ConnPool)
	if t == nil || t.owner != db.Statement {
		return
	}
	committer := db.Statement.ConnPool.(gorm.TxCommitter)
	db.Statement.ConnPool = t.restore
	if db.Error != nil {
		_ = committer.Rollback()
	} else {
		db.AddError(committer.Commit())
	}
	if t.cancel != nil {
		t.cancel()
	}
}

// before runs right before GORM's own statement. It refuses a watched write
// in a transaction it cannot see, and puts a stmtConn in front of the
// transaction to learn which rows the statement writes, except for a create
// of the model's own type, which is read from the model afterwards.
func (c *Capture) before(op Op) func(*gorm.DB) {
	return func(db *gorm.DB) {
		if db.Error != nil || db.DryRun {
			return
		}
		w := c.watched(db.Statement)
		if w == nil {
			return
		}
		if txOf(db.Statement.ConnPool) == nil {
			db.AddError(ErrUncapturedTx)
			return
		}
		if op == Create && w.direct(db.Statement) {
			return
		}
		db.Statement.ConnPool = &stmtConn{
			ConnPool: db.Statement.ConnPool,
			c:        c,
			w:        w,
			db:       db,
			op:       op,
			keyQuery: c.keyQuery && op != Create,
		}
	}
}

// after runs right after GORM's own statement: it takes the stmtConn away
// again and, if the statement succeeded, appends its changes to the
// transaction.
func (c *Capture) after(op Op) func(*gorm.DB) {
	return func(db *gorm.DB) {
		s, _ := db.Statement.ConnPool.(*stmtConn)
		if s != nil {
			db.Statement.ConnPool = s.ConnPool
		}
		if db.Error != nil || db.DryRun {
			return
		}
		w := c.watched(db.Statement)
		if w == nil {
			return
		}
		t := txOf(db.Statement.ConnPool)
		if t == nil {
			return
		}
		var (
			changes []Change
			err     error
		)
		switch {
		case s == nil && op == Create:
			changes, err = c.created(db, w)
		case s == nil:
		case s.err != nil:
			err = s.err
		case s.mode == rowsRead:
			changes = c.fromRows(db, w, op, s.rows)
		case s.mode == keysFound || s.mode == destKeys:
			changes, err = c.fromKeys(db, w, op, s.keysOf(db))
		}
		if err != nil {
			db.AddError(err)
			return
		}
		t.add(traced(db, changes))
	}
}

// created returns the changes of a create of the model's own type, read from
// the values GORM just inserted (their keys filled in by it).
func (c *Capture) created(db *gorm.DB, w *model) ([]Change, error) {
	if db.RowsAffected == 0 {
		return nil, nil
	}
	rows := w.elems(db.Statement.ReflectValue)
	if oc, ok := db.Statement.Clauses["ON CONFLICT"]; ok {
		conflict, _ := oc.Expression.(clause.OnConflict)
		if !conflict.DoNothing || int(db.RowsAffected) < len(rows) {
			// An upsert may have kept columns of an existing row. With DO
			// NOTHING, GORM hands the keys of the rows inserted to the first
			// values in the batch, not to the ones inserted: the set of keys
			// is right, the values are not. Either way, read the rows back.
			ctx := db.Statement.Context
			keys := make([]any, 0, len(rows))
			for _, r := range rows {
				if !w.zeroKey(ctx, r) {
					keys = append(keys, w.keyOf(ctx, r))
				}
			}
			return c.fromKeys(db, w, Create, keys)
		}
	}
	changes := make([]Change, 0, len(rows))
	for _, r := range rows {
		row := c.copyRow(w, r)
		changes = append(changes, c.change(db, w, Create, row))
	}
	return changes, nil
}
