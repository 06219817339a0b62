package ws

import (
	"context"
	"encoding/json"
	"fmt"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"

	"github.com/fastapi-easy/easy-go/easy/query"
)

// Source is what a resource endpoint needs from the database side: it
// compiles filters and reads snapshots.
type Source interface {
	// Filter compiles a filter written in the CRUD list language, such as
	// {"price__gt": "10", "name__like": "ap"}. Its error text is sent to the
	// client as the detail of an error message.
	Filter(filter map[string]string) (Filter, error)
	// Snapshot returns the rows that match f (all rows when f is nil), at
	// most limit of them, the first by primary key, and the seq of the
	// last event they include. (The Manager asks for one row more than it
	// sends, to tell its client whether more matched.) The
	// rows and the seq must agree exactly: call Manager.Seq while no
	// commit can publish, and read the rows as they were at that moment,
	// in that window or from a database snapshot taken in it (as Watch's
	// sources do on PostgreSQL and SQLite in WAL mode, so that writers wait
	// only while the seq is taken). Each row needs Key, Row and Data; Op is
	// not used. ctx ends when its subscribe outlasts SnapshotTimeout or
	// the connection closes: a Snapshot that does not stop then keeps its
	// connection from reading meanwhile.
	Snapshot(ctx context.Context, f Filter, limit int) (rows []Change, seq uint64, err error)
}

// Filter decides which rows a subscriber receives.
type Filter interface {
	// Match reports whether row (a Change's Row) passes the filter.
	Match(row any) bool
}

// resource holds the events of one resource and the connections that
// follow it.
//
// Publish appends to pending under pubMu and wakes the fan-out goroutine,
// which hands the events to the connections under fanMu. A connection
// joins (attach) under fanMu too, so it sees a point between two events:
// everything up to delivered has been handed out, nothing after it. With
// no connection to hand them to, handing events out only moves delivered,
// and the publisher does it itself rather than wake the goroutine.
// Lock order: fanMu, then pubMu.
type resource struct {
	m    *Manager
	name string
	src  Source
	link *relay // nil without a broker: publish numbers the events

	seq atomic.Uint64 // the last seq assigned; written under pubMu

	pubMu   sync.Mutex
	hist    history
	pending []*event
	wake    chan struct{} // capacity 1: "pending is not empty"

	fanMu     sync.Mutex
	delivered uint64 // the seq of the last event handed out
	subs      map[*Conn]*subscription
	spare     []*event    // handOut's second buffer
	followed  atomic.Bool // len(subs) > 0; written under fanMu
}

// subscription is what a connection of the resource wants to receive.
type subscription struct {
	filter Filter // nil: every row
	after  uint64 // events up to this seq are not sent
	paused bool   // unsubscribed: no events until the next subscribe

	// A held subscription (see hold) keeps the events after after, up to
	// SendQueueBytes of their data, rather than route them: which of them
	// the client gets depends on the snapshot being read. Past that bound,
	// kept is dropped and overflow set: attach then takes them from the
	// history.
	holding   bool
	kept      []*event
	keptBytes int
	overflow  bool

	// held is the set of rows (by id) the client has from this
	// subscription, when it began with a snapshot and narrows the events
	// (a filter, a row policy or the Authorize hook); nil when what the
	// client holds is unknown or does not matter. more says that its
	// snapshot was cut: the client may also hold rows past it, read from
	// the REST list, which held cannot name. See route.
	held map[string]struct{}
	more bool
}

func newResource(m *Manager, name string, src Source) *resource {
	// A resource's seq starts at the time it was created, in microseconds,
	// rather than at zero: a client that resumes with a seq of an earlier
	// run of the server is then always behind the history and gets a reset,
	// instead of the events of the new run that happen to share its seq.
	base := uint64(time.Now().UnixMicro())
	r := &resource{
		m:         m,
		name:      name,
		src:       src,
		hist:      newHistory(m.cfg.historySize),
		wake:      make(chan struct{}, 1),
		delivered: base,
		subs:      make(map[*Conn]*subscription),
	}
	r.seq.Store(base)
	return r
}

