package ws

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"path"
	"strconv"
	"time"

	"github.com/coder/websocket"

	"github.com/fastapi-easy/easy-go/easy/problem"
	"github.com/fastapi-easy/easy-go/easy/query"
	"github.com/fastapi-easy/easy-go/internal/binding"
)

// HandlerFunc serves one connection of a custom endpoint. ctx ends when
// the connection starts to close. When it returns nil, the connection is
// closed with 1000 after what is queued has been written; when it returns
// an error while the connection is still open, the error is logged and the
// connection is closed with 1011, as it is when it panics.
type HandlerFunc func(ctx context.Context, c *Conn) error

// ServeHTTP serves the event stream of the resource named by the last
// element of the request path, so that one Manager can be mounted at
// /ws/{resource}. An unknown resource is a 404. A request that is not a
// WebSocket handshake is refused with 405 (a method other than GET), 426
// (no upgrade asked for) or 400 (a version other than 13, a bad key), and
// one from a foreign origin with 403; every refusal is {"detail": ...}.
//
// The client receives every event of the resource from the moment it
// connects. The query may hold since=SEQ, to resume after the event SEQ
// from the history (or get a reset), and filter={...}, a JSON object in
// the CRUD list language that narrows the stream as subscribe does, and
// batch=1, to receive messages queued together as one frame holding a
// JSON array of them (frames.go); a bad value of any is a 422 before
// the upgrade.
func (m *Manager) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	res := m.resource(path.Base(r.URL.Path))
	if res == nil {
		problem.Text(w, http.StatusNotFound, "Not Found")
		return
	}
	if !m.admit(w, r) {
		return
	}
	q, err := binding.Query(r)
	if err != nil {
		problem.Write(w, r, m.log, err)
		return
	}
	var ep endpoint
	f, since, resume, err := parseQuery(res, q)
	if err == nil {
		// batch=1: the messages queued to the client go together, in
		// order, as one frame holding a JSON array of them (frames.go).
		ep.batch, err = queryBool(q, "batch")
	}
	if err != nil {
		problem.Write(w, r, m.log, err)
		return
	}
	ep.group, ep.res, ep.filter, ep.since, ep.resume = res.name, res, f, since, resume
	c := m.open(w, r, ep)
	if c == nil {
		return
	}
	// The reader runs on a goroutine of its own, so that the handler's
	// deep stack, request and middleware are released after the upgrade.
	go func() {
		defer m.release(c, res)
		defer m.recoverConn(c, nil)
		for {
			msg, err := c.Read(c.ctx)
			if err != nil {
				return
			}
			m.handleRequest(c, res, msg)
		}
	}()
}

// Handler returns an endpoint for a custom protocol, such as an echo or a
// chat room: each connection is served by h, with the Manager's limits,
// heartbeat (protocol pings only) and registry. group names the
// connections for Broadcast; it should differ from every resource name.
// Given to easy.App.Handle, the endpoint is a channel of the App's
// AsyncAPI document, which Describe documents.
func (m *Manager) Handler(group string, h HandlerFunc, opts ...HandlerOption) http.Handler {
	if group == "" || h == nil {
		panic("ws: Handler needs a group name and a HandlerFunc")
	}
	e := &customEndpoint{m: m, group: group}
	for _, o := range opts {
		o(e)
	}
	e.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !m.admit(w, r) {
			return
		}
		c := m.open(w, r, endpoint{group: group})
		if c == nil {
			return
		}
		defer m.release(c, nil)
		defer m.recoverConn(c, nil)
		if err := h(c.ctx, c); err != nil && c.ctx.Err() == nil {
			m.log.Error("ws: handler failed", "conn", c.id, "group", group, "error", err)
			c.closeWith(websocket.StatusInternalError, "internal error", false)
		}
	})
	return e
}

// handleRequest answers one client message of the resource protocol.
func (m *Manager) handleRequest(c *Conn, res *resource, msg []byte) {
	req, err := parseRequest(msg, m.cfg.snapshotLimit)
	if err != nil {
		c.enqueue(errorMessage(err.Error()))
		return
	}
	switch req.Type {
	case TypePing:
		c.enqueue([]byte(pongMessage))
	case TypeSubscribe:
		m.subscribe(c, res, req)
	case TypeUnsubscribe:
		res.unsubscribe(c)
	case TypePresence:
		m.answerPresence(c)
	default:
		if fn := m.cfg.onMessage; fn != nil {
			if err := fn(c.ctx, c, msg); err != nil {
				c.enqueue(errorMessage(err.Error()))
			}
			return
		}
		c.enqueue(errorMessage(fmt.Sprintf("unknown message type %q", req.Type)))
	}
}

