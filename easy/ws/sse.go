package ws

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"path"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"

	"github.com/fastapi-easy/easy-go/easy"
	"github.com/fastapi-easy/easy-go/easy/problem"
	"github.com/fastapi-easy/easy-go/internal/binding"
)

// Server-Sent Events carry the resource protocol where a WebSocket does
// not pass (a proxy that refuses the upgrade, a client that only reads).
// An SSE connection is a Conn like any other: it takes a slot, passes the
// same Origin check, authentication and row policy, follows its resource
// through the same fan-out and send queue, and closes as a WebSocket
// does (slow consumer, expired authorisation, shutdown). Only the writing
// differs: each message is an event whose data is the message's JSON and
// whose id is its seq, a heartbeat is a comment, and the close is an
// event named "close" before the stream ends. The client sends nothing:
// what a WebSocket client asks with subscribe, it asks in the query.

// SSEPrefix moves the Server-Sent Events endpoints Watch mounts:
// /sse/{resource} by default, beside /ws/{resource}.
func SSEPrefix(p string) Option {
	return func(c *config) {
		if p == "" || p[0] != '/' || p[len(p)-1] == '/' {
			panic(fmt.Sprintf("ws: SSEPrefix(%q): want a path like /sse", p))
		}
		c.ssePrefix = p
	}
}

// ServeSSE serves the events of the resource named by the last element of
// the request path as a stream of Server-Sent Events, which a browser's
// EventSource reads: each message of the resource protocol is an event
// whose data is the message and whose id is its seq, when it has one. An
// unknown resource is a 404, a method other than GET a 405, a foreign
// origin a 403, a failed authentication its own status (401, 403), all
// with a {"detail": ...} body that fetch can read.
//
// The query may hold since=SEQ (resume after SEQ, or get a reset) and
// filter={...}, as on the WebSocket endpoint; a Last-Event-ID header,
// which EventSource sends when it reconnects, overrides since. With
// snapshot=1 the stream begins with an initial message (of at most
// limit=N rows), as the answer to a subscribe would; and when a resume is
// impossible, the reset is followed by a fresh initial message. When such
// a snapshot fails, the error is followed by the end of the stream, for
// its client to reconnect to another (restartStream). A bad value of any
// of them is a 422.
func (m *Manager) ServeSSE(w http.ResponseWriter, r *http.Request) {
	res := m.resource(path.Base(r.URL.Path))
	if res == nil {
		problem.Text(w, http.StatusNotFound, "Not Found")
		return
	}
	if r.Method != http.MethodGet {
		problem.Write(w, r, m.log, &problem.HTTPError{Status: http.StatusMethodNotAllowed, Detail: "Method Not Allowed",
			Headers: http.Header{"Allow": {http.MethodGet}}})
		return
	}
	if err := m.checkOrigin(r); err != nil {
		m.refuse(w, r, err)
		return
	}
	ep, snap, err := m.parseSSE(res, r)
	if err != nil {
		problem.Write(w, r, m.log, err)
		return
	}
	rc := http.NewResponseController(w)
	if err := rc.SetWriteDeadline(time.Time{}); err != nil {
		// Without deadlines a client that reads nothing would hold its
		// writer for ever: a server set up wrong, not a client's mistake.
		m.log.Error("ws: SSE needs a ResponseWriter with write deadlines", "error", err)
		problem.Write(w, r, m.log, problem.New(http.StatusInternalServerError, "Internal Server Error"))
		return
	}
	c := m.prepare(w, r, ep, m.refuse)
	if c == nil {
		return
	}
	m.sizeSocket(easy.NetConn(r)) // nil, and left alone, under another server than the App's Serve
	c.sse = &sseStream{w: w, rc: rc}
	if snap.want {
		c.resets = make(chan struct{}, 1)
	}
	if !m.register(c) {
		m.unreserve(c.addr)
		m.refuse(w, r, problem.New(http.StatusServiceUnavailable, "Server is shutting down"))
		return
	}
	defer m.release(c, res)
	defer m.recoverConn(c, nil)
	// A client that goes away ends r's context; there is no close code.
	stop := context.AfterFunc(r.Context(), func() { c.closeWith(websocket.StatusNoStatusRcvd, "", false) })
	defer stop()
	// c follows its resource before the header goes out, so that a client
	// that has the header receives every event published after that.
	m.connected(c, ep)
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Accel-Buffering", "no") // nginx: pass each event on at once
	allowOrigin(h, r)
	w.WriteHeader(http.StatusOK)
	// The header reaches the client now, so that EventSource opens; the
	// events follow it once start lets the writer run.
	if rc.Flush() != nil {
		c.closeWith(websocket.StatusAbnormalClosure, "", false)
	}
	c.start(false)
	// A stream that asks for a snapshot begins with one, unless it
	// resumes; and a reset (of a resume that failed, of a broker's log
	// read too late) is followed by a fresh one, since its client cannot
	// ask. A snapshot that fails ends the stream (restartStream), and a
	// reset that undoing its subscribe would send asks for no snapshot
	// (resource.hold).
	resubscribe := request{Type: TypeSubscribe, Filter: snap.filter, Limit: snap.limit}
	if snap.want && !ep.resume {
		m.subscribe(c, res, resubscribe)
	}
	for {
		select {
		case <-c.ctx.Done():
			return
		case <-c.resets:
			m.subscribe(c, res, resubscribe)
		}
	}
}

