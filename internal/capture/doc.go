// Package capture publishes the committed writes to watched GORM models:
// every create, update and delete of a row reaches a Sink as a [Change] after
// the transaction it belongs to commits, in commit order, and never when it
// rolls back.
//
//	_, err := capture.Watch(db, func(changes []capture.Change) {
//		for _, ch := range changes {
//			fmt.Println(ch.Op, ch.Table, ch.Key, string(ch.Data))
//		}
//	}, &Item{})
//	db.Create(&Item{Name: "apple"}) // create items 1 {"id":1,"name":"apple"}
//	db.Transaction(func(tx *gorm.DB) error {
//		tx.Create(&Item{Name: "pear"})
//		return errors.New("no")         // rolled back: nothing printed
//	})
//	db.Delete(&Item{}, 1)               // delete items 1
//
// ExampleWatch runs this; ExampleCapture_Exclusive shows a snapshot that
// agrees with the changes delivered.
//
// GORM has no hook after a commit: a callback after "gorm:create" runs inside
// the transaction, which may still roll back. So Watch works one level lower,
// on the connection pool of the *gorm.DB. Every transaction GORM begins on it,
// by db.Transaction, db.Begin or its default transaction around a single
// write, is wrapped; the callbacks of a write append its changes to the
// transaction that runs it; COMMIT hands them to the sink and ROLLBACK drops
// them. Savepoints are followed where they execute, so a nested
// Transaction that fails, or RollbackTo, drops the changes made since its
// savepoint even when the outer transaction commits. Users go on calling
// db.Transaction, db.Begin, SavePoint, RollbackTo and nested Transaction as
// usual, on db and on every session derived from it after Watch.
//
// What a write publishes:
//
//   - Create, Save of a new row, FirstOrCreate: one create per row, batch
//     creates and CreateInBatches included, with the key the database gave it.
//     The row is copied from the caller's value; no extra query.
//   - Save of an existing row, Update, Updates, UpdateColumn(s), with a model
//     key or a WHERE clause: one update per row written, with the whole row as
//     it is in the database after the write (read by RETURNING in the same
//     statement).
//   - Delete, soft or Unscoped, by key or WHERE clause: one delete per row
//     deleted, with its key.
//   - Nothing for a statement that fails, a write that changes no rows, a
//     write to an unwatched table, or raw SQL (db.Exec, db.Raw): the capture
//     does not parse SQL, so a row written by raw SQL is never published.
//
// An [Outbox] (see Capture.WriteOutbox) is called, under the commit lock below, in each
// transaction with watched writes, right before its COMMIT, to write their
// changes in the same transaction.
//
// Each watched write commits under one lock, held across COMMIT and the sink
// call: the sink sees commits in the order the database made them, and
// [Capture.Exclusive] can read a snapshot that agrees exactly with what the
// sink has seen. For this a watched write always runs in a transaction, also
// with SkipDefaultTransaction.
//
// Limits:
//
//   - A create with ON CONFLICT (an upsert, Save of a slice) is reported as a
//     create for each row, even one the database updated, and its rows are
//     read back as they are now. With DO NOTHING and generated keys, the rows
//     not inserted are left out; with keys chosen by the caller, a row the
//     database skipped is still reported.
//   - A transaction begun on a *gorm.DB derived before Watch, or inside
//     db.Connection, is invisible to the capture; a watched write in it
//     fails with [ErrUncapturedTx].
//   - Savepoints set or rolled back by raw SQL are followed (SAVEPOINT,
//     ROLLBACK TO, RELEASE), except with PrepareStmt, where only GORM's own
//     SavePoint, RollbackTo and nested Transaction are.
//   - With a statement that carries its own RETURNING clause, an update or
//     delete first selects the keys of the rows it will write (its RETURNING
//     rows go to the caller's value, out of the capture's reach). On
//     PostgreSQL at READ COMMITTED a row that comes to match the WHERE clause
//     through a concurrent commit in between is written but not reported; on
//     SQLite the statement fails with SQLITE_BUSY if another writer commits
//     in between. Without its own RETURNING clause neither can happen.
package capture
