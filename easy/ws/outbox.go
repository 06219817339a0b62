package ws

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"hash/fnv"
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"gorm.io/gorm"

	"github.com/fastapi-easy/easy-go/internal/capture"
)

// The outbox makes the events of a watched write as durable as the write.
// Change capture calls Write in the writer's transaction, right before its
// COMMIT and under the capture's commit lock: Write numbers the events
// there (the seq each resource gives its next event) and inserts them into
// the resource's outbox table (easy_outbox_items for items; see
// outboxName), so that they commit or roll back with the write.
// After the commit the sink publishes them as before, with the same seqs.
// The commit lock is what makes the numbering gap-free and in commit
// order: no other watched transaction of this process can commit between
// Write and COMMIT. At start the Manager's history and seq are read back
// from the table, so that what a crash kept from the sink is served to the
// clients that resume, and the seq goes on where it stopped. The table
// keeps, per resource, the history size's worth of the latest events and
// none older than the maximum age (but always the latest), trimmed by a
// goroutine of the Manager. docs/scaling.md has the measurements.
type outbox struct {
	m   *Manager
	c   *capture.Capture
	sql *sql.DB // the pool underneath the capture: the outbox's own statements are not watched
	pg  bool    // PostgreSQL's $n placeholders, else SQLite's ?

	// names are the outbox tables, by resource (by table): one for each
	// table of Watch. Read-only after newOutbox.
	names map[string]string
	// insertOne is the INSERT of one row (most commits write one event),
	// by outbox table, and insertOneIf insertIfLast's. Read-only after
	// newOutbox.
	insertOne, insertOneIf map[string]string

	// last is the seq of the last event written per resource (by table).
	// Written under the commit lock; mu lets trim and tests read it.
	mu    sync.Mutex
	last  map[string]uint64
	dirty atomic.Bool // a COMMIT failed after Write: last may be behind the table

	written atomic.Int64  // events written since the last trim
	wake    chan struct{} // capacity 1: "trim now"

	// With a broker (see outbox_shared.go): the broker, and the relay's
	// wake-up, capacity 1.
	shared    numberedAppender
	relayWake chan struct{}
	due       map[string]bool   // resources committed to since the relay's last pass; under mu
	fresh     []string          // tables without a row in the outbox at start
	appended  map[string]uint64 // the last seq known to be in the broker's log; under mu
	pending   atomic.Int64      // rows not yet in the broker's log, as of the relay's last failure

	// Without a broker, the tables that were empty at start and that this
	// process has neither written to nor read from since (see
	// outbox_procs.go); under mu.
	adopt map[string]bool
	// crowded: when another process was last seen writing the tables;
	// for outboxCrowdedFor from then, a commit takes the numbering lock
	// first (claimTables). Under mu.
	crowded time.Time
}

const (
	outboxPrefix = "easy_outbox_"
	outboxChunk  = 500 // rows per INSERT: 2,500 parameters, under every driver's limit
)

// outboxName is the name of the outbox table of the resource whose table
// is table: outboxPrefix and table, when that is a plain lower-case
// identifier that PostgreSQL does not shorten (63 bytes at most) and not
// the counters' table of outbox_shared.go; else a readable part of it and
// a hash of the whole, so that two resources never share one.
func outboxName(table string) string {
	name := []byte(outboxPrefix)
	for _, c := range []byte(table) {
		switch {
		case 'a' <= c && c <= 'z', '0' <= c && c <= '9', c == '_':
		case 'A' <= c && c <= 'Z':
			c += 'a' - 'A'
		default:
			c = '_'
		}
		name = append(name, c)
	}
	if plain := string(name); plain == outboxPrefix+table && len(plain) <= 63 && plain != outboxSeqTable {
		return plain
	}
	h := fnv.New32a()
	h.Write([]byte(table))
	return fmt.Sprintf("%s_%08x", name[:min(len(name), 54)], h.Sum32())
}

// tables are the tables of Watch, one outbox table each.
func (o *outbox) tables() []string {
	return slices.Collect(maps.Keys(o.names))
}