// snapshotTries is how many snapshots a subscribe reads at most, when
// the events written while one is read are more than its connection may
// keep and the history no longer holds them.
const snapshotTries = 3

// subscribe answers a subscribe message with a snapshot and narrows the
// connection's events to its filter; or, having changed nothing, with an
// error.
func (m *Manager) subscribe(c *Conn, res *resource, req request) {
	if res.src == nil {
		c.enqueue(errorMessage("subscribe is not available for this resource"))
		return
	}
	var f Filter
	if len(req.Filter) > 0 {
		var err error
		if f, err = res.src.Filter(req.Filter); err != nil {
			c.enqueue(errorMessage(err.Error()))
			return
		}
	}
	limit := req.Limit
	if limit == 0 {
		limit = m.cfg.snapshotLimit
	}
	// A client that has not read its last snapshot for a while is not
	// reading: another would cost a read of the database and sit in its
	// queue too. It gets a short error instead, which fills its queue
	// by the message until it is closed as a slow consumer. (An SSE
	// client sends no subscribe: its stream asks for a snapshot after a
	// reset, whose client must get one.)
	if t := c.unread.Load(); c.sse == nil && t != 0 && time.Since(time.Unix(0, t)) > unreadSnapshot {
		c.enqueue(errorMessage("the last snapshot has not been read: read it before subscribing again"))
		return
	}
	// A connection reads one snapshot at a time, as it handles its
	// messages in order; the Manager reads at most MaxSnapshots at once,
	// and a subscribe waits for its turn. The whole subscribe, its waits
	// and every snapshot it reads, has SnapshotTimeout: its connection's
	// reader, which sees no pong meanwhile, is back within it.
	ctx, cancel := context.WithTimeout(c.ctx, m.cfg.snapshotWait)
	defer cancel()
	undo := func() {} // until c is held
	fail := func(err error, detail string, later bool) {
		m.failSubscribe(c, res, undo, err, detail, later)
	}
	timedOut := fmt.Sprintf("the snapshot took longer than %v to read: subscribe again later, or narrow the filter", m.cfg.snapshotWait)
	for try := 1; ; try++ {
		select {
		case m.snapshots <- struct{}{}:
		case <-ctx.Done():
			fail(fmt.Errorf("%w, waiting for its turn (MaxSnapshots %d)", errSnapshotTimeout, cap(m.snapshots)), timedOut, true)
			return
		}
		if try == 1 {
			undo = res.hold(c)
		}
		initial, sub, err := m.readSnapshot(ctx, c, res, f, limit)
		switch {
		case errors.Is(err, errSnapshotTimeout):
			fail(err, timedOut, true)
			return
		case err != nil:
			fail(err, "snapshot failed", true)
			return
		case len(initial) > m.cfg.sendBytes:
			// It could never be queued: say why, rather than close as if the
			// client were slow. Asking again would meet the same.
			fail(nil, fmt.Sprintf("snapshot of %d bytes exceeds the send queue of %d bytes: ask for fewer rows (limit) or narrow the filter",
				len(initial), m.cfg.sendBytes), false)
			return
		}
		if res.subscribe(c, initial, sub) {
			return
		}
		// More was written while it was read than c may keep: the
		// snapshot cannot be joined to the events after it. c holds
		// again; read another.
		if try == snapshotTries {
			fail(nil, "the rows changed faster than a snapshot could be read: subscribe again later, or narrow the filter", true)
			return
		}
	}
}

// failSubscribe answers a subscribe that failed with an error, undoing
// what it did to c's subscription. When a later subscribe may do better,
// an SSE stream, whose client cannot send one, is ended for its client to
// reconnect (restartStream): before undo, so that no event follows the
// error.
func (m *Manager) failSubscribe(c *Conn, res *resource, undo func(), err error, detail string, later bool) {
	if err != nil && c.ctx.Err() == nil {
		m.log.Error("ws: snapshot failed", "resource", res.name, "conn", c.id, "error", err)
	}
	if later && c.sse != nil && c.enqueue(errorMessage(detail)) {
		c.restartStream()
	}
	undo()
	if c.ctx.Err() == nil {
		c.enqueue(errorMessage(detail))
	}
}

