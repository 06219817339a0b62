package ws

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/fastapi-easy/easy-go/internal/capture"
)

// With a broker, several instances commit to one database, and the seq of
// an event must be the same everywhere and follow the database's commit
// order, which no process sees. So the outbox numbers events in the
// database: a counter row per resource in easy_outbox_seq, updated by
// Write in the writer's transaction right before COMMIT. Its row lock is
// held until COMMIT, so a transaction of another instance that numbers
// events of the same resource waits until this one has committed (or
// rolled back, giving its numbers back): seqs are gap-free and in commit
// order, and a row with seq k+1 is only visible once k is.
//
// The table is then the queue to the broker. Every instance runs an
// outbox relay, woken by its own commits (for the resources they wrote)
// and by a timer (for all): it asks the broker for the seq of the last
// entry of the log, reads the outbox rows after it and appends them with
// their seqs (numberedAppender). The broker appends an entry only when
// its seq is above the log's last, so an event reaches the log exactly
// once whichever instance appends it, and however often: the instance
// that committed it normally does, at once; when that instance dies
// between COMMIT and append, the next pass of any other instance does.

// numberedAppender is a Broker that can append entries numbered
// elsewhere. RedisBroker and MemoryBroker are.
type numberedAppender interface {
	// AppendNumbered adds, in order, the entries whose Seq is above the
	// seq of the last entry of the log of resource, and trims the log to
	// its latest keep entries. Entries at or below it are there already
	// and are skipped.
	AppendNumbered(ctx context.Context, resource string, entries []Entry, keep int) error
}

const outboxSeqTable = "easy_outbox_seq"

// outboxRelayPoll is how often the relay reads every table: how soon
// another instance's orphaned events are appended.
var outboxRelayPoll = 100 * time.Millisecond

// outboxRelayStep bounds each step of a relay pass (asking the broker where
// a log ends and raising the counter; reading a batch of a table and
// appending it; counting a table's pending rows), so that a table another
// session holds locked fails its part of the pass, to be tried again on
// the next, rather than holding up every other resource's events.
var outboxRelayStep = time.Second

// within bounds ctx by d, or not at all for d = 0.
func within(ctx context.Context, d time.Duration) (context.Context, context.CancelFunc) {
	if d == 0 {
		return ctx, func() {}
	}
	return context.WithTimeout(ctx, d)
}

// initShared creates the counter table and a counter for each table,
// starting after the table's last event, or at the time for a new log.
func (o *outbox) initShared(ctx context.Context) error {
	err := o.create(ctx, `CREATE TABLE IF NOT EXISTS `+outboxSeqTable+` (
	resource VARCHAR(255) NOT NULL PRIMARY KEY,
	seq BIGINT NOT NULL)`)
	if err != nil {
		return fmt.Errorf("create %s: %w", outboxSeqTable, err)
	}
	for _, t := range o.fresh {
		// A new counter on a log the broker has already numbers on from
		// the log's end, which clients may hold.
		tctx, cancel := context.WithTimeout(ctx, syncTimeout)
		seq, _, err := o.m.cfg.broker.Tail(tctx, t, 0)
		cancel()
		if err == nil {
			o.last[t] = seq
		}
	}
	for t, seq := range o.last {
		_, err := o.sql.ExecContext(ctx, "INSERT INTO "+outboxSeqTable+" (resource, seq) VALUES ("+o.ph(1)+", "+o.ph(2)+") ON CONFLICT (resource) DO NOTHING", t, int64(seq))
		if err != nil {
			return fmt.Errorf("create the counter of %s: %w", t, err)
		}
	}
	return nil
}

// number takes n seqs of resource from its counter, in tx, and returns
// the first.
func (o *outbox) number(ctx context.Context, tx capture.Execer, resource string, n int) (uint64, error) {
	rows, err := tx.QueryContext(ctx, "UPDATE "+outboxSeqTable+" SET seq = seq + "+o.ph(1)+" WHERE resource = "+o.ph(2)+" RETURNING seq", n, resource)
	if err != nil {
		return 0, fmt.Errorf("number events of %s: %w", resource, err)
	}
	defer rows.Close()
	if !rows.Next() {
		return 0, errors.Join(fmt.Errorf("no counter for %s in %s", resource, outboxSeqTable), rows.Err())
	}
	var last int64
	if err := rows.Scan(&last); err != nil {
		return 0, err
	}
	return uint64(last) - uint64(n) + 1, rows.Close()
}

