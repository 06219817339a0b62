package ws

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"
	"golang.org/x/time/rate"

	"github.com/fastapi-easy/easy-go/easy/query"
)

// Conn is one open connection of a Manager: a WebSocket, or an event
// stream of a resource's SSE endpoint (see ServeSSE). Every message to it
// goes through a send queue that one writer goroutine empties, so sending
// never blocks. The queue is bounded in messages (SendQueue) and in bytes
// (SendQueueBytes): a connection whose queue is full has a client that
// does not keep up, and is closed with 1013 at once. The writer runs only
// while there is something to write (messages, a heartbeat, the close),
// so an idle connection has no goroutine for it. Its methods are safe for
// concurrent use, except Read.
type Conn struct {
	m           *Manager
	ws          *websocket.Conn
	sse         *sseStream               // instead of ws on an SSE endpoint; see sse.go
	sock        atomic.Pointer[net.Conn] // the network connection under ws, once upgraded; see drop
	cork        cork                     // what ws writes to, in front of sock; see cork.go
	num         uint64                   // the order of connection
	id          string
	group       string
	principal   any
	name        string        // the principal's name, for SendTo and presence; see PrincipalName
	scope       *query.Filter // the rows of its resource it may see; nil: every row
	remoteAddr  string
	addr        string // what its slot counts against; see Manager.reserve
	connectedAt time.Time

	// ctx ends when the connection starts to close; closeWith cancels it
	// after setting the fields below, which are read only once ctx is done.
	ctx         context.Context
	cancel      context.CancelFunc
	closeOnce   sync.Once
	closeCode   websocket.StatusCode
	closeReason string
	flush       bool        // write what is queued before the close frame
	closeTimer  *time.Timer // drops the socket of a close without flush that takes too long

	// The send queue: enqueueItem appends to pending and starts the
	// writer unless it runs, which takes everything at once. It is
	// allocated as it fills, so that an idle connection costs nothing for
	// it. Items taken but not yet written (inflight) count against the
	// limit, and so do the bytes of every message until the writer hands
	// it to the socket (queued: added under qmu, taken off as the message
	// goes to the socket; see handing). See kick for the writer's life.
	queued atomic.Int64
	// unread is when an initial message was queued that the socket has
	// not taken whole yet, in Unix nanoseconds; 0 for none.
	unread   atomic.Int64
	qmu      sync.Mutex
	pending  []outbound
	inflight int
	spare    []outbound // the writer's second buffer
	started  bool       // start has run: the socket is there to write to
	writing  bool       // a writer goroutine runs
	beatDue  bool       // a heartbeat is to be sent
	finished bool       // the writer has closed the socket; none starts again

	appPing bool           // heartbeats include a {"type":"ping"} message
	batch   bool           // several queued messages go as one frame; see writeItems
	beat    *time.Timer    // makes a heartbeat due every interval
	done    chan struct{}  // closed once the socket is closed
	limiter *rate.Limiter  // made at the first message read; see allow
	wg      sync.WaitGroup // the writers and the goroutines waiting for pongs
	expiry  *time.Timer

	// readTurns counts the reads of the socket begun and ended: odd while
	// one is under way. A pong is seen only then (see ping).
	readTurns atomic.Uint64
	// resets has a value after a reset that asks for a fresh snapshot was
	// queued, for an SSE stream that answers it with one (see serveSSE);
	// nil for others.
	resets chan struct{}
}

// sendReset queues a reset of resource: the client cannot resume, and
// starts again from a fresh snapshot. ask says whether an SSE stream,
// whose client cannot subscribe, reads that snapshot for it.
func (c *Conn) sendReset(resource string, ask bool) {
	c.enqueue(resetMessage(resource))
	if ask && c.resets != nil {
		select {
		case c.resets <- struct{}{}:
		default: // one is due already
		}
	}
}

// outbound is one item of a send queue: a message, then events. A resume
// queues the events it replays as one item, so that replaying a history
// longer than the queue does not look like a slow consumer.
type outbound struct {
	msg     []byte
	msgs    [][]byte
	initial bool // msg is a snapshot's initial message

	ev *event // the event msg carries, for its delivery time and trace; nil for other messages
}

// size is the bytes of o's messages.
func (o outbound) size() int64 {
	n := len(o.msg)
	for _, m := range o.msgs {
		n += len(m)
	}
	return int64(n)
}