// sseSnapshot is what the query of an SSE endpoint asks in place of a
// subscribe message.
type sseSnapshot struct {
	want   bool
	filter map[string]string
	limit  int
}

// parseSSE reads the query and Last-Event-ID of a request for an SSE
// endpoint: since and filter as parseQuery reads them on the WebSocket
// endpoint, snapshot and limit as parseRequest reads a subscribe.
func (m *Manager) parseSSE(res *resource, r *http.Request) (endpoint, sseSnapshot, error) {
	var snap sseSnapshot
	q, err := binding.Query(r)
	if err != nil {
		return endpoint{}, snap, err
	}
	f, since, resume, err := parseQuery(res, q)
	if err != nil {
		return endpoint{}, snap, err
	}
	if id := r.Header.Get("Last-Event-ID"); id != "" {
		if since, err = parseSeq(id, "header", "Last-Event-ID"); err != nil {
			return endpoint{}, snap, err
		}
		resume = true
	}
	if snap.want, err = queryBool(q, "snapshot"); err != nil {
		return endpoint{}, snap, err
	}
	if snap.want && res.src == nil {
		return endpoint{}, snap, problem.Invalid("value_error", []any{"query", "snapshot"},
			"Value error, this resource has no snapshots", binding.QueryValue(q, "snapshot"))
	}
	if q.Has("limit") {
		s := binding.QueryValue(q, "limit")
		if !snap.want {
			return endpoint{}, snap, problem.Invalid("value_error", []any{"query", "limit"},
				"Value error, limit needs snapshot=1", s)
		}
		if snap.limit, err = parseLimit(s, m.cfg.snapshotLimit); err != nil {
			return endpoint{}, snap, problem.Invalid("value_error", []any{"query", "limit"}, "Value error, "+err.Error(), s)
		}
	}
	if snap.want && q.Has("filter") {
		snap.filter, _ = parseFilter([]byte(binding.QueryValue(q, "filter"))) // parseQuery has checked it
	}
	ep := endpoint{group: res.name, res: res, filter: f, since: since, resume: resume}
	return ep, snap, nil
}

// allowOrigin lets a page of another origin read the stream, when the
// Origin check let it in: a WebSocket needs no CORS, an EventSource does.
// It leaves alone what a CORS middleware has set.
func allowOrigin(h http.Header, r *http.Request) {
	origin := r.Header.Get("Origin")
	if origin == "" || h.Get("Access-Control-Allow-Origin") != "" {
		return
	}
	h.Set("Access-Control-Allow-Origin", origin)
	h.Set("Access-Control-Allow-Credentials", "true") // cookies, as a WebSocket sends them
	h.Add("Vary", "Origin")
}

// errNoMessages is what Read returns on an SSE connection.
var errNoMessages = errors.New("ws: an SSE connection has no client messages")

// errAborted is what a write to a stream that drop has aborted returns.
var errAborted = errors.New("ws: event stream aborted")

// sseStream writes the events of one SSE connection. Its writer is the
// Conn's (one at a time); abort may come from any goroutine.
type sseStream struct {
	w   http.ResponseWriter
	rc  *http.ResponseController
	buf []byte // the writer's

	mu      sync.Mutex
	aborted bool

	fresh atomic.Bool // see restartStream
}

// event writes msg as one event and flushes it, within timeout.
func (s *sseStream) event(msg []byte, timeout time.Duration) error {
	s.buf = appendEvent(s.buf[:0], msg)
	err := s.send(s.buf, timeout)
	if cap(s.buf) > 64<<10 {
		s.buf = nil // a large snapshot's room is not kept for the connection's life
	}
	return err
}