// writeShared is Write with a broker: the seqs come from the counters.
func (o *outbox) writeShared(ctx context.Context, tx capture.Execer, changes []Change, tables []string) error {
	count := make(map[string]int)
	for _, t := range tables {
		count[t]++
	}
	next := make(map[string]uint64, len(count))
	// Each counter's row stays locked until the commit: taken in one order
	// by every instance, so that two commits that write the same resources
	// do not each wait for a lock the other holds.
	for _, t := range slices.Sorted(maps.Keys(count)) {
		n := count[t]
		first, err := o.number(ctx, tx, t, n)
		if err != nil {
			return err
		}
		next[t] = first
	}
	rows := make([]outboxRow, len(changes))
	for i, c := range changes {
		rows[i] = o.row(tables[i], next[tables[i]], c)
		next[tables[i]]++
	}
	if err := o.insert(ctx, tx, rows); err != nil {
		return err
	}
	o.wrote(len(rows))
	return nil
}

// publishShared is Manager.Publish for a resource with an outbox and a
// broker: the events are written in a transaction of their own, and the
// relay appends them.
func (o *outbox) publishShared(r *resource, changes []Change) int {
	good := r.publishable(changes)
	tables := make([]string, len(good))
	for i := range tables {
		tables[i] = r.name
	}
	if len(good) == 0 {
		return 0
	}
	ctx := o.m.ctx
	err := func() error {
		tx, err := o.sql.BeginTx(ctx, nil)
		if err != nil {
			return err
		}
		if err := o.writeShared(ctx, tx, good, tables); err != nil {
			tx.Rollback()
			return err
		}
		return tx.Commit()
	}()
	if err != nil {
		o.m.log.Error("ws: events not published: outbox write failed", "resource", r.name, "events", len(good), "error", err)
		return 0
	}
	o.wakeRelay(r.name)
	o.m.obs.publishChanges(r.name, good)
	return len(good)
}

// wakeRelay has the relay append what this instance committed to resource.
func (o *outbox) wakeRelay(resource string) {
	o.mu.Lock()
	o.due[resource] = true
	o.mu.Unlock()
	select {
	case o.relayWake <- struct{}{}:
	default:
	}
}

// takeDue returns the resources woken for since it was last called.
func (o *outbox) takeDue() []string {
	o.mu.Lock()
	defer o.mu.Unlock()
	due := slices.Collect(maps.Keys(o.due))
	clear(o.due)
	return due
}

// relayLoop appends the outbox to the broker until ctx ends. A pass woken
// by a commit reads the tables of the resources committed to; a full pass
// (on the timer, and after a pass that failed) reads every table.
func (o *outbox) relayLoop(ctx context.Context) {
	t := time.NewTicker(outboxRelayPoll)
	defer t.Stop()
	failed, full := false, true
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			full = true
		case <-o.relayWake:
		}
		tables := o.takeDue()
		if full {
			tables = o.tables()
		}
		var errs []error
		for _, table := range tables {
			errs = append(errs, o.relay(ctx, table, full, outboxRelayStep))
		}
		err := errors.Join(errs...)
		full = err != nil // after a failure, ask the broker again
		o.countPending(ctx, err)
		switch {
		case err != nil && ctx.Err() == nil && !failed:
			failed = true
			o.m.log.Error("ws: outbox relay failed, retrying", "error", err)
		case err == nil && failed:
			failed = false
			o.m.log.Info("ws: outbox relay working again")
		}
	}
}

// relay appends what the outbox holds of resource beyond the broker's log.
// A full pass asks the broker where its log ends; a pass woken by a
// commit of this instance starts after the last seq it knows to be there,
// and saves a round trip: rows another instance appended meanwhile are
// skipped by the broker.
// A full pass's first step (asking the broker where the log ends, raising
// the counter) has raise to finish (0: no bound); the rest, a step each,
// outboxRelayStep.
func (o *outbox) relay(ctx context.Context, resource string, full bool, raise time.Duration) error {
	seq := o.appendedOf(resource)
	if full || seq == 0 {
		return o.relayFull(ctx, resource, raise)
	}
	return o.relayAfter(ctx, resource, seq)
}

