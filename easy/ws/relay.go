package ws

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"sync"
	"sync/atomic"
	"time"
)

// A relay connects one resource of a Manager to a Broker. Its publisher
// goroutine appends what Publish queued, in the order it was queued; its
// reader goroutine hands what the log holds to the resource, which fans it
// out as it does its own events without a broker. Both belong to the
// Manager, retry with backoff while the broker is unreachable, and stop
// when the Manager shuts down.
type relay struct {
	r        *resource
	b        Broker
	producer string
	stats    *counters

	mu      sync.Mutex
	queue   []Entry
	wake    chan struct{} // capacity 1: "queue is not empty"
	pending atomic.Int64  // entries queued or being appended
	number  uint64        // the last Batch.Number; publisher goroutine only
	synced  bool          // the reader has the log's tail; reader only
	last    uint64        // the seq of the last entry read; reader only
}

// rowSource is what a relay needs of a Source beyond snapshots: the rows'
// state as the database holds it now, and typed rows for filters and the
// Authorize hook. The Source of Setup implements it.
type rowSource interface {
	// currentRows returns the JSON of the rows with the given keys as the
	// database holds them now, by string(key); a key that is missing names
	// a row that does not exist.
	currentRows(ctx context.Context, keys []json.RawMessage) (map[string]json.RawMessage, error)
	// decodeRow returns the typed key and row of an entry; row is nil when
	// data is.
	decodeRow(key, data json.RawMessage) (k, row any, err error)
}

const (
	maxQueued   = 100_000 // entries waiting for the broker before the oldest are dropped
	maxBatch    = 256     // entries per Append
	readWait    = time.Second
	maxBackoff  = 5 * time.Second
	syncTimeout = 3 * time.Second
)

func newRelay(r *resource, b Broker, stats *counters) *relay {
	var id [8]byte
	rand.Read(id[:])
	return &relay{r: r, b: b, producer: hex.EncodeToString(id[:]), stats: stats, wake: make(chan struct{}, 1)}
}

// enqueue queues changes for the publisher and returns how many it took;
// a change that cannot be encoded is logged and skipped.
func (l *relay) enqueue(changes []Change) int {
	entries := make([]Entry, 0, len(changes))
	for _, c := range changes {
		key, err := json.Marshal(c.Key)
		if err == nil {
			_, err = encodeEventBody(l.r.name, Change{Op: c.Op, Key: json.RawMessage(key), Data: c.Data})
		}
		if err != nil {
			l.r.m.log.Error("ws: change not published", "resource", l.r.name, "op", c.Op, "key", c.Key, "error", err)
			continue
		}
		e := Entry{Op: c.Op, Key: key}
		if c.Op != TypeDelete {
			e.Data = c.Data
		}
		entries = append(entries, e)
	}
	if len(entries) == 0 {
		return 0
	}
	l.r.m.obs.publishEntries(l.r.name, entries)
	l.mu.Lock()
	l.queue = append(l.queue, entries...)
	if over := len(l.queue) - maxQueued; over > 0 {
		l.queue = append(l.queue[:0], l.queue[over:]...)
		l.pending.Add(int64(-over))
		l.stats.brokerDropped.Add(uint64(over))
		l.r.m.log.Error("ws: broker unreachable for too long: oldest events dropped", "resource", l.r.name, "events", over)
	}
	l.pending.Add(int64(len(entries)))
	l.mu.Unlock()
	select {
	case l.wake <- struct{}{}:
	default:
	}
	return len(entries)
}

// publish runs the publisher until ctx ends.
func (l *relay) publish(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-l.wake:
		}
		for ctx.Err() == nil {
			l.mu.Lock()
			n := min(len(l.queue), maxBatch)
			batch := append([]Entry(nil), l.queue[:n]...)
			l.queue = l.queue[n:]
			l.mu.Unlock()
			if n == 0 {
				break
			}
			l.appendOrdered(ctx, batch)
			l.pending.Add(int64(-n))
		}
	}
}

// appendOrdered appends entries so that the last entry of each row in
// the log carries the row's last committed state, whichever instance
// commits last: each entry carries the row as read after its commit, and
// after the append the rows are read again; a row that changed meanwhile
// is appended once more with its new state. The last entry of a row is
// therefore followed by a read that found the state it carries, and every
// later commit would have been followed by a later entry.
func (l *relay) appendOrdered(ctx context.Context, entries []Entry) {
	src, _ := l.r.src.(rowSource)
	if src != nil {
		cur, err := src.currentRows(ctx, keysOf(entries))
		if err != nil {
			l.r.m.log.Error("ws: reading rows to publish", "resource", l.r.name, "error", err)
			src = nil
		} else {
			for i := range entries {
				withState(&entries[i], cur)
			}
		}
	}
	for len(entries) > 0 && l.append(ctx, entries) && src != nil {
		latest := make(map[string]Entry, len(entries))
		for _, e := range entries {
			latest[string(e.Key)] = e
		}
		cur, err := src.currentRows(ctx, keysOf(entries))
		if err != nil {
			l.r.m.log.Error("ws: reading rows after publish", "resource", l.r.name, "error", err)
			return
		}
		entries = entries[:0:0]
		for _, e := range latest {
			data, ok := cur[string(e.Key)]
			if ok == (e.Op != TypeDelete) && bytes.Equal(data, e.Data) {
				continue
			}
			e.Op = TypeUpdate // a correction, whatever the write was
			withState(&e, cur)
			entries = append(entries, e)
		}
	}
}