// newConn returns a connection that is not yet upgraded; open sets ws.
func newConn(m *Manager, group string, principal any, r *http.Request) *Conn {
	ctx, cancel := context.WithCancel(context.Background())
	num := m.nextID.Add(1)
	return &Conn{
		m:           m,
		num:         num,
		id:          m.connID(num),
		group:       group,
		principal:   principal,
		name:        m.principalName(principal),
		remoteAddr:  r.RemoteAddr,
		connectedAt: time.Now(),
		ctx:         ctx,
		cancel:      cancel,
		done:        make(chan struct{}),
	}
}

// ID returns the connection's identifier, unique within its Manager. With
// a broker that implements Channels it begins with the name of its
// instance ("3f9a1c27b0de-12"), and is unique across the instances.
func (c *Conn) ID() string { return c.id }

// Group returns the resource or custom endpoint group the connection
// belongs to; Broadcast addresses it by this name.
func (c *Conn) Group() string { return c.group }

// Principal returns what the Authenticate hook returned for the
// connection, or nil.
func (c *Conn) Principal() any { return c.principal }

// RemoteAddr returns the client's network address, as the HTTP request
// had it.
func (c *Conn) RemoteAddr() string { return c.remoteAddr }

// ConnectedAt returns when the connection was opened.
func (c *Conn) ConnectedAt() time.Time { return c.connectedAt }

// Queued returns the bytes of the messages queued to the connection and
// not yet written to its socket: how far its client is behind. It stays
// within SendQueueBytes, but for a single message larger than that, which
// is let through when the writer has nothing else waiting.
func (c *Conn) Queued() int { return int(c.queued.Load()) }

// Context returns a context that ends when the connection starts to close.
func (c *Conn) Context() context.Context { return c.ctx }

// Send queues msg to be written to the client as a text message and
// returns at once; msg must not be changed afterwards. It returns ErrClosed
// when the connection is closing, and when the queue is full (see Conn),
// in which case it closes the connection with 1013.
func (c *Conn) Send(msg []byte) error {
	if !c.enqueue(msg) {
		return ErrClosed
	}
	return nil
}

// SendJSON queues v, encoded as JSON, as Send does.
func (c *Conn) SendJSON(v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("ws: encode message: %w", err)
	}
	return c.Send(b)
}

// Read waits for the client's next message, on a custom endpoint (on a
// resource endpoint the Manager reads). Only one goroutine may call it at
// a time. It enforces the rate limit (1008) and the read limit (1009). As
// in coder/websocket, a ctx that ends closes the connection: here with
// 1000, after what is queued has been written. Once the connection is
// closing, Read returns an error that wraps ErrClosed.
func (c *Conn) Read(ctx context.Context) ([]byte, error) {
	if c.sse != nil {
		return nil, errNoMessages
	}
	if c.ctx.Err() != nil {
		return nil, ErrClosed // the close handshake reads what is left
	}
	if ctx != c.ctx {
		stop := context.AfterFunc(ctx, func() {
			c.closeWith(websocket.StatusNormalClosure, "", true)
		})
		defer stop()
	}
	// Reading without a deadline is safe: closeWith makes the writer close
	// the socket, which ends the read. A context here would close the
	// socket without the close handshake when it ends.
	c.readTurns.Add(1)
	_, msg, err := c.ws.Read(context.Background())
	c.readTurns.Add(1)
	if err != nil {
		c.readFailed(err)
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, fmt.Errorf("%w: %w", ErrClosed, err)
	}
	if !c.allow() {
		if c.closeWith(websocket.StatusPolicyViolation, "rate limit exceeded", false) {
			c.m.stats.rateLimited.Add(1)
		}
		return nil, fmt.Errorf("%w: rate limit exceeded", ErrClosed)
	}
	return msg, nil
}

// CloseRead is for a custom endpoint that only sends: it reads in the
// background so that pings and the close handshake are answered, and
// closes the connection with 1008 if the client sends a message. Call it
// instead of Read, never with it. When the client closes, the connection's
// context ends; OnDisconnect then reports 1005, as the code is not known.
func (c *Conn) CloseRead() {
	if c.sse != nil {
		return // nothing to read
	}
	c.readTurns.Add(1) // read from now on, for good
	done := c.ws.CloseRead(context.Background())
	context.AfterFunc(done, func() { c.closeWith(websocket.StatusNoStatusRcvd, "", false) })
}

