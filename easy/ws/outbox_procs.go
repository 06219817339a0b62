package ws

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/fastapi-easy/easy-go/internal/capture"
)

// Without a broker, several processes may still write one database: a job
// built from the app, or a second replica. The commit lock serialises the
// commits of one process only, so Write does not trust its in-memory last
// seq: in the writer's transaction it reads the table's last seq (claim)
// under a lock that other processes' writers take too, held until COMMIT.
// On SQLite that lock is the database's own write lock, which a
// transaction that has written a watched row holds already (and its view
// is then the latest: SQLite lets no stale snapshot write); on
// PostgreSQL it is a transaction-level advisory lock per outbox table.
// So seqs follow commit order across processes, with no gap. On
// PostgreSQL, while no other process has been seen for outboxCrowdedFor
// (crowded), a commit to one resource saves the lock's and the read's
// round trips: its INSERT goes in only if the table's last seq is the one
// this process knows (insertIfLast), and claims when it does not. A guess
// that no other process writes costs, when wrong, the one INSERT that
// found another's row.
//
// A last seq above the one this process knows means another process
// committed events in between: Write delivers them (follow) before
// numbering its own, so that this process's clients get every event in
// seq order. A process that writes nothing reads the tables every
// outboxFollowEvery and delivers what it finds (followLoop).

// outboxFollowEvery is how often a Manager without a broker looks for
// events other processes wrote to the outbox.
var outboxFollowEvery = 500 * time.Millisecond

// outboxCrowdedFor is how long after it last saw another process write
// the outbox a process on PostgreSQL claims its numbers before each
// commit, rather than trying insertIfLast first.
var outboxCrowdedFor = 10 * time.Second

// errSeqTaken is the error of a commit whose events' seqs were taken by a
// commit its transaction cannot see.
var errSeqTaken = errors.New("ws: outbox: the next seq was taken by a commit this transaction cannot see " +
	"(another process committed after its snapshot, under REPEATABLE READ or SERIALIZABLE): retry the transaction")

// claimTables takes the numbering lock of each of tables, sorted, so that
// two commits in any processes take them in one order and do not each
// wait for a lock the other holds, and delivers the events other
// processes committed before. moved reports that there were some: the
// last seq of a table moved. The caller holds the commit lock and o.mu.
func (o *outbox) claimTables(ctx context.Context, tx capture.Execer, tables []string) (moved bool, err error) {
	for _, t := range tables {
		seq, err := o.claim(ctx, tx, t)
		if err != nil {
			return moved, err
		}
		if !o.behind(t, seq) {
			continue // nobody else wrote (or this transaction cannot see it: see seqTaken)
		}
		moved, o.crowded = true, time.Now()
		if err := o.follow(ctx, tx, t); err != nil {
			return moved, err
		}
		if o.last[t] < seq {
			return moved, fmt.Errorf("ws: outbox: %s holds seq %d, but the events up to it cannot be read", o.names[t], seq)
		}
	}
	return moved, nil
}

// crowdedNow reports whether another process was seen writing the
// tables in the last outboxCrowdedFor. The caller holds o.mu.
func (o *outbox) crowdedNow() bool { return time.Since(o.crowded) < outboxCrowdedFor }

// claim makes the commits of other processes that number events of
// resource wait until tx ends, and returns the seq of the last event of
// resource that tx sees.
func (o *outbox) claim(ctx context.Context, tx capture.Execer, resource string) (uint64, error) {
	if o.pg {
		// Two keys: a space of its own, apart from the one-key lock of create.
		_, err := tx.ExecContext(ctx, "SELECT pg_advisory_xact_lock(hashtext('easy_outbox'), hashtext($1))", o.names[resource])
		if err != nil {
			return 0, fmt.Errorf("lock %s: %w", o.names[resource], err)
		}
	}
	return o.maxSeq(ctx, tx, resource)
}

// seqTaken turns the outbox's primary key refusing a seq into errSeqTaken:
// it is no conflict of the client's (which a 409 would say), and the
// transaction can be retried. Under the numbering lock this happens only
// to a transaction whose snapshot is older than another process's commit.
func seqTaken(err error) error {
	var pg interface{ SQLState() string }
	// 40001: at REPEATABLE READ, an INSERT ... ON CONFLICT that meets a row
	// its snapshot cannot see (insertIfLast's).
	if errors.As(err, &pg) && (pg.SQLState() == "23505" || pg.SQLState() == "40001") ||
		strings.Contains(err.Error(), "UNIQUE constraint failed: "+outboxPrefix) {
		return fmt.Errorf("%w (%v)", errSeqTaken, err)
	}
	return err
}

// tableLast is the last seq of resource's table as this process knows
// it: 0 while the table is one that was empty at start and that it has
// neither written to nor read from. The caller holds o.mu.
func (o *outbox) tableLast(resource string) uint64 {
	if o.adopt[resource] {
		return 0
	}
	return o.last[resource]
}

