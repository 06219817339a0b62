package ws

import (
	"bufio"
	"net"
	"sync"
	"time"
)

// A WebSocket's writer takes every message queued to its connection at
// once, and coder/websocket flushes its buffered writer after every
// message: left to itself, a batch of 20 messages is 20 write system
// calls, which were half of the server's CPU when it fans out at
// saturation (docs/benchmarks.md, "Where easy's fan-out time goes"). The
// cork sits between coder/websocket and the socket: while the writer is
// inside a batch, what coder/websocket writes waits in a buffer, which
// goes to the socket in one write when the batch ends (or when it holds
// corkLimit bytes), each such write bounded by the write timeout. Outside
// a batch (control frames: pongs, pings, the close handshake) writes pass
// through as they come, as they did.

// corkLimit bounds a cork's buffer: a batch larger than this goes to the
// socket in writes of about this size, and a message larger than it goes
// on its own. It is taken from the Manager's corkBufs while the writer is
// inside a batch, and given back at its end, so that an idle connection
// holds none.
const corkLimit = 16 << 10

// newCorkBuf makes a buffer for a cork's pool.
func newCorkBuf() any {
	b := make([]byte, 0, corkLimit)
	return &b
}

// wsBufferSize is the size of coder/websocket's buffered writer on a
// connection easy serves, in place of net/http's 4 KiB one, which it held
// for the connection's life: every message it writes goes through the
// cork's buffer, and this one need only take a control frame whole
// (at most 14 + 125 bytes).
const wsBufferSize = 256

// cork is the network connection coder/websocket writes to, which the
// writer corks for the time of a batch. It is part of its Conn, so that
// it costs a connection no allocation of its own.
type cork struct {
	net.Conn       // the socket
	c        *Conn // for the write timeout and the queued bytes
	mu       sync.Mutex
	on       bool    // the writer is inside a batch
	buf      *[]byte // from the Manager's corkBufs, while on and written to
	owed     int64   // bytes of queued messages in buf or on their way to it; see hand
	broken   bool    // a write to the socket failed: the stream is cut
}

// take makes the cork the connection coder/websocket writes to and
// closes: it returns what Accept should get from Hijack for conn and brw.
func (k *cork) take(c *Conn, conn net.Conn, brw *bufio.ReadWriter) (net.Conn, *bufio.ReadWriter) {
	k.Conn, k.c = conn, c
	return k, bufio.NewReadWriter(brw.Reader, bufio.NewWriterSize(k, wsBufferSize))
}

// Write takes what coder/websocket writes: into the buffer while corked,
// else straight to the socket.
func (k *cork) Write(p []byte) (int, error) {
	k.mu.Lock()
	if k.broken {
		k.mu.Unlock()
		return 0, net.ErrClosed
	}
	if !k.on {
		// Without the lock: coder/websocket ends a write that takes too
		// long by closing the socket (Close). coder/websocket writes one
		// frame at a time, and the writer corks only between its frames,
		// so nothing else reaches the socket meanwhile.
		k.mu.Unlock()
		return k.Conn.Write(p)
	}
	defer k.mu.Unlock()
	if k.buf == nil {
		k.buf = k.c.m.corkBufs.Get().(*[]byte)
	}
	if len(*k.buf)+len(p) > corkLimit {
		if err := k.flushLocked(); err != nil {
			return 0, err
		}
		if len(p) >= corkLimit {
			return len(p), k.send(p)
		}
	}
	*k.buf = append(*k.buf, p...)
	return len(p), nil
}

// Close writes what the cork holds before it closes the socket:
// coder/websocket closes it as soon as it has written the answer to a
// client's close frame, which may be in the buffer. It waits for a write
// of the cork under way, which the write timeout bounds; drop closes the
// socket itself, at once.
func (k *cork) Close() error {
	k.mu.Lock()
	k.flushLocked()
	k.mu.Unlock()
	return k.Conn.Close()
}

// corkUp starts a batch: what coder/websocket writes waits in the buffer.
func (k *cork) corkUp() {
	k.mu.Lock()
	k.on = true
	k.mu.Unlock()
}

// uncork ends a batch: it writes what the buffer holds to the socket,
// and gives the buffer back.
func (k *cork) uncork() error {
	k.mu.Lock()
	defer k.mu.Unlock()
	err := k.flushLocked()
	k.on = false
	if k.buf != nil {
		*k.buf = (*k.buf)[:0]
		k.c.m.corkBufs.Put(k.buf)
		k.buf = nil
	}
	return err
}

// flush writes what the buffer holds to the socket, inside a batch: for
// a message whose arrival is observed (a snapshot, a traced event).
func (k *cork) flush() error {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.flushLocked()
}

// hand is told, as the writer starts to write a message of n bytes, that
// those bytes stop counting as queued once the cork has handed them to
// the socket: the next write to the socket settles them.
func (k *cork) hand(n int) {
	k.mu.Lock()
	k.owed += int64(n)
	k.mu.Unlock()
}

func (k *cork) flushLocked() error {
	if k.buf == nil || len(*k.buf) == 0 {
		k.settle()
		return nil
	}
	err := k.send(*k.buf)
	*k.buf = (*k.buf)[:0]
	return err
}

// settle takes the bytes handed to the socket off the queued ones.
func (k *cork) settle() {
	if k.owed != 0 {
		k.c.queued.Add(-k.owed)
		k.owed = 0
	}
}

// send writes b to the socket within the write timeout. A write that
// fails may have cut a frame: nothing more can go on the stream, so the
// socket is closed, as a write coder/websocket makes that fails makes
// every later one fail.
func (k *cork) send(b []byte) error {
	k.settle()
	if k.broken {
		return net.ErrClosed
	}
	k.Conn.SetWriteDeadline(time.Now().Add(k.c.m.cfg.writeTimeout))
	_, err := k.Conn.Write(b)
	k.Conn.SetWriteDeadline(time.Time{})
	if err != nil {
		k.broken = true
		k.Conn.Close()
	}
	return err
}