// publishable returns the changes that publish would publish, having
// logged the others as it does: for the callers that number or write
// changes before they publish them (the outbox), which then publish with
// encoded set, so that each body is built once, in the fan-out.
func (r *resource) publishable(changes []Change) []Change {
	good := make([]Change, 0, len(changes))
	for _, c := range changes {
		if err := checkEvent(c); err != nil {
			r.m.log.Error("ws: change not published", "resource", r.name, "op", c.Op, "key", c.Key, "error", err)
			continue
		}
		good = append(good, c)
	}
	return good
}

// publish numbers the changes, records them and hands them to the fan-out
// goroutine. It never waits for a connection. It returns how many events
// it published: a change that cannot be encoded is logged and skipped, and
// takes no seq.
//
// With encoded true the changes come from change capture, whose Data is
// encoding/json's own output, or have passed publishable. Their events
// are encoded when first sent (see message): by the fan-out goroutine
// when somebody follows the resource, and not at all when nobody does, so
// that the committing writer pays only for numbering them.
//
// Each event is allocated on its own: the history keeps the last ones,
// and must not keep a whole large batch alive with them.
func (r *resource) publish(changes []Change, encoded bool, tr *eventTrace) int {
	now := time.Now().UnixNano()
	evs := make([]*event, 0, len(changes))
	for _, c := range changes {
		var body []byte
		var err error
		if encoded {
			err = checkChange(c)
		} else {
			body, err = encodeEventBody(r.name, c)
		}
		if err != nil {
			r.m.log.Error("ws: change not published", "resource", r.name, "op", c.Op, "key", c.Key, "error", err)
			continue
		}
		evs = append(evs, &event{change: c, msg: body, at: now, trace: tr})
	}
	if len(evs) == 0 {
		return 0
	}
	r.m.obs.publish(r.name, evs)
	r.pubMu.Lock()
	seq := r.seq.Load()
	for _, ev := range evs {
		seq++
		ev.seq = seq
		if ev.msg != nil {
			ev.msg = withSeq(ev.msg, seq)
		}
		r.hist.add(ev)
		r.pending = append(r.pending, ev)
	}
	r.seq.Store(seq)
	r.pubMu.Unlock()
	if !r.followed.Load() && r.fanMu.TryLock() {
		alone := len(r.subs) == 0
		if alone {
			r.handOut()
		}
		r.fanMu.Unlock()
		if alone {
			return len(evs)
		}
	}
	select {
	case r.wake <- struct{}{}:
	default:
	}
	return len(evs)
}

// message returns the message of ev, encoding it the first time. The
// caller holds fanMu, which makes the first time unique; the message is
// set before ev is queued to any connection. So are leaveMessage's and
// id's.
func (r *resource) message(ev *event) []byte {
	if ev.msg == nil {
		ev.msg = withSeq(r.body(ev, ev.change), ev.seq)
	}
	return ev.msg
}

// leaveMessage returns a delete of ev's row, with ev's seq.
func (r *resource) leaveMessage(ev *event) []byte {
	if ev.leave == nil {
		ev.leave = withSeq(r.body(ev, Change{Op: TypeDelete, Key: ev.change.Key}), ev.seq)
	}
	return ev.leave
}

// body builds the body of a message for ev from c, which publish checked.
// A key that cannot be encoded, the one thing left to fail, is logged and
// sent as null: the event has its seq already.
func (r *resource) body(ev *event, c Change) []byte {
	b, err := buildEventBody(r.name, c)
	if err != nil {
		r.m.log.Error("ws: event id not encoded", "resource", r.name, "seq", ev.seq, "key", c.Key, "error", err)
		c.Key = nil
		b, _ = buildEventBody(r.name, c)
	}
	return b
}

// id returns ev's key as JSON, the name of its row in a subscription's
// held set.
func (r *resource) id(ev *event) string {
	if ev.id == "" {
		ev.id = rowID(ev.change.Key)
	}
	return ev.id
}

// rowID is a key as JSON; a key that cannot be encoded is named by its Go
// form, which only has to be the same each time.
func rowID(key any) string {
	b, err := appendJSON(nil, key)
	if err != nil {
		return fmt.Sprintf("%#v", key)
	}
	return string(b)
}