// Close closes the connection with code and reason (at most 123 bytes)
// after what is queued has been written. It returns at once; the close
// handshake goes on in the background.
func (c *Conn) Close(code websocket.StatusCode, reason string) {
	c.closeWith(code, reason, true)
}

// readFailed closes the connection after a failed read, with the code
// that explains it.
func (c *Conn) readFailed(err error) {
	switch code := websocket.CloseStatus(err); {
	case errors.Is(err, websocket.ErrMessageTooBig):
		// coder/websocket has already sent the close frame.
		c.closeWith(websocket.StatusMessageTooBig, "message too big", false)
	case code != -1:
		c.closeWith(code, "", false) // the peer closed; its code is the one to report
	default:
		c.closeWith(websocket.StatusAbnormalClosure, "", false)
	}
}

// closeWith starts closing the connection; the first call decides the
// code. It reports whether it was the first. A writer does the closing.
// A close without flush (a limit, an error, a shutdown) is given
// CloseTimeout to get its close frame through: a client that reads
// nothing, whose socket is full, would otherwise hold the writer until
// the write timeout and the close handshake's own timeouts had passed.
func (c *Conn) closeWith(code websocket.StatusCode, reason string, flush bool) bool {
	first := false
	c.closeOnce.Do(func() {
		c.closeCode, c.closeReason, c.flush = code, reason, flush
		if !flush {
			c.closeTimer = time.AfterFunc(c.m.cfg.closeTimeout, c.drop)
		}
		first = true
		c.cancel()
	})
	if first {
		c.m.obs.close(code, reason)
		c.qmu.Lock()
		c.kick()
		c.qmu.Unlock()
	}
	return first
}

// enqueue hands msg to the writer without waiting; see enqueueItem.
func (c *Conn) enqueue(msg []byte) bool {
	return c.enqueueItem(outbound{msg: msg})
}

// enqueueItem hands o to the writer without waiting. A full queue means
// the client does not keep up: the connection is closed with 1013, and
// only this connection pays for it. An item larger than SendQueueBytes
// gets through when nothing waits for the writer (it may be writing), so
// that one large message can reach a client that keeps up.
func (c *Conn) enqueueItem(o outbound) bool {
	select {
	case <-c.ctx.Done():
		return false
	default:
	}
	size, limit := o.size(), int64(c.m.cfg.sendBytes)
	c.qmu.Lock()
	queued := c.queued.Load()
	full := len(c.pending)+c.inflight >= c.m.cfg.sendQueue ||
		size <= limit && queued+size > limit ||
		size > limit && queued > 0
	if !full {
		c.pending = append(c.pending, o)
		c.queued.Add(size)
		c.kick()
	}
	c.qmu.Unlock()
	if full {
		if c.closeWith(websocket.StatusTryAgainLater, "slow consumer", false) {
			c.m.stats.droppedSlow.Add(1)
		}
		return false
	}
	return true
}

// kick starts a writer goroutine unless one runs, the socket is not there
// yet (start kicks), or the socket is closed. The caller holds qmu. The
// writer is owned by the Conn; it returns when it finds nothing to write,
// under qmu, so that a later kick starts another, or once it has closed
// the socket.
func (c *Conn) kick() {
	if c.writing || !c.started || c.finished {
		return
	}
	c.writing = true
	c.wg.Add(1)
	go c.writeOut()
}

// take returns what is queued and empties the queue.
func (c *Conn) take() []outbound {
	c.qmu.Lock()
	defer c.qmu.Unlock()
	return c.takeLocked()
}

func (c *Conn) takeLocked() []outbound {
	batch := c.pending
	c.pending = c.spare[:0]
	c.spare = nil
	c.inflight = len(batch)
	return batch
}

// next returns the writer's next work: what is queued and whether a
// heartbeat is due. With nothing to do it marks the writer stopped and
// reports false; when the connection is closing it reports closing.
func (c *Conn) next() (batch []outbound, beat, closing, ok bool) {
	c.qmu.Lock()
	defer c.qmu.Unlock()
	switch {
	case c.ctx.Err() != nil:
		return nil, false, true, true
	case len(c.pending) == 0 && !c.beatDue:
		c.writing = false
		return nil, false, false, false
	}
	beat, c.beatDue = c.beatDue, false
	return c.takeLocked(), beat, false, true
}