// unreadSnapshot is how long a snapshot may wait to be written to its
// client before the client's next subscribe is refused.
const unreadSnapshot = time.Second

// errSnapshotTimeout is a subscribe that took longer than
// SnapshotTimeout.
var errSnapshotTimeout = errors.New("ws: snapshot timed out")

// readSnapshot reads a snapshot for c within ctx, in the turn subscribe
// took, and gives the turn back, also when the Source panics.
func (m *Manager) readSnapshot(ctx context.Context, c *Conn, res *resource, f Filter, limit int) ([]byte, *subscription, error) {
	defer func() { <-m.snapshots }()
	initial, sub, err := res.snapshot(ctx, c, f, limit)
	if err != nil && errors.Is(ctx.Err(), context.DeadlineExceeded) {
		err = fmt.Errorf("%w: %w", errSnapshotTimeout, err)
	}
	return initial, sub, err
}

// parseQuery reads since and filter from the query of a resource endpoint.
func parseQuery(res *resource, q url.Values) (f Filter, since uint64, resume bool, err error) {
	if q.Has("since") {
		if since, err = parseSeq(binding.QueryValue(q, "since"), "query", "since"); err != nil {
			return nil, 0, false, err
		}
		resume = true
	}
	if q.Has("filter") {
		s := binding.QueryValue(q, "filter")
		invalid := func(msg string) error {
			return problem.Invalid("value_error", []any{"query", "filter"}, "Value error, "+msg, s)
		}
		if res.src == nil {
			return nil, 0, false, invalid("this resource cannot be filtered")
		}
		fields, err := parseFilter([]byte(s))
		if err != nil {
			return nil, 0, false, invalid(err.Error())
		}
		if len(fields) > 0 {
			if f, err = res.src.Filter(fields); err != nil {
				return nil, 0, false, invalid(err.Error())
			}
		}
	}
	return f, since, resume, nil
}

// parseSeq reads a seq to resume after, from the query's since or SSE's
// Last-Event-ID header; loc names where it was, for the 422.
func parseSeq(s string, loc ...any) (uint64, error) {
	seq, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		return 0, problem.Invalid("int_parsing", loc,
			"Input should be a valid integer, unable to parse string as an integer", s)
	}
	return seq, nil
}

// endpoint says what a connection is opened for.
type endpoint struct {
	group  string
	res    *resource // nil on a custom endpoint
	filter Filter
	since  uint64
	resume bool
	batch  bool // the client asked for batched frames (frames.go)
}

// open runs the checks that come before the upgrade and after admit,
// upgrades and registers the connection, and starts its goroutines. It
// returns nil when it has refused the request, having written the
// response.
func (m *Manager) open(w http.ResponseWriter, r *http.Request, ep endpoint) *Conn {
	c := m.prepare(w, r, ep, m.closeRefused)
	if c == nil {
		return nil
	}
	addr := c.addr
	c.batch = ep.batch
	registered := false
	u := &upgrader{ResponseWriter: w, c: c, upgrade: func() {
		// This runs as Accept writes the 101, so a client whose handshake
		// has completed receives every event published after that.
		if registered = m.register(c); registered {
			m.connected(c, ep)
		}
	}}
	// admit has checked what Accept would refuse: it fails now only when
	// the connection cannot be taken over.
	wsc, err := websocket.Accept(u, r, &m.accept)
	switch {
	case err != nil && !registered:
		m.unreserve(addr)
		m.stats.refused.Add(1)
		m.obs.refuse("upgrade")
		m.log.Debug("ws: upgrade refused", "remote", r.RemoteAddr, "error", err)
		return nil
	case err != nil: // the hijack failed after the 101
		c.closeWith(websocket.StatusAbnormalClosure, "", false)
		m.release(c, ep.res)
		return nil
	}
	wsc.SetReadLimit(m.cfg.readLimit)
	c.ws = wsc
	sock := u.conn // a copy: a pointer into u would keep the request and its response alive
	c.sock.Store(&sock)
	if !registered {
		m.unreserve(addr)
		wsc.Close(websocket.StatusGoingAway, "server shutting down")
		return nil
	}
	c.start(ep.res != nil)
	return c
}