// newOutbox creates the outbox tables that are missing and reads the
// last seq of each, before any resource exists. It returns nil when the outbox
// is off: NoOutbox, a broker that cannot append numbered entries, or a
// database other than SQLite and PostgreSQL.
func (m *Manager) newOutbox(db *gorm.DB, c *capture.Capture, tables []string) (*outbox, error) {
	if m.cfg.noOutbox {
		return nil, nil
	}
	shared, ok := m.cfg.broker.(numberedAppender)
	if m.cfg.broker != nil && !ok {
		m.log.Warn("ws: no outbox with this broker: a crash between commit and append loses events", "broker", fmt.Sprintf("%T", m.cfg.broker))
		return nil, nil
	}
	name := db.Dialector.Name()
	if name != "sqlite" && name != "postgres" {
		m.log.Warn("ws: no outbox on this database: a crash between commit and publish loses events", "dialect", name)
		return nil, nil
	}
	sqlDB, err := db.DB()
	if err != nil {
		return nil, err
	}
	o := &outbox{m: m, c: c, sql: sqlDB, pg: name == "postgres", last: make(map[string]uint64), wake: make(chan struct{}, 1),
		shared: shared, relayWake: make(chan struct{}, 1), due: make(map[string]bool), appended: make(map[string]uint64),
		names: make(map[string]string), insertOne: make(map[string]string), insertOneIf: make(map[string]string),
		adopt: make(map[string]bool)}
	ctx := context.Background()
	// A table per resource, keyed by seq alone: on SQLite seq is then the
	// rowid, and a new event goes at the end of the table's one B-tree,
	// the cheapest insert SQLite has (one table for all resources, keyed
	// by resource and seq, wrote a third more pages per commit: splits of
	// a key B-tree are not the rowid B-tree's appends).
	key := "seq BIGINT NOT NULL PRIMARY KEY"
	if !o.pg {
		key = "seq INTEGER PRIMARY KEY"
	}
	for _, t := range tables {
		o.names[t] = outboxName(t)
		o.insertOne[o.names[t]] = o.insertSQL(o.names[t], 1)
		if o.pg {
			o.insertOneIf[o.names[t]] = insertIfSQL(o.names[t])
		}
		err = o.create(ctx, `CREATE TABLE IF NOT EXISTS `+o.names[t]+` (
	`+key+`,
	op VARCHAR(8) NOT NULL,
	row_key TEXT NOT NULL,
	row_data TEXT,
	created BIGINT NOT NULL)`)
		if err != nil {
			return nil, fmt.Errorf("create %s: %w", o.names[t], err)
		}
		seq, err := o.maxSeq(ctx, sqlDB, t)
		if err != nil {
			return nil, err
		}
		fresh := seq == 0
		if fresh {
			// A new log starts at the time, as a resource's does: a client
			// holding a seq of a lost log is behind it and gets a reset.
			seq = uint64(time.Now().UnixMicro())
		}
		o.last[t] = seq
		if fresh {
			o.fresh = append(o.fresh, t)
			o.adopt[t] = shared == nil
		}
	}
	if shared != nil {
		if err := o.initShared(ctx); err != nil {
			return nil, err
		}
	}
	return o, nil
}

// create runs a CREATE TABLE IF NOT EXISTS. On PostgreSQL two processes
// starting at once may both find the table missing and one fails; an
// advisory lock held by the transaction makes them take turns.
func (o *outbox) create(ctx context.Context, stmt string) error {
	if !o.pg {
		_, err := o.sql.ExecContext(ctx, stmt)
		return err
	}
	tx, err := o.sql.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, "SELECT pg_advisory_xact_lock(hashtext('easy_outbox'))"); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, stmt); err != nil {
		return err
	}
	return tx.Commit()
}