// recycle keeps a written batch's array for the next one, unless it grew
// large in a burst.
func (c *Conn) recycle(batch []outbound) {
	clear(batch)
	c.qmu.Lock()
	defer c.qmu.Unlock()
	c.inflight = 0
	if cap(batch) <= 64 {
		c.spare = batch[:0]
	}
}

// start lets writers run, now that the socket is there, and arms the
// heartbeat. appPing adds a {"type":"ping"} message to each heartbeat.
func (c *Conn) start(appPing bool) {
	c.appPing = appPing
	c.qmu.Lock()
	c.started = true
	if hb := c.m.cfg.heartbeat; hb > 0 {
		c.beat = time.AfterFunc(hb, c.heartbeatDue)
	}
	if len(c.pending) > 0 || c.ctx.Err() != nil {
		c.kick()
	}
	c.qmu.Unlock()
	if e, ok := c.principal.(Expiring); ok && !e.Expiry().IsZero() {
		c.expiry = time.AfterFunc(time.Until(e.Expiry()), func() {
			c.closeWith(websocket.StatusPolicyViolation, "authorisation expired", false)
		})
	}
}

// heartbeatDue runs on the heartbeat timer: it has a writer send a
// heartbeat, and arms the timer again.
func (c *Conn) heartbeatDue() {
	c.qmu.Lock()
	defer c.qmu.Unlock()
	if c.finished {
		return
	}
	c.beatDue = true
	c.kick()
	c.beat.Reset(c.m.cfg.heartbeat)
}

// drop closes the network connection at once, which ends a close
// handshake that coder/websocket would otherwise give 10 seconds.
func (c *Conn) drop() {
	if c.sse != nil {
		c.sse.abort()
	}
	if sock := c.sock.Load(); sock != nil {
		(*sock).Close()
	}
}

// wait waits until the connection is closed and its goroutines have
// returned, and reports the close code. The connection must be closing.
func (c *Conn) wait() websocket.StatusCode {
	c.qmu.Lock()
	started := c.started
	c.qmu.Unlock()
	if started {
		<-c.done
	}
	c.wg.Wait()
	if c.expiry != nil {
		c.expiry.Stop()
	}
	if c.closeTimer != nil {
		c.closeTimer.Stop()
	}
	return c.closeCode
}

// writeOut is a writer: it writes what is queued and the heartbeats due
// until there is nothing left, and closes the socket once the connection
// is closing. At most one runs at a time (see kick).
func (c *Conn) writeOut() {
	defer c.wg.Done()
	for {
		batch, beat, closing, ok := c.next()
		switch {
		case closing:
			c.finish()
			return
		case !ok:
			return
		}
		if err := c.writeBatch(batch, beat && c.appPing); err != nil && !c.closedUnder(err) {
			c.closeWith(websocket.StatusAbnormalClosure, "", false)
		}
		c.recycle(batch)
		if beat && c.ctx.Err() == nil {
			c.ping()
		}
	}
}

// writeBatch writes what the writer took from the queue, then the
// heartbeat's {"type":"ping"} if ping: to a WebSocket through its cork,
// one write to the socket for them all as far as corkLimit allows; to an
// event stream event by event. An event counts as delivered (metrics)
// once the socket has taken it.
func (c *Conn) writeBatch(batch []outbound, ping bool) error {
	if c.sse == nil {
		c.cork.corkUp()
	}
	err := c.writeItems(batch)
	if err == nil && ping && c.ctx.Err() == nil {
		err = c.write([]byte(pingMessage))
	}
	if c.sse == nil {
		if uerr := c.cork.uncork(); err == nil {
			err = uerr
		}
	}
	if err == nil && !c.batch && (c.ctx.Err() == nil || c.flush) {
		for _, o := range batch {
			if o.msg != nil {
				c.m.obs.delivered(c.group, o.ev)
			}
		}
	}
	return err
}

// finish closes the socket, once, and lets wait return.
func (c *Conn) finish() {
	c.closeSocket()
	c.qmu.Lock()
	c.finished = true
	if c.beat != nil {
		c.beat.Stop()
	}
	c.qmu.Unlock()
	close(c.done)
}