// deliver records events numbered by a broker, each one more than the
// last, and hands them to the fan-out goroutine, as publish does.
func (r *resource) deliver(evs []*event) {
	r.pubMu.Lock()
	for _, ev := range evs {
		r.hist.add(ev)
	}
	r.pending = append(r.pending, evs...)
	r.seq.Store(evs[len(evs)-1].seq)
	r.pubMu.Unlock()
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

// restart replaces the history with evs, the tail of a broker's log (or
// of the outbox) up to seq, and sends reset to every connection: the
// events they have may not be continuous with it. Of evs it keeps those
// after the last hole, as the history holds one seq after the other: a
// log read back may have one (a row deleted out of turn), and a client
// resuming from before it gets a reset.
func (r *resource) restart(evs []*event, seq uint64) {
	r.fanMu.Lock()
	defer r.fanMu.Unlock()
	from := len(evs)
	for from > 0 && evs[from-1].seq == seq-uint64(len(evs)-from) {
		from--
	}
	r.pubMu.Lock()
	r.hist = newHistory(len(r.hist.ring))
	for _, ev := range evs[from:] {
		r.hist.add(ev)
	}
	r.pending = nil
	r.seq.Store(seq)
	r.pubMu.Unlock()
	r.delivered = seq
	for c, sub := range r.subs {
		sub.after = seq
		sub.held = nil
		sub.kept, sub.overflow = nil, true // what a held one kept may not be continuous either
		c.sendReset(r.name, true)
	}
}

// fanOut hands published events to the connections, in seq order. It runs
// on its own goroutine until ctx ends.
func (r *resource) fanOut(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-r.wake:
		}
		r.fanMu.Lock()
		r.handOut()
		r.fanMu.Unlock()
	}
}

// handOut queues the pending events to the connections that want them.
// The caller holds fanMu.
func (r *resource) handOut() {
	r.pubMu.Lock()
	batch := r.pending
	r.pending = r.spare[:0]
	r.pubMu.Unlock()
	for _, ev := range batch {
		if ev.seq <= r.delivered {
			continue // published before a broker's restart, which superseded it
		}
		end := r.traceFanOut(ev)
		for c, sub := range r.subs {
			if sub.holding {
				r.keep(sub, ev)
			} else if msg := r.route(c, sub, ev); msg != nil {
				c.enqueueItem(outbound{msg: msg, ev: ev})
			}
		}
		end()
		r.delivered = ev.seq
	}
	clear(batch)
	r.spare = batch
}

// keep keeps ev for a held subscription, within its bound. The caller
// holds fanMu.
func (r *resource) keep(sub *subscription, ev *event) {
	if sub.overflow {
		return
	}
	sub.keptBytes += len(ev.change.Data) + 64 // and the event's own fields
	if sub.keptBytes > r.m.cfg.sendBytes {
		sub.kept, sub.overflow = nil, true
		return
	}
	sub.kept = append(sub.kept, ev)
}

// maxHeld bounds the rows a subscription keeps track of; past it, the
// subscription goes on as one whose rows are unknown.
var maxHeld = 10_000

// route returns what connection c, with subscription sub, gets of ev: its
// message, a delete of its row, or nil. A row leaves a narrowed view with
// a delete: when the client holds it (sub.held) and an update takes it out
// of the filter or out of what the client may see. When what the client
// holds is unknown (it followed or resumed without a snapshot), or partly
// unknown (its snapshot was cut, sub.more), every update it may see that
// fails its filter goes out as a delete: it may have held that row. A row
// the client may not see is never named to it unless it held it. The
// filter is asked before the Authorize hook, which is not asked where its
// answer changes nothing. A panicking filter or hook closes c with 1011.
func (r *resource) route(c *Conn, sub *subscription, ev *event) (msg []byte) {
	if sub.paused || ev.seq <= sub.after {
		return nil
	}
	auth := r.m.cfg.authorize
	if sub.filter == nil && auth == nil && c.scope == nil {
		return r.message(ev)
	}
	if c.ctx.Err() != nil {
		return nil // closing, perhaps for a panic of the filter or hook
	}
	ok := true
	defer func() {
		if !ok {
			msg = nil
		}
	}()
	defer r.m.recoverConn(c, &ok)
	ch := ev.change
	passes := sub.filter == nil || ch.Row == nil || sub.filter.Match(ch.Row)
	allowed := func() bool {
		return (c.scope == nil || ch.Row != nil && c.scope.Match(ch.Row)) && (auth == nil || auth(c.principal, r.name, ch))
	}
	if sub.held == nil {
		switch {
		case passes && allowed():
			return r.message(ev)
		case !passes && ch.Op == TypeUpdate && allowed():
			return r.leaveMessage(ev)
		}
		return nil
	}
	id := r.id(ev)
	_, had := sub.held[id]
	switch {
	case ch.Op == TypeDelete:
		delete(sub.held, id)
		if had || passes && allowed() {
			return r.message(ev)
		}
	case passes && allowed():
		if len(sub.held) < maxHeld {
			sub.held[id] = struct{}{}
		} else {
			sub.held = nil // too many to follow: from now on, as if unknown
		}
		return r.message(ev)
	case had:
		delete(sub.held, id)
		return r.leaveMessage(ev)
	case sub.more && !passes && ch.Op == TypeUpdate && allowed():
		return r.leaveMessage(ev) // a row past the snapshot's cut, which it may have read
	}
	return nil
}