// start loads each resource's history from the table and starts trimming
// it. The resources exist by now; no commit runs meanwhile. With a broker
// the history is the broker's log, which the resources have read: start
// starts the relay instead.
func (o *outbox) start() error {
	if o.shared != nil {
		return o.startShared()
	}
	err := o.c.Hold(o.m.ctx, func(ctx context.Context) error {
		o.mu.Lock()
		defer o.mu.Unlock()
		for t, seq := range o.last {
			r := o.m.resource(t)
			if r == nil {
				continue
			}
			entries, err := o.read(ctx, o.sql, t, "seq > "+o.ph(1)+" ORDER BY seq DESC LIMIT "+strconv.Itoa(o.m.cfg.historySize), 0)
			if err != nil {
				return err
			}
			for i, j := 0, len(entries)-1; i < j; i, j = i+1, j-1 {
				entries[i], entries[j] = entries[j], entries[i]
			}
			r.restart(eventsOf(r, entries), seq)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("load history from the outbox: %w", err)
	}
	o.startTrimmer()
	return nil
}

func (o *outbox) startTrimmer() {
	// The trimmer belongs to the Manager and stops when it shuts down.
	o.m.wg.Add(1)
	go func() {
		defer o.m.wg.Done()
		o.trimLoop(o.m.ctx)
	}()
}

// Write implements capture.Outbox: it numbers the events of one commit and
// inserts them in its transaction. A change that Publish would skip (see
// checkChange) is skipped here too, and takes no seq.
func (o *outbox) Write(ctx context.Context, tx capture.Execer, changes []capture.Change) error {
	if o.shared != nil {
		good := make([]Change, 0, len(changes))
		tables := make([]string, 0, len(changes))
		for _, c := range changes {
			ch := Change{Op: string(c.Op), Key: c.Key, Data: c.Data}
			if _, ok := o.names[c.Table]; ok && checkChange(ch) == nil {
				good = append(good, ch)
				tables = append(tables, c.Table)
			}
		}
		return o.writeShared(ctx, tx, good, tables)
	}
	if o.dirty.Load() {
		if err := o.catchUp(ctx, tx); err != nil {
			return err
		}
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	rows, next := o.numbered(changes)
	if len(rows) == 0 {
		return nil
	}
	// Other processes may write the table too: see outbox_procs.go. On
	// PostgreSQL, while none has been seen lately, the row of a commit of
	// one event goes in only while the table's last seq is the one this
	// process knows, which saves the round trips of the lock and the read.
	// (On SQLite the read is cheap, and an INSERT whose SELECT reads its
	// own table copies the rows into a table of its own first, which is
	// not.)
	if o.pg && !o.crowdedNow() && len(rows) == 1 {
		ok, err := o.insertIfLast(ctx, tx, rows[0], o.tableLast(next[0].table))
		if err != nil {
			return seqTaken(err)
		}
		if ok {
			o.advance(next, len(rows))
			return nil
		}
		o.crowded = time.Now()
	}
	tables := make([]string, len(next))
	for i, n := range next {
		tables[i] = n.table
	}
	slices.Sort(tables)
	moved, err := o.claimTables(ctx, tx, tables)
	if err != nil {
		return err
	}
	if moved { // numbered after events this process did not know of
		rows, next = o.numbered(changes)
	}
	if err := o.insert(ctx, tx, rows); err != nil {
		return seqTaken(err)
	}
	o.advance(next, len(rows))
	return nil
}

// numbered returns the outbox rows of changes, numbered after the last
// seq of each resource, and the last seq each resource got. A change that
// Publish would skip (see checkChange) takes no seq. The caller holds
// o.mu.
func (o *outbox) numbered(changes []capture.Change) ([]outboxRow, []tableSeq) {
	rows := make([]outboxRow, 0, len(changes))
	var next []tableSeq // the last seq given out here, by table: few tables a commit
	for _, c := range changes {
		i := slices.IndexFunc(next, func(n tableSeq) bool { return n.table == c.Table })
		if i < 0 {
			seq, ok := o.last[c.Table]
			if !ok {
				continue // not a resource of this Manager
			}
			i, next = len(next), append(next, tableSeq{c.Table, seq})
		}
		ch := Change{Op: string(c.Op), Key: c.Key, Data: c.Data}
		if checkChange(ch) != nil {
			continue
		}
		next[i].seq++
		rows = append(rows, o.row(c.Table, next[i].seq, ch))
	}
	return rows, next
}

// advance moves the last seq of each resource of next to the one its n
// rows were written with. The caller holds o.mu.
func (o *outbox) advance(next []tableSeq, n int) {
	for _, t := range next {
		o.last[t.table] = t.seq
		delete(o.adopt, t.table)
	}
	o.wrote(n)
}

// tableSeq is a seq of a table's.
type tableSeq struct {
	table string
	seq   uint64
}

// Failed implements capture.Outbox. Whether the rows were committed is
// known only to the database: the next Write, or a direct publish, reads
// the table first and publishes what it finds beyond last.
func (o *outbox) Failed() { o.dirty.Store(true) }

// published takes over Manager.Publish where the outbox changes it, and
// reports whether it did and how many events it published: every publish
// with a broker (a captured one only wakes the relay, which appends what
// Write wrote), and a direct one without.
func (o *outbox) published(r *resource, changes []Change, encoded bool) (int, bool) {
	if _, watched := o.names[r.name]; !watched {
		return 0, false // a resource added with AddResource: not in the table
	}
	switch {
	case o.shared != nil && encoded:
		o.wakeRelay(r.name)
		o.m.obs.publishChanges(r.name, changes)
		return len(changes), true
	case o.shared != nil:
		return o.publishShared(r, changes), true
	case !encoded:
		return o.publish(r, changes), true
	}
	return 0, false
}

// publish is Manager.Publish for a resource with an outbox: the events
// are written to the table between two commits, then published, so that
// the seqs of captured and published events never collide and the
// history read back at the next start has no hole.
//
// Its transaction begins before it takes the commit lock, as a writer's
// does: on SQLite the BEGIN takes the database's write lock, which a
// writer holds while it waits for the commit lock. Taken the other way
// round, the two waited for each other until SQLite's busy timeout, and
// the events were lost.
func (o *outbox) publish(r *resource, changes []Change) int {
	n := 0
	tx, err := o.sql.BeginTx(o.m.ctx, nil)
	if err == nil {
		defer tx.Rollback() // a no-op once committed
		err = o.c.Hold(o.m.ctx, func(ctx context.Context) error {
			if o.dirty.Load() {
				if err := o.catchUp(ctx, tx); err != nil {
					return err
				}
			}
			good := r.publishable(changes)
			if err := o.writeCommitted(ctx, tx, r.name, good); err != nil {
				return err
			}
			n = r.publish(good, true, nil)
			return nil
		})
	}
	if err != nil {
		o.m.log.Error("ws: events not published: outbox write failed", "resource", r.name, "events", len(changes), "error", err)
	}
	return n
}

// writeCommitted numbers changes of resource after the table's last seq
// (another process may write the table too: see outbox_procs.go), writes
// them in tx and commits it. The caller holds the commit lock.
func (o *outbox) writeCommitted(ctx context.Context, tx *sql.Tx, resource string, changes []Change) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	if _, err := o.claimTables(ctx, tx, []string{resource}); err != nil {
		return err
	}
	next := tableSeq{resource, o.last[resource]}
	rows := make([]outboxRow, 0, len(changes))
	for _, c := range changes {
		next.seq++
		rows = append(rows, o.row(resource, next.seq, c))
	}
	if err := o.insert(ctx, tx, rows); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		o.dirty.Store(true) // whether it committed is the database's to say
		return err
	}
	o.advance([]tableSeq{next}, len(rows))
	return nil
}

// catchUp sets last from the table after a COMMIT whose result is
// unknown: Write moved last past the events of that transaction. If the
// database committed it all the same, its events are in the table after
// the last one published, and are published now; if not, last goes back.
// It reads the table as follow does, so that another process's events
// there, or a hole, are taken as they are there. The caller holds the
// commit lock.
func (o *outbox) catchUp(ctx context.Context, q capture.Execer) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	for t := range o.last {
		r := o.m.resource(t)
		if r == nil {
			continue
		}
		o.last[t] = r.seq.Load()
		if err := o.follow(ctx, q, t); err != nil {
			return err
		}
	}
	o.dirty.Store(false)
	return nil
}