func (s *sseStream) send(b []byte, timeout time.Duration) error {
	if err := s.deadline(time.Now().Add(timeout)); err != nil {
		return err
	}
	if _, err := s.w.Write(b); err != nil {
		return err
	}
	return s.rc.Flush()
}

func (s *sseStream) deadline(t time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.aborted {
		return errAborted
	}
	return s.rc.SetWriteDeadline(t)
}

// abort makes the write under way, and every later one, fail at once.
func (s *sseStream) abort() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.aborted = true
	s.rc.SetWriteDeadline(time.Unix(1, 0))
}

// appendEvent appends msg as an event: its seq as the id, for
// Last-Event-ID, and its lines as data lines.
func appendEvent(b, msg []byte) []byte {
	if seq, ok := messageSeq(msg); ok {
		b = append(b, "id: "...)
		b = strconv.AppendUint(b, seq, 10)
		b = append(b, '\n')
	}
	b = append(b, "data: "...)
	for {
		i := bytes.IndexAny(msg, "\r\n")
		if i < 0 {
			b = append(b, msg...)
			break
		}
		b = append(b, msg[:i]...)
		b = append(b, "\ndata: "...)
		if msg[i] == '\r' && i+1 < len(msg) && msg[i+1] == '\n' {
			i++
		}
		msg = msg[i+1:]
	}
	return append(b, "\n\n"...)
}

// messageSeq returns the seq of an event or initial message, which end
// with it ({"type":"create",...,"seq":42}), as withSeq and encodeInitial
// write them. Other messages (ping, error, reset, what Broadcast sends)
// have none, and leave the client's last event ID as it was.
func messageSeq(msg []byte) (uint64, bool) {
	var typed bool
	for _, t := range [...]string{TypeCreate, TypeUpdate, TypeDelete, TypeInitial} {
		if bytes.HasPrefix(msg, []byte(`{"type":"`+t+`",`)) {
			typed = true
			break
		}
	}
	if !typed || msg[len(msg)-1] != '}' {
		return 0, false
	}
	body := msg[:len(msg)-1]
	i := len(body)
	for i > 0 && body[i-1] >= '0' && body[i-1] <= '9' {
		i--
	}
	if i == len(body) || !bytes.HasSuffix(body[:i], []byte(`,"seq":`)) {
		return 0, false
	}
	seq, err := strconv.ParseUint(string(body[i:]), 10, 64)
	return seq, err == nil
}

// sseHeartbeat writes a comment, which keeps proxies from timing the
// stream out and finds a client that is gone; EventSource ignores it.
func (c *Conn) sseHeartbeat() {
	if err := c.sse.send([]byte(": ping\n\n"), c.m.cfg.writeTimeout); err != nil {
		c.closeWith(websocket.StatusAbnormalClosure, "", false)
	}
}

// endStream is closeSocket's end of an SSE connection, once what was
// queued is written if asked to: when the server closes a stream that
// did not break, an event named "close" whose data is
// {"code":1013,"reason":"slow consumer"}, as a WebSocket's close frame
// would say. The handler's return then ends the response.
func (c *Conn) endStream(broken bool) {
	if broken || c.closeCode == websocket.StatusNoStatusRcvd {
		return // the stream broke, or the client went away
	}
	data, _ := encode(struct {
		Code   int    `json:"code"`
		Reason string `json:"reason"`
	}{int(c.closeCode), c.closeReason})
	var b []byte
	if c.sse.fresh.Load() {
		b = append(b, "id\n"...) // an empty id: see restartStream
	}
	b = append(append(append(b, "event: close\ndata: "...), data...), "\n\n"...)
	c.sse.send(b, c.m.cfg.writeTimeout)
}

// restartStream ends an SSE stream whose snapshot failed (after the error
// that says why), since its client cannot ask for another on it: closed
// with 1013 (try again later), its client reconnects, and the stream it
// opens begins with a fresh snapshot. The close event has an empty id,
// which clears EventSource's last event ID: it reconnects without
// Last-Event-ID, which would resume the stream (after the events it had
// before the failure) with no snapshot. The JavaScript client, which
// reconnects with since only when it has a seq, has none after the reset
// or the failed snapshot.
func (c *Conn) restartStream() {
	c.sse.fresh.Store(true)
	c.closeWith(websocket.StatusTryAgainLater, snapshotFailed, true)
}

// snapshotFailed is the close reason of restartStream.
const snapshotFailed = "snapshot failed"