// follow makes c receive the events published from now on that pass f.
func (r *resource) follow(c *Conn, f Filter) {
	r.fanMu.Lock()
	defer r.fanMu.Unlock()
	r.subs[c] = &subscription{filter: f, after: r.delivered}
	r.followed.Store(true)
}

// resume makes c receive the events after seq since that pass f, first
// from the history, then live, with no gap and nothing twice. When that
// is impossible, c gets a reset message and the events from now on.
func (r *resource) resume(c *Conn, f Filter, since uint64) {
	r.attach(c, &subscription{filter: f, after: since}, nil, true)
}

// subscribe sends c the initial message of a snapshot, then the events
// after it that sub, as snapshot returned it, lets through.
func (r *resource) subscribe(c *Conn, initial []byte, sub *subscription) bool {
	return r.attach(c, sub, initial, true)
}

// attach replaces c's subscription with sub. Under fanMu, the events up to
// delivered have already been queued to c, kept for it or skipped, and
// the later ones will be handed to it by the fan-out goroutine with sub in
// force. So queueing first (the initial message, if any) together with
// the events after sub.after, up to delivered, puts every event after
// sub.after behind first exactly once. Those events come from what the
// held subscription that sub replaces kept, or else from the history.
// When some are gone, attach reports false, and c holds again from now,
// for another snapshot, when first is one; else c gets a reset, which
// asks an SSE stream for a fresh snapshot when ask is true.
func (r *resource) attach(c *Conn, sub *subscription, first []byte, ask bool) bool {
	r.fanMu.Lock()
	defer r.fanMu.Unlock()
	missed, ok := r.missed(r.subs[c], sub.after)
	if !ok && first != nil && r.subs[c] != nil {
		r.subs[c] = &subscription{holding: true, after: r.delivered}
		return false
	}
	if !ok {
		sub.after = r.delivered
		sub.held = nil // the client starts again from a fresh snapshot, or not at all
		r.subs[c] = sub
		r.followed.Store(true)
		c.sendReset(r.name, ask)
		return false
	}
	r.subs[c] = sub
	r.followed.Store(true)
	var msgs [][]byte
	for _, ev := range missed {
		if msg := r.route(c, sub, ev); msg != nil {
			msgs = append(msgs, msg)
		}
	}
	if first != nil || len(msgs) > 0 {
		if c.enqueueItem(outbound{msg: first, msgs: msgs, initial: first != nil}) && first != nil {
			c.unread.CompareAndSwap(0, time.Now().UnixNano())
		}
	}
	return true
}

// missed returns the events after seq after, up to delivered: those that
// prev, the subscription being replaced, kept while it was held, when it
// kept them all, or else those of the history. It reports false when
// some are no longer there. The caller holds fanMu.
func (r *resource) missed(prev *subscription, after uint64) ([]*event, bool) {
	if prev != nil && prev.holding && !prev.overflow && after >= prev.after {
		i := 0
		for i < len(prev.kept) && prev.kept[i].seq <= after {
			i++
		}
		return prev.kept[i:], true
	}
	r.pubMu.Lock()
	defer r.pubMu.Unlock()
	missed, ok := r.hist.between(after, r.delivered)
	return missed, ok && after <= r.seq.Load()
}

