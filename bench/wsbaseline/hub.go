package wsbaseline

import (
	"context"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/coder/websocket"
)

// DefaultQueue is how many messages may wait for one client, as in
// easy/ws by default.
const DefaultQueue = 256

// writeTimeout bounds one write to a client, as in easy/ws by default.
const writeTimeout = 10 * time.Second

// Hub fans the events of the items resource out to its WebSocket
// clients. It is an http.Handler that upgrades each request.
type Hub struct {
	queue int

	mu      sync.Mutex // guards what follows, and orders events by seq
	seq     uint64
	closed  bool
	clients map[*client]struct{}
	done    chan struct{} // closed by Close
}

// client is one connection. Publish sends to msgs without waiting; the
// goroutine serving the request is its only writer.
type client struct {
	msgs chan []byte
	slow chan struct{} // closed by Publish when msgs was full
}

// NewHub returns a hub that lets queue messages wait for each client.
func NewHub(queue int) *Hub {
	return &Hub{queue: queue, clients: make(map[*client]struct{}), done: make(chan struct{})}
}

// Publish numbers an event, encodes it once and queues it to every
// client. A client whose queue is full is dropped: it is closed with 1013.
func (h *Hub) Publish(op string, id uint, data []byte) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.seq++
	msg := make([]byte, 0, len(data)+80)
	msg = append(msg, `{"type":"`...)
	msg = append(msg, op...)
	msg = append(msg, `","resource":"items","id":`...)
	msg = strconv.AppendUint(msg, uint64(id), 10)
	msg = append(msg, `,"data":`...)
	msg = append(msg, data...)
	msg = append(msg, `,"seq":`...)
	msg = strconv.AppendUint(msg, h.seq, 10)
	msg = append(msg, '}')
	for c := range h.clients {
		select {
		case c.msgs <- msg:
		default:
			delete(h.clients, c)
			close(c.slow)
		}
	}
}

// Count returns how many clients are connected.
func (h *Hub) Count() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.clients)
}

// Close closes every connection with 1001 and refuses new ones. It does
// not wait for the close handshakes.
func (h *Hub) Close() {
	h.mu.Lock()
	defer h.mu.Unlock()
	if !h.closed {
		h.closed = true
		close(h.done)
	}
}

// ServeHTTP upgrades the request and writes the client's events until
// the client goes, falls behind, or the hub closes.
func (h *Hub) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	// The client joins before the handshake completes, so that it gets
	// every event published once its Dial has returned.
	c := &client{msgs: make(chan []byte, h.queue), slow: make(chan struct{})}
	if !h.add(c) {
		http.Error(w, "shutting down", http.StatusServiceUnavailable)
		return
	}
	defer h.remove(c)
	conn, err := websocket.Accept(w, r, nil)
	if err != nil {
		return
	}
	defer conn.CloseNow()
	// CloseRead starts the reader, which answers pings and the close
	// handshake; its context ends when the client closes or breaks.
	ctx := conn.CloseRead(context.Background())
	for {
		select {
		case msg := <-c.msgs:
			wctx, cancel := context.WithTimeout(ctx, writeTimeout)
			err := conn.Write(wctx, websocket.MessageText, msg)
			cancel()
			if err != nil {
				return
			}
		case <-c.slow:
			conn.Close(websocket.StatusTryAgainLater, "slow consumer")
			return
		case <-h.done:
			conn.Close(websocket.StatusGoingAway, "server shutting down")
			return
		case <-ctx.Done():
			return
		}
	}
}

func (h *Hub) add(c *client) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return false
	}
	h.clients[c] = struct{}{}
	return true
}

func (h *Hub) remove(c *client) {
	h.mu.Lock()
	defer h.mu.Unlock()
	delete(h.clients, c)
}