func (o *outbox) relayFull(ctx context.Context, resource string, raise time.Duration) error {
	first, cancel := within(ctx, raise)
	defer cancel()
	seq, _, err := o.m.cfg.broker.Tail(first, resource, 0)
	if err != nil {
		return err
	}
	o.setAppended(resource, seq)
	// A log that began after the counter (a broker that lost its data)
	// numbers on from its own start: the counter moves up to it.
	_, err = o.sql.ExecContext(first, "UPDATE "+outboxSeqTable+" SET seq = "+o.ph(1)+" WHERE resource = "+o.ph(2)+" AND seq < "+o.ph(3), int64(seq), resource, int64(seq))
	if err != nil {
		return fmt.Errorf("raise the counter of %s: %w", resource, err)
	}
	return o.relayAfter(ctx, resource, seq)
}

// relayAfter appends the rows of resource after seq, a batch at a time.
func (o *outbox) relayAfter(ctx context.Context, resource string, seq uint64) error {
	for {
		n, err := o.relayBatch(ctx, resource, &seq)
		if err != nil || n < maxBatch {
			return err
		}
	}
}

// relayBatch appends the next batch of rows of resource after *seq, which
// it moves to the batch's last, and returns how many rows it appended.
func (o *outbox) relayBatch(ctx context.Context, resource string, seq *uint64) (int, error) {
	ctx, cancel := context.WithTimeout(ctx, outboxRelayStep)
	defer cancel()
	entries, err := o.read(ctx, o.sql, resource, "seq > "+o.ph(1)+" ORDER BY seq LIMIT "+fmt.Sprint(maxBatch), *seq)
	if err != nil || len(entries) == 0 {
		return 0, err
	}
	now := time.Now().UnixMicro()
	for i := range entries {
		entries[i].Time = now
	}
	if err := o.shared.AppendNumbered(ctx, resource, entries, o.m.cfg.historySize); err != nil {
		return 0, err
	}
	*seq = entries[len(entries)-1].Seq
	o.setAppended(resource, *seq)
	return len(entries), nil
}

// startShared raises each counter to the broker's log, as a relay pass
// does, before any write can be numbered below it, and starts the relay
// and the trimmer.
func (o *outbox) startShared() error {
	for _, t := range o.tables() {
		// The counters are to be raised before any write is numbered: a
		// start waits for a slow broker (one that fails is logged, and the
		// relay's passes raise them later).
		if err := o.relay(o.m.ctx, t, true, 0); err != nil {
			o.m.log.Error("ws: outbox relay failed at start, retrying", "resource", t, "error", err)
		}
	}
	// The relay belongs to the Manager and stops when it shuts down.
	o.m.wg.Add(1)
	go func() {
		defer o.m.wg.Done()
		o.relayLoop(o.m.ctx)
	}()
	o.startTrimmer()
	return nil
}

// appendedOf is the last seq of resource known to be in the broker's log.
func (o *outbox) appendedOf(resource string) uint64 {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.appended[resource]
}

func (o *outbox) setAppended(resource string, seq uint64) {
	o.mu.Lock()
	o.appended[resource] = max(o.appended[resource], seq)
	o.mu.Unlock()
}

// countPending sets pending, for Stats.BrokerPending: none after a pass
// that worked, else the rows after the last seq known to be in the log,
// in the tables it can count within a step (not one another session
// holds locked).
func (o *outbox) countPending(ctx context.Context, passErr error) {
	if passErr == nil {
		o.pending.Store(0)
		return
	}
	n := 0
	for _, t := range o.tables() {
		after := o.appendedOf(t)
		var c int
		step, cancel := context.WithTimeout(ctx, outboxRelayStep)
		err := o.sql.QueryRowContext(step, "SELECT COUNT(*) FROM "+o.names[t]+" WHERE seq > "+o.ph(1), int64(after)).Scan(&c)
		cancel()
		switch {
		case ctx.Err() != nil:
			return
		case err == nil:
			n += c
		}
	}
	o.pending.Store(int64(n))
}