// hold stops c's events while a snapshot is read for it, so that nothing
// the snapshot will hold, nor anything after it, reaches c before the
// initial message: the events are kept for attach, which sends those
// that followed the snapshot. The snapshot's seq is taken after hold, so
// it is at least delivered. The returned function resumes c's previous
// subscription where it stopped, for when the snapshot fails.
func (r *resource) hold(c *Conn) (undo func()) {
	r.fanMu.Lock()
	defer r.fanMu.Unlock()
	old := r.subs[c]
	if old == nil {
		return func() {} // detached: closing
	}
	held := &subscription{holding: true, after: r.delivered}
	r.subs[c] = held
	return func() {
		if !old.paused {
			resumed := *old
			resumed.after = held.after
			r.attach(c, &resumed, nil, false) // the subscribe's error follows: its reset asks for no snapshot
			return
		}
		r.fanMu.Lock()
		defer r.fanMu.Unlock()
		if cur := r.subs[c]; cur != nil && cur.holding { // held, or held again after a snapshot that failed to join
			r.subs[c] = old
		}
	}
}

// unsubscribe stops events to c until its next subscribe.
func (r *resource) unsubscribe(c *Conn) {
	r.fanMu.Lock()
	defer r.fanMu.Unlock()
	if sub := r.subs[c]; sub != nil {
		sub.paused = true
	}
}

func (r *resource) detach(c *Conn) {
	r.fanMu.Lock()
	defer r.fanMu.Unlock()
	delete(r.subs, c)
	r.followed.Store(len(r.subs) > 0)
}

// snapshot reads a snapshot for c within ctx and encodes it as an
// initial message, leaving out the rows that c's principal may not see,
// and returns the subscription that follows it: f, from the snapshot's
// seq on. When the events that follow are narrowed (f, a row policy or
// the Authorize hook), its held names the rows sent, for route.
//
// It reads one row more than limit, and sends limit rows with "more":
// a client that needs them all reads the rest from the REST list, rather
// than take a cut snapshot for the whole. It may then hold rows the
// snapshot did not send, which the subscription's more says.
func (r *resource) snapshot(ctx context.Context, c *Conn, f Filter, limit int) (initial []byte, sub *subscription, err error) {
	read := f
	if c.scope != nil { // the policy limits the rows in SQL, before the limit
		qf, _ := f.(*query.Filter) // a Source with a policy compiles its filters with query
		read = c.scope.And(qf)
	}
	rows, seq, err := r.src.Snapshot(ctx, read, limit+1)
	if err != nil {
		return nil, nil, err
	}
	sub = &subscription{filter: f, after: seq, more: len(rows) > limit}
	rows = rows[:min(len(rows), limit)]
	data := make([]json.RawMessage, 0, len(rows))
	auth := r.m.cfg.authorize
	if (f != nil || auth != nil || c.scope != nil) && len(rows) <= maxHeld {
		sub.held = make(map[string]struct{}, len(rows))
	}
	for _, row := range rows {
		row.Op = TypeInitial
		if auth == nil || auth(c.principal, r.name, row) {
			data = append(data, row.Data)
			if sub.held != nil {
				sub.held[rowID(row.Key)] = struct{}{}
			}
		}
	}
	initial, err = encodeInitial(r.name, data, sub.more, seq)
	if err != nil {
		return nil, nil, fmt.Errorf("encode snapshot: %w", err)
	}
	return initial, sub, nil
}

// scope returns the rows of r that a connection whose handshake resolved
// ctx may see, under the resource's row policy; nil for every row.
func (r *resource) scope(ctx context.Context) (*query.Filter, error) {
	ps, ok := r.src.(interface {
		scope(context.Context) (*query.Filter, error)
	})
	if !ok {
		return nil, nil
	}
	return ps.scope(ctx)
}

// recoverConn turns a panic of application code run for c (a hook, a
// handler, a Source, a Filter) into a logged error and closes c with 1011.
// It must be deferred directly; *ok, when given, is set to false.
func (m *Manager) recoverConn(c *Conn, ok *bool) {
	p := recover()
	if p == nil {
		return
	}
	m.log.Error("ws: panic", "conn", c.id, "group", c.group, "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
	c.closeWith(websocket.StatusInternalError, "internal error", false)
	if ok != nil {
		*ok = false
	}
}
