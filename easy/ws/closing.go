package ws

import (
	"io"
	"time"

	"github.com/coder/websocket"
)

// closeSocket runs once the connection is closing: it writes what is
// queued if asked to, then performs the close handshake, or just drops a
// connection that broke.
func (c *Conn) closeSocket() {
	broken := c.closeCode == websocket.StatusAbnormalClosure
	if c.flush && !broken {
		broken = c.writeBatch(c.take(), false) != nil
	}
	switch {
	case c.sse != nil:
		c.endStream(broken)
	case broken:
		c.ws.CloseNow()
	case c.closeCode == websocket.StatusMessageTooBig: // only readFailed closes with it
		c.drain()
	default:
		c.ws.Close(c.closeCode, c.closeReason)
	}
}

// The most a connection closed for a message over the read limit has read
// of what its client still sends, in time and bytes; see drain.
const (
	drainTime  = time.Second
	drainBytes = 16 << 20
)

// drain ends a connection whose client is still sending a message over
// the read limit, once coder/websocket has sent the 1009: it shuts the
// socket for writing, discards what the client still sends in large
// reads, for at most drainTime and drainBytes, and closes. Closed with
// the client's bytes unread, the connection would be reset, and a client
// could lose the close frame before reading it; coder/websocket's own
// close handshake would read the rest of the message a byte at a time (for
// a client that sends megabytes, more CPU than anything else it does:
// bench/soak).
func (c *Conn) drain() {
	sock := *c.sock.Load()
	if tc, ok := tcpConn(sock); ok && tc.CloseWrite() == nil {
		sock.SetReadDeadline(time.Now().Add(drainTime))
		io.CopyN(io.Discard, sock, drainBytes)
	}
	c.ws.CloseNow()
}