// writeItem writes the messages of o, and stops early when the connection
// starts to close without a flush. A message stops counting as queued as
// it is handed to the socket: a client that has read it must not find it
// still counted.
func (c *Conn) writeItem(o outbound) error {
	if o.msg != nil {
		if c.ctx.Err() != nil && !c.flush {
			return nil
		}
		c.handing(len(o.msg))
		end := c.traceWrite(o.ev)
		if err := c.write(o.msg); err != nil {
			return err
		}
		if c.sse == nil && (o.initial || c.traced(o.ev)) {
			// Its arrival is observed: it goes to the socket now.
			if err := c.cork.flush(); err != nil {
				return err
			}
		}
		end()
		if o.initial { // the socket took it whole: the client reads
			c.unread.Store(0)
		}
	}
	for _, msg := range o.msgs {
		if c.ctx.Err() != nil && !c.flush {
			return nil
		}
		c.handing(len(msg))
		if err := c.write(msg); err != nil {
			return err
		}
	}
	return nil
}

// handing is told, as the writer starts to write a message of n bytes,
// that they stop counting as queued: now on an event stream, once the
// cork has handed them to the socket on a WebSocket.
func (c *Conn) handing(n int) {
	if c.sse != nil {
		c.queued.Add(-int64(n))
		return
	}
	c.cork.hand(n)
}

func (c *Conn) write(msg []byte) error {
	if c.sse != nil {
		if err := c.sse.event(msg, c.m.cfg.writeTimeout); err != nil {
			return err
		}
	} else if err := c.writeWS(msg); err != nil {
		return err
	}
	c.m.stats.messagesSent.Add(1)
	c.m.stats.bytesSent.Add(uint64(len(msg)))
	c.m.obs.wrote(c.group, len(msg))
	return nil
}

// writeWS writes msg to the WebSocket, inside a batch (writeBatch): the
// cork takes it, and bounds each of its writes to the socket by the write
// timeout with a deadline on the socket. A context would not do: under a
// context that can end, coder/websocket arms a timer (context.AfterFunc)
// for every frame, and that timer and the context were most of what a
// delivered frame cost (docs/benchmarks.md, "Where easy's fan-out time
// goes"). A write past the deadline fails and the writer drops the
// connection.
func (c *Conn) writeWS(msg []byte) error {
	return c.ws.Write(context.Background(), websocket.MessageText, msg)
}

// closedUnder reports whether a write failed because the WebSocket was
// closed under it: by a close frame from the peer, which the reading
// goroutine reports with the peer's code, or by a close of ours, whose
// code is set already. The writer must not race either with a 1006.
func (c *Conn) closedUnder(err error) bool {
	return c.sse == nil && errors.Is(err, net.ErrClosed)
}

// ping sends a protocol ping and drops the connection when no pong comes
// within the write timeout while the socket was read. A pong is seen only
// by a read, so a ping that a busy reader could not have seen answered
// (one handling a message, such as a subscribe waiting for its snapshot)
// says nothing of the peer, and the next heartbeat's ping tries again.
// The goroutine that waits for the pong is owned by the Conn and lives
// only that long; Ping returns anyway once the socket is closed.
func (c *Conn) ping() {
	if c.sse != nil {
		c.sseHeartbeat()
		return
	}
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		// Not c.ctx: a context that ends while the ping frame is written
		// makes coder/websocket drop the socket, and the close handshake
		// with it.
		ctx, cancel := context.WithTimeout(context.Background(), c.m.cfg.writeTimeout)
		turns := c.readTurns.Load()
		err := c.ws.Ping(ctx)
		cancel()
		readThroughout := turns%2 == 1 && c.readTurns.Load() == turns
		if err != nil && c.ctx.Err() == nil && readThroughout {
			c.closeWith(websocket.StatusAbnormalClosure, "", false) // a dead peer cannot take part in a close handshake
		}
	}()
}

// allow reports whether the rate limit lets the client send one more
// message. Only the reading goroutine calls it. The limiter is made at the
// first message, full, as it would be by then had it been made at the
// handshake, so that an idle connection does not hold one.
func (c *Conn) allow() bool {
	if c.m.cfg.rate <= 0 {
		return true
	}
	if c.limiter == nil {
		c.limiter = rate.NewLimiter(rate.Limit(c.m.cfg.rate), c.m.cfg.burst)
	}
	return c.limiter.Allow()
}