// prepare takes a slot for the client of r (reserve), authenticates it
// and reads its row policy, and returns its connection, not yet opened.
// It returns nil when it has refused the request: an authentication that
// fails is refused by refuseAuth (see CloseOnAuthFailure), the rest with
// an HTTP error.
func (m *Manager) prepare(w http.ResponseWriter, r *http.Request, ep endpoint, refuseAuth func(http.ResponseWriter, *http.Request, error)) *Conn {
	addr, err := m.reserve(r)
	if err != nil {
		m.refuse(w, r, err)
		return nil
	}
	ctx, principal, err := m.authenticate(r)
	var scope *query.Filter
	if err == nil && ep.res != nil {
		scope, err = ep.res.scope(ctx)
	}
	if err != nil {
		refuseAuth(w, r, err) // holding the slot, which bounds a close handshake under way
		m.unreserve(addr)
		return nil
	}
	c := newConn(m, ep.group, principal, r)
	c.scope, c.addr = scope, addr
	return c
}

// connected runs the OnConnect hook, then makes c follow its resource
// (from where it resumes, or with a reset when it cannot). It runs as
// Accept writes the 101, after register: a panic here, which would
// unwind through Accept and never release c (Shutdown would wait for it
// for ever), closes c with 1011 instead, as a panic of a message does.
func (m *Manager) connected(c *Conn, ep endpoint) {
	defer m.recoverConn(c, nil)
	if fn := m.cfg.onConnect; fn != nil {
		func() {
			defer m.recoverConn(c, nil)
			fn(c)
		}()
	}
	m.joined(c)
	switch {
	case ep.res == nil:
	case ep.resume:
		ep.res.resume(c, ep.filter, ep.since)
	default:
		ep.res.follow(c, ep.filter)
	}
}

// release runs when the goroutine serving c returns: it closes c if
// nothing has yet, waits until the socket is closed, and forgets c.
func (m *Manager) release(c *Conn, res *resource) {
	c.closeWith(websocket.StatusNormalClosure, "", true)
	if res != nil {
		res.detach(c)
	}
	code := c.wait()
	m.unregister(c)
	m.left(c)
	m.unreserve(c.addr)
	if fn := m.cfg.onDisconnect; fn != nil {
		func() {
			defer m.recoverConn(c, nil)
			fn(c, code)
		}()
	}
	m.wg.Done()
}

// upgrader lets open act at the moment Accept writes the 101, and keeps
// the network connection that Accept takes over, so that Shutdown can
// drop a connection whose close handshake takes longer than it may wait.
// Accept gets the connection's cork in front of it (see cork.go).
type upgrader struct {
	http.ResponseWriter
	c       *Conn
	upgrade func()
	conn    net.Conn
}

func (u *upgrader) WriteHeader(status int) {
	if status == http.StatusSwitchingProtocols {
		u.upgrade()
	}
	u.ResponseWriter.WriteHeader(status)
}

// sizeSocket sets the kernel's send buffer of conn's TCP connection, as
// SocketSendBuffer says. conn may be nil (no connection to size).
func (m *Manager) sizeSocket(conn net.Conn) {
	if n := m.cfg.sockBuffer; n > 0 {
		if tc, ok := tcpConn(conn); ok {
			tc.SetWriteBuffer(n)
		}
	}
}

// tcpConn returns the TCP connection under conn: conn itself, or the one
// a wrapper (the App's served connection, a TLS connection) holds and
// gives with NetConn.
func tcpConn(conn net.Conn) (*net.TCPConn, bool) {
	for {
		switch c := conn.(type) {
		case *net.TCPConn:
			return c, true
		case interface{ NetConn() net.Conn }:
			conn = c.NetConn()
		default:
			return nil, false
		}
	}
}

func (u *upgrader) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	conn, brw, err := http.NewResponseController(u.ResponseWriter).Hijack()
	u.c.m.sizeSocket(conn)
	u.conn = conn
	if err != nil {
		return conn, brw, err
	}
	k, brw := u.c.cork.take(u.c, conn, brw)
	return k, brw, nil
}