// outboxRow is one row of the table. Its key and data are JSON, held as
// bytes: the change's own data, not a copy (see insert).
type outboxRow struct {
	resource string
	seq      uint64
	op       string
	key      []byte
	data     []byte // nil for a delete
	created  int64
}

func (o *outbox) row(resource string, seq uint64, c Change) outboxRow {
	key, err := appendJSON(nil, c.Key)
	if err != nil {
		key = []byte("null") // as resource.body sends it
	}
	row := outboxRow{resource: resource, seq: seq, op: c.Op, key: key, created: time.Now().UnixMicro()}
	if c.Op != TypeDelete {
		row.data = c.Data
	}
	return row
}

// opArg is op as a statement argument: for the three ops a constant,
// which becomes an argument without an allocation (r.op would cost one
// per row).
func opArg(op string) any {
	switch op {
	case TypeCreate:
		return TypeCreate
	case TypeUpdate:
		return TypeUpdate
	case TypeDelete:
		return TypeDelete
	}
	return op
}

// text is JSON as a statement argument for a TEXT column: on SQLite the
// bytes themselves, which its INSERT casts (see insert); on PostgreSQL a
// string, which pgx sends as text whatever its exec mode (bytes it sends
// as bytea where it does not ask the server for the column's type).
func (o *outbox) text(b []byte) any {
	if b == nil {
		return nil // NULL, for a delete's data
	}
	if o.pg {
		return string(b)
	}
	return b
}