// adopting reports whether resource's table is one that was empty at
// start and that this process has neither written to nor read from: its
// seq, the time it started, says nothing of the table's, which another
// process may have written from a seq of its own, below it (and which
// trim, going by that seq, would delete).
func (o *outbox) adopting(resource string) bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.adopt[resource]
}

// behind reports whether seq, the last seq of resource's table, says that
// another process wrote events this one has not delivered: events after
// its last, or any events at all while this process is still on the seq
// it took for a table that was empty at start (two processes that started
// on an empty table each took the time: the first to write sets the log's
// numbers, and the other adopts them). The caller holds o.mu.
func (o *outbox) behind(resource string, seq uint64) bool {
	return seq > o.last[resource] || seq > 0 && o.adopt[resource]
}

// follow delivers the events of resource after last, read through q, in
// seq order, and moves last to the last of them. Events the trimmer of
// another process deleted before this one read them leave a gap: the
// resource restarts from the events after it, and its connections get
// reset; so it does when it adopts the log of a table that was empty at
// its start (see behind). The caller holds the commit lock and o.mu.
func (o *outbox) follow(ctx context.Context, q capture.Execer, resource string) error {
	last, adopt := o.last[resource], o.adopt[resource]
	after := last
	if adopt {
		after = 0
	}
	entries, err := o.read(ctx, q, resource, "seq > "+o.ph(1)+" ORDER BY seq", after)
	if err != nil || len(entries) == 0 {
		return err
	}
	delete(o.adopt, resource)
	end := entries[len(entries)-1].Seq
	o.last[resource] = end
	r := o.m.resource(resource)
	if r == nil || o.m.ctx.Err() != nil {
		return nil
	}
	from := 0 // the first entry of the last continuous run
	for i := 1; i < len(entries); i++ {
		if entries[i].Seq != entries[i-1].Seq+1 {
			from = i
		}
	}
	evs := eventsOf(r, entries[from:])
	switch {
	case adopt:
		o.m.log.Info("ws: the outbox was started by another process: clients get reset", "resource", resource, "seq", end)
	case from > 0 || entries[0].Seq != last+1:
		o.m.log.Warn("ws: events of another process were trimmed before this one read them: clients get reset",
			"resource", resource, "after", last, "next", entries[from].Seq)
	default:
		r.deliver(evs)
		return nil
	}
	r.restart(evs, end)
	return nil
}

// startFollower starts followLoop, without a broker (with one, every
// instance reads the broker's log). It belongs to the Manager and stops
// when it shuts down.
func (o *outbox) startFollower() {
	if o.shared != nil {
		return
	}
	every := outboxFollowEvery
	o.m.wg.Add(1)
	go func() {
		defer o.m.wg.Done()
		o.followLoop(o.m.ctx, every)
	}()
}

// followLoop delivers the events other processes commit, every so often,
// until ctx ends.
func (o *outbox) followLoop(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	failed := false
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		err := o.followAll(ctx)
		switch {
		case err != nil && ctx.Err() == nil && !failed:
			failed = true
			o.m.log.Error("ws: reading other processes' events from the outbox failed, retrying", "error", err)
		case err == nil && failed:
			failed = false
			o.m.log.Info("ws: reading other processes' events from the outbox works again")
		}
	}
}

// followAll reads the last seq of each table, outside the commit lock,
// and delivers the events of those beyond this process's last under it.
// Each read has outboxRelayStep to finish: a table another session holds
// locked does not hold up this process's commits for longer.
func (o *outbox) followAll(ctx context.Context) error {
	var behind []string
	var errs []error
	for _, t := range o.tables() {
		step, cancel := context.WithTimeout(ctx, outboxRelayStep)
		seq, err := o.maxSeq(step, o.sql, t)
		cancel()
		switch {
		case err != nil:
			errs = append(errs, err)
		case o.isBehind(t, seq):
			behind = append(behind, t)
		}
	}
	if len(behind) == 0 {
		return errors.Join(errs...)
	}
	err := o.c.Hold(ctx, func(ctx context.Context) error {
		if o.dirty.Load() {
			if err := o.catchUp(ctx, o.sql); err != nil {
				return err
			}
		}
		o.mu.Lock()
		defer o.mu.Unlock()
		o.crowded = time.Now()
		var errs []error
		for _, t := range behind {
			step, cancel := context.WithTimeout(ctx, outboxRelayStep)
			errs = append(errs, o.follow(step, o.sql, t))
			cancel()
		}
		return errors.Join(errs...)
	})
	return errors.Join(append(errs, err)...)
}

// isBehind is behind, for a caller that does not hold o.mu.
func (o *outbox) isBehind(resource string, seq uint64) bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.behind(resource, seq)
}