// withState makes e carry the row's state in cur.
func withState(e *Entry, cur map[string]json.RawMessage) {
	data, ok := cur[string(e.Key)]
	switch {
	case !ok:
		e.Op, e.Data = TypeDelete, nil
	case e.Op == TypeDelete:
		e.Op, e.Data = TypeUpdate, data
	default:
		e.Data = data
	}
}

func keysOf(entries []Entry) []json.RawMessage {
	seen := make(map[string]bool, len(entries))
	keys := make([]json.RawMessage, 0, len(entries))
	for _, e := range entries {
		if !seen[string(e.Key)] {
			seen[string(e.Key)] = true
			keys = append(keys, e.Key)
		}
	}
	return keys
}

// append appends entries in one batch, retrying with backoff until the
// broker takes them; it reports false when ctx ends first.
func (l *relay) append(ctx context.Context, entries []Entry) bool {
	l.number++
	now := time.Now().UnixMicro()
	for i := range entries {
		entries[i].Time = now
	}
	b := Batch{Producer: l.producer, Number: l.number, Keep: l.r.m.cfg.historySize, Entries: entries}
	failed := false
	for wait := 50 * time.Millisecond; ; wait = min(2*wait, maxBackoff) {
		err := l.b.Append(ctx, l.r.name, b)
		if err == nil {
			if failed {
				l.stats.brokerReconnects.Add(1)
				l.r.m.log.Info("ws: broker reachable again", "resource", l.r.name)
			}
			return true
		}
		if ctx.Err() != nil {
			return false
		}
		if !failed {
			failed = true
			l.r.m.log.Error("ws: broker append failed, retrying", "resource", l.r.name, "error", err)
		}
		if !sleep(ctx, wait) {
			return false
		}
	}
}

// sync reads the tail of the log into the resource's history, and sends
// reset to every client that follows the resource: what they have may not
// be continuous with it.
func (l *relay) sync(ctx context.Context) error {
	seq, entries, err := l.b.Tail(ctx, l.r.name, l.r.m.cfg.historySize)
	if err != nil {
		return err
	}
	l.r.restart(l.events(entries), seq)
	l.last, l.synced = seq, true
	return nil
}

// read runs the reader until ctx ends.
func (l *relay) read(ctx context.Context) {
	failed := false
	wait := 50 * time.Millisecond
	for ctx.Err() == nil {
		var entries []Entry
		var err error
		if !l.synced {
			err = l.sync(ctx)
		} else {
			entries, err = l.b.Read(ctx, l.r.name, l.last, readWait)
		}
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			if !failed {
				failed = true
				l.r.m.log.Error("ws: broker read failed, retrying", "resource", l.r.name, "error", err)
			}
			sleep(ctx, wait)
			wait = min(2*wait, maxBackoff)
			continue
		}
		if failed {
			failed, wait = false, 50*time.Millisecond
			l.stats.brokerReconnects.Add(1)
			l.r.m.log.Info("ws: broker reachable again", "resource", l.r.name)
		}
		if len(entries) == 0 {
			continue
		}
		if entries[0].Seq != l.last+1 {
			l.r.m.log.Warn("ws: events trimmed from the broker before they were read: clients get a reset",
				"resource", l.r.name, "after", l.last, "next", entries[0].Seq)
			l.synced = false
			continue
		}
		l.r.deliver(l.events(entries))
		l.last = entries[len(entries)-1].Seq
		l.stats.brokerLag.Store(max(0, time.Now().UnixMicro()-entries[len(entries)-1].Time))
	}
}

// events turns entries into the resource's events, encoded once.
func (l *relay) events(entries []Entry) []*event { return eventsOf(l.r, entries) }

// eventsOf turns entries numbered elsewhere (a broker's log, the outbox)
// into events of r, encoded once.
func eventsOf(r *resource, entries []Entry) []*event {
	src, _ := r.src.(rowSource)
	evs := make([]*event, len(entries))
	for i, e := range entries {
		c := Change{Op: e.Op, Key: e.Key, Data: e.Data}
		if src != nil {
			if k, row, err := src.decodeRow(e.Key, e.Data); err == nil {
				c.Key, c.Row = k, row
			}
		}
		body, err := encodeEventBody(r.name, Change{Op: e.Op, Key: e.Key, Data: e.Data})
		if err != nil {
			// Not one of ours; it keeps its seq so that the history stays
			// continuous, and says only that something happened.
			r.m.log.Error("ws: bad broker entry", "resource", r.name, "seq", e.Seq, "error", err)
			body, _ = encodeEventBody(r.name, Change{Op: TypeDelete})
		}
		evs[i] = &event{seq: e.Seq, change: c, msg: withSeq(body, e.Seq), at: e.Time * 1000}
	}
	return evs
}

// sleep waits for d or until ctx ends, and reports whether d passed.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