// ph is the placeholder of the i-th parameter, from 1.
func (o *outbox) ph(i int) string {
	if o.pg {
		return "$" + strconv.Itoa(i)
	}
	return "?"
}

// insert writes rows, each in its resource's table, in chunks of
// outboxChunk. Both drivers keep the INSERT prepared per connection
// (pgx, and internal/sqlitedb for SQLite). On SQLite key and data go as
// bytes, which its driver binds as they are (a string it copies into
// bytes first), and as bytes SQLite would store a BLOB: its INSERT casts
// them to TEXT (see insertSQL).
func (o *outbox) insert(ctx context.Context, q capture.Execer, rows []outboxRow) error {
	for len(rows) > 0 {
		n := 1 // the rows of the same resource that come first, at most a chunk
		for n < min(len(rows), outboxChunk) && rows[n].resource == rows[0].resource {
			n++
		}
		chunk := rows[:n]
		rows = rows[n:]
		table := o.names[chunk[0].resource]
		args := make([]any, 0, 5*len(chunk))
		for _, r := range chunk {
			args = append(args, int64(r.seq), opArg(r.op), o.text(r.key), o.text(r.data), r.created)
		}
		query := o.insertOne[table]
		if len(chunk) > 1 {
			query = o.insertSQL(table, len(chunk))
		}
		if _, err := q.ExecContext(ctx, query, args...); err != nil {
			return fmt.Errorf("write %s: %w", table, err)
		}
	}
	return nil
}

// insertIfLast writes row if it can take the table's numbering lock at
// once and the last seq in the table is last (0: the table is empty), and
// reports whether it did; when it did not, another process numbers events
// of the table, or has since this one last looked. PostgreSQL only. The
// lock, held until COMMIT as claim's is, keeps every other process's
// INSERT off the table meanwhile; a row committed after the statement
// began, which its read of the last seq cannot see, holds the seq, and the
// INSERT does nothing (ON CONFLICT) rather than fail the transaction. One
// row: of several, some could go in and some not.
func (o *outbox) insertIfLast(ctx context.Context, q capture.Execer, row outboxRow, last uint64) (bool, error) {
	table := o.names[row.resource]
	res, err := q.ExecContext(ctx, o.insertOneIf[table],
		int64(row.seq), opArg(row.op), o.text(row.key), o.text(row.data), row.created, lastArg(last))
	if err != nil {
		return false, fmt.Errorf("write %s: %w", table, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("write %s: %w", table, err)
	}
	return n == 1, nil
}

// insertIfSQL is insertIfLast's INSERT into table: a SELECT of the row's
// values, whose integers are cast to the columns' type (PostgreSQL types
// the parameters of a SELECT list by themselves). The lock is claim's, on
// the table's name, which outboxName keeps to [a-z0-9_].
func insertIfSQL(table string) string {
	// The last seq of an empty table is NULL (see lastArg).
	return "INSERT INTO " + table + " (seq, op, row_key, row_data, created) SELECT $1::bigint,$2,$3,$4,$5::bigint" +
		" WHERE pg_try_advisory_xact_lock(hashtext('easy_outbox'), hashtext('" + table + "'))" +
		" AND (SELECT MAX(seq) FROM " + table + ") IS NOT DISTINCT FROM $6 ON CONFLICT (seq) DO NOTHING"
}

// lastArg is last as a statement argument: NULL for 0, an empty table.
func lastArg(last uint64) any {
	if last == 0 {
		return nil
	}
	return int64(last)
}

// insertSQL is the INSERT of n rows into table.
func (o *outbox) insertSQL(table string, n int) string {
	var b strings.Builder
	b.WriteString("INSERT INTO " + table + " (seq, op, row_key, row_data, created) VALUES ")
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteByte('(')
		for j := 1; j <= 5; j++ {
			if j > 1 {
				b.WriteByte(',')
			}
			if (j == 3 || j == 4) && !o.pg { // row_key, row_data
				b.WriteString("CAST(? AS TEXT)")
				continue
			}
			b.WriteString(o.ph(5*i + j))
		}
		b.WriteByte(')')
	}
	return b.String()
}

// read returns the entries of resource that where (whose parameter is
// seq) selects, in its order.
func (o *outbox) read(ctx context.Context, q capture.Execer, resource, where string, seq uint64) ([]Entry, error) {
	table := o.names[resource]
	rows, err := q.QueryContext(ctx, "SELECT seq, op, row_key, row_data, created FROM "+table+" WHERE "+where, int64(seq))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", table, err)
	}
	defer rows.Close()
	var out []Entry
	for rows.Next() {
		var e Entry
		var s int64
		var key string
		var data sql.NullString
		if err := rows.Scan(&s, &e.Op, &key, &data, &e.Time); err != nil {
			return nil, fmt.Errorf("read %s: %w", table, err)
		}
		e.Seq, e.Key = uint64(s), []byte(key)
		if data.Valid {
			e.Data = []byte(data.String)
		}
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read %s: %w", table, err)
	}
	return out, nil
}

func (o *outbox) maxSeq(ctx context.Context, q capture.Execer, resource string) (uint64, error) {
	table := o.names[resource]
	// A bare MAX, which SQLite reads off the end of the table (in
	// COALESCE it reads the whole table); NULL for an empty one.
	rows, err := q.QueryContext(ctx, "SELECT MAX(seq) FROM "+table)
	if err != nil {
		return 0, fmt.Errorf("read %s: %w", table, err)
	}
	defer rows.Close()
	var seq sql.NullInt64
	if rows.Next() {
		err = rows.Scan(&seq)
	}
	return uint64(seq.Int64), errors.Join(err, rows.Err())
}

// wrote counts n events written and wakes the trimmer once as many as
// half the history have been written since it last ran.
func (o *outbox) wrote(n int) {
	if o.written.Add(int64(n)) >= int64(max(o.m.cfg.historySize/2, 64)) {
		select {
		case o.wake <- struct{}{}:
		default:
		}
	}
}

// outboxTrimEvery is how often the table is trimmed by age.
var outboxTrimEvery = time.Second

// trimLoop trims the table until ctx ends.
func (o *outbox) trimLoop(ctx context.Context) {
	t := time.NewTicker(outboxTrimEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-o.wake:
		}
		if err := o.trim(ctx); err != nil && ctx.Err() == nil {
			o.m.log.Error("ws: trimming the outbox", "error", err)
		}
	}
}

// trim deletes, per resource, the events before the last history-size
// ones and those older than the maximum age, keeping always the last one
// published: its seq is where the next start goes on. It deletes the
// oldest events only, up to the newest that is too old: a row's time is
// the wall clock's when it was written, and after the clock was set back
// a newer row may look older than the one before it; deleting it alone
// would leave a hole in the history read back at the next start. With a broker,
// published means in the broker's log: a row the relay has not appended
// stays, however old (a resource's own seq says nothing of it: after a
// start with the broker down, it is the time the resource was made, above
// every seq the outbox's counter gives).
func (o *outbox) trim(ctx context.Context) error {
	o.written.Store(0)
	keep := uint64(o.m.cfg.historySize)
	cutoff := time.Now().Add(-o.m.cfg.outboxAge).UnixMicro()
	var errs []error
	for _, t := range o.tables() {
		r := o.m.resource(t)
		if r == nil || o.adopting(t) {
			continue
		}
		last := r.seq.Load()
		if o.shared != nil {
			last = o.appendedOf(t)
		}
		if last == 0 {
			continue // nothing is known to be published yet
		}
		table := o.names[t]
		_, err := o.sql.ExecContext(ctx, "DELETE FROM "+table+" WHERE seq < "+o.ph(1)+" AND (seq <= "+o.ph(2)+
			" OR seq <= (SELECT MAX(seq) FROM "+table+" WHERE seq < "+o.ph(3)+" AND created < "+o.ph(4)+"))",
			int64(last), int64(last-min(last, keep)), int64(last), cutoff)
		if err != nil {
			errs = append(errs, fmt.Errorf("trim %s: %w", o.names[t], err))
		}
	}
	return errors.Join(errs...)
}
