package ws

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"path"
	"strconv"
	"sync"
	"time"

	"github.com/coder/websocket"
)

// ErrNotConnected is returned by Client.Subscribe while the client is
// reconnecting.
var ErrNotConnected = errors.New("ws: not connected")

// Client follows a resource endpoint. It delivers the server's messages
// as Events, reconnects with jittered exponential backoff when the
// connection drops, and resumes where it stopped with ?since, so that no
// event is lost or doubled; when the server cannot resume, the client
// delivers a reset Event and the caller subscribes again.
type Client struct {
	url    *url.URL
	cfg    dialConfig
	events chan Event
	ctx    context.Context // ends at Close; stops the backoff and the delivery of events
	cancel context.CancelFunc
	done   chan struct{} // closed when run returns

	subMu  sync.Mutex // held while a subscribe is listed and written: see Subscribe
	mu     sync.Mutex
	conn   *websocket.Conn // nil while reconnecting
	seq    uint64          // the seq of the last event or initial message received
	hasSeq bool
	filter map[string]string // the filter of the last subscribe the server answered with a snapshot, kept on resume
	// The subscribes sent on this connection and not answered yet, oldest
	// first, as the server answers them: each with an initial message, or
	// an error that leaves the filter as it was. The last is sent again
	// after a reconnect.
	unanswered []sentSubscribe
	closed     bool
	err        error // why the client stopped for good
}

// sentSubscribe is a subscribe message sent and the filter it asks for.
type sentSubscribe struct {
	filter map[string]string
	msg    []byte
}

// DialOption configures a Client. Its options are named Dial... so that
// they read apart from the Manager's (ReadLimit, Heartbeat) that they
// mirror; a value that makes no sense panics in Dial.
type DialOption func(*dialConfig)

type dialConfig struct {
	header           http.Header
	httpClient       *http.Client
	minBackoff       time.Duration
	maxBackoff       time.Duration
	heartbeatTimeout time.Duration
	readLimit        int64
	batch            bool
}

// DialHeader sets headers sent with every handshake, such as
// Authorization.
func DialHeader(h http.Header) DialOption {
	return func(c *dialConfig) { c.header = h.Clone() }
}

// DialHTTPClient sets the HTTP client used for the handshakes, for its
// transport (TLS, a proxy). The default is http.DefaultClient.
func DialHTTPClient(hc *http.Client) DialOption {
	return func(c *dialConfig) {
		if hc == nil {
			panic("ws: DialHTTPClient(nil)")
		}
		c.httpClient = hc
	}
}

// DialBackoff sets the first and the longest wait between reconnection
// attempts; each wait is jittered between half and all of its value. The
// defaults are 250 ms and 30 s.
func DialBackoff(first, longest time.Duration) DialOption {
	return func(c *dialConfig) {
		if first <= 0 || longest < first {
			panic(fmt.Sprintf("ws: DialBackoff(%v, %v): need 0 < first <= longest", first, longest))
		}
		c.minBackoff, c.maxBackoff = first, longest
	}
}

// DialHeartbeatTimeout sets how long the client waits for any message
// before it takes the connection for dead and reconnects; the server's
// heartbeat keeps a live connection busy. Zero waits forever. The default
// is 75 s, two and a half default heartbeats.
func DialHeartbeatTimeout(d time.Duration) DialOption {
	return func(c *dialConfig) {
		if d < 0 {
			panic(fmt.Sprintf("ws: DialHeartbeatTimeout(%v): negative", d))
		}
		c.heartbeatTimeout = d
	}
}

// DialReadLimit sets the largest message the client accepts, in bytes;
// an initial message holds a whole snapshot. The default is 16 MiB.
func DialReadLimit(n int64) DialOption {
	return func(c *dialConfig) {
		if n <= 0 {
			panic(fmt.Sprintf("ws: DialReadLimit(%d): must be positive", n))
		}
		c.readLimit = n
	}
}

// Dial connects to the resource endpoint at rawURL (ws://, wss://, http://
// or https://) and returns a Client that follows it until Close. Only the
// first connection attempt is made here; its error is returned.
func Dial(ctx context.Context, rawURL string, opts ...DialOption) (*Client, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, fmt.Errorf("ws: dial: %w", err)
	}
	cfg := dialConfig{
		minBackoff:       250 * time.Millisecond,
		maxBackoff:       30 * time.Second,
		heartbeatTimeout: 75 * time.Second,
		readLimit:        16 << 20,
	}
	for _, o := range opts {
		o(&cfg)
	}
	c := &Client{url: u, cfg: cfg, events: make(chan Event, 64), done: make(chan struct{})}
	conn, err := c.dial(ctx)
	if err != nil {
		return nil, err
	}
	c.conn = conn
	c.ctx, c.cancel = context.WithCancel(context.Background())
	// run reads the connection and reconnects. It is owned by the Client,
	// closes c.events when it returns, and stops at Close or on an error
	// that reconnecting cannot cure.
	go c.run(conn)
	return c, nil
}

// Events returns the channel of the server's messages: events, initial,
// reset and error messages (pings and pongs are not delivered). It is
// closed when the client stops; Err then says why.
func (c *Client) Events() <-chan Event { return c.events }

// Next waits for the next Event. Once the client has stopped it returns
// the reason: ErrClosed after Close, or the error that ended it.
func (c *Client) Next(ctx context.Context) (Event, error) {
	select {
	case ev, ok := <-c.events:
		if !ok {
			return Event{}, c.Err()
		}
		return ev, nil
	case <-ctx.Done():
		return Event{}, ctx.Err()
	}
}

// Subscribe asks for a snapshot of the rows that match filter (nil for
// all), at most limit of them (0 for the server's default), and narrows
// the events to the filter. The snapshot arrives as an initial Event, and
// from then on the client keeps the filter when it resumes; a subscribe
// the server refuses (an error Event, such as for a field it cannot
// filter on) changes nothing. One whose write fails with the connection is
// sent again after the reconnect, as the last one unanswered is.
func (c *Client) Subscribe(ctx context.Context, filter map[string]string, limit int) error {
	msg := struct {
		Type   string            `json:"type"`
		Filter map[string]string `json:"filter,omitempty"`
		Limit  int               `json:"limit,omitempty"`
	}{TypeSubscribe, filter, limit}
	b, err := json.Marshal(msg)
	if err != nil {
		return fmt.Errorf("ws: subscribe: %w", err)
	}
	// The subscribes are written in the order they are listed, and on the
	// connection whose answers they will have.
	c.subMu.Lock()
	defer c.subMu.Unlock()
	c.mu.Lock()
	conn, stopped := c.conn, c.closed || c.err != nil
	if !stopped && conn != nil {
		c.unanswered = append(c.unanswered, sentSubscribe{filter, b})
	}
	c.mu.Unlock()
	if stopped {
		return ErrClosed
	}
	if conn == nil {
		return ErrNotConnected
	}
	if err := conn.Write(ctx, websocket.MessageText, b); err != nil {
		return fmt.Errorf("ws: subscribe: %w", err)
	}
	return nil
}

// Seq returns the seq of the last event or initial message received, and
// whether there was one since the start or the last reset.
func (c *Client) Seq() (uint64, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.seq, c.hasSeq
}

// Err returns why the client stopped, or nil while it runs.
func (c *Client) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.err
}

// Close closes the connection with 1000 and stops the client.
func (c *Client) Close() error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		<-c.done
		return nil
	}
	c.closed = true
	if c.err == nil {
		c.err = ErrClosed
	}
	conn := c.conn
	c.mu.Unlock()
	var err error
	if conn != nil {
		err = conn.Close(websocket.StatusNormalClosure, "")
	}
	c.cancel()
	<-c.done
	if err != nil && !errors.Is(err, net.ErrClosed) {
		return fmt.Errorf("ws: close: %w", err)
	}
	return nil
}

// run follows the connection and, when it drops, reconnects until Close
// or an error that retrying cannot cure.
func (c *Client) run(conn *websocket.Conn) {
	defer close(c.done)
	defer close(c.events)
	for {
		err := c.read(conn)
		conn.CloseNow()
		if c.stopped() {
			return
		}
		if websocket.CloseStatus(err) == websocket.StatusPolicyViolation {
			c.fail(fmt.Errorf("ws: closed by the server: %w", err))
			return
		}
		c.mu.Lock()
		c.conn = nil
		resumable := c.hasSeq
		c.mu.Unlock()
		if conn = c.reconnect(); conn == nil {
			return
		}
		if !resumable {
			// Without a seq the client cannot tell what it missed.
			if !c.deliver(Event{Type: TypeReset, Resource: path.Base(c.url.Path)}) {
				return
			}
		}
	}
}

// reconnect dials until it succeeds, the client is closed, or the server
// refuses the request (a 4xx other than 429, which says to come back
// later); it returns nil in the last two cases.
func (c *Client) reconnect() *websocket.Conn {
	for attempt := 0; ; attempt++ {
		d := min(c.cfg.minBackoff<<min(attempt, 16), c.cfg.maxBackoff)
		select {
		case <-c.ctx.Done():
			return nil
		case <-time.After(d/2 + rand.N(d/2+1)):
		}
		conn, err := c.dial(c.ctx)
		var refused *HandshakeError
		switch {
		case c.stopped():
			if conn != nil {
				conn.CloseNow()
			}
			return nil
		case errors.As(err, &refused) && refused.Status >= 400 && refused.Status < 500 && refused.Status != http.StatusTooManyRequests:
			c.fail(err)
			return nil
		case err != nil:
			continue
		}
		c.subMu.Lock()
		c.mu.Lock()
		closed := c.closed
		var sub []byte
		if !closed {
			c.conn = conn
			// The old connection's answers are lost with it; the last
			// subscribe is asked again on this one.
			if n := len(c.unanswered); n > 0 {
				c.unanswered = c.unanswered[n-1:]
				sub = c.unanswered[0].msg
			}
		}
		c.mu.Unlock()
		if closed {
			c.subMu.Unlock()
			conn.CloseNow()
			return nil
		}
		if sub != nil && conn.Write(c.ctx, websocket.MessageText, sub) != nil {
			c.subMu.Unlock()
			conn.CloseNow()
			continue // the new connection broke already
		}
		c.subMu.Unlock()
		return conn
	}
}

// read delivers the messages of conn until it fails.
func (c *Client) read(conn *websocket.Conn) error {
	for {
		ctx, cancel := context.Background(), context.CancelFunc(func() {})
		if c.cfg.heartbeatTimeout > 0 {
			ctx, cancel = context.WithTimeout(ctx, c.cfg.heartbeatTimeout)
		}
		_, b, err := conn.Read(ctx)
		cancel()
		if err != nil {
			return err
		}
		evs, err := decodeFrame(b)
		if err != nil {
			return fmt.Errorf("ws: bad message from server: %w", err)
		}
		for _, ev := range evs {
			if !c.receive(ev) {
				return ErrClosed
			}
		}
	}
}

// receive keeps what ev says about the stream and delivers it; it reports
// false once the client is closed.
func (c *Client) receive(ev Event) bool {
	switch ev.Type {
	case TypePing, TypePong:
		return true
	case TypeCreate, TypeUpdate, TypeDelete, TypeInitial:
		c.mu.Lock()
		c.seq, c.hasSeq = ev.Seq, true
		if ev.Type == TypeInitial && len(c.unanswered) > 0 {
			c.filter = c.unanswered[0].filter
			c.unanswered = c.unanswered[1:]
		}
		c.mu.Unlock()
	case TypeError:
		// The answer to the oldest subscribe unanswered: the only
		// message the client sends.
		c.mu.Lock()
		if len(c.unanswered) > 0 {
			c.unanswered = c.unanswered[1:]
		}
		c.mu.Unlock()
	case TypeReset:
		c.mu.Lock()
		c.hasSeq = false
		c.mu.Unlock()
	}
	return c.deliver(ev)
}

func (c *Client) deliver(ev Event) bool {
	select {
	case c.events <- ev:
		return true
	case <-c.ctx.Done():
		return false
	}
}

func (c *Client) stopped() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.closed || c.err != nil
}

func (c *Client) fail(err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err == nil {
		c.err = err
	}
}

// HandshakeError is returned by Dial, and by Client.Next once the client
// has stopped, when the server refused the WebSocket handshake with an
// HTTP status: 403 for a foreign origin or failed authentication, 503 when
// it is full, 429 when the client's address has too many connections. The
// client does not retry a 4xx other than 429.
type HandshakeError struct {
	Status int   // the HTTP status of the refusal
	Err    error // coder/websocket's error
}

func (e *HandshakeError) Error() string {
	return fmt.Sprintf("ws: handshake refused with %d %s", e.Status, http.StatusText(e.Status))
}

func (e *HandshakeError) Unwrap() error { return e.Err }

// dial opens a connection, resuming after the last seq received and with
// the filter of the last subscribe the server answered with a snapshot.
func (c *Client) dial(ctx context.Context) (*websocket.Conn, error) {
	u := *c.url
	q := u.Query()
	c.mu.Lock()
	if c.hasSeq {
		q.Set("since", strconv.FormatUint(c.seq, 10))
	}
	if len(c.filter) > 0 {
		f, _ := json.Marshal(c.filter)
		q.Set("filter", string(f))
	}
	if c.cfg.batch {
		q.Set("batch", "1")
	}
	c.mu.Unlock()
	u.RawQuery = q.Encode()
	conn, resp, err := websocket.Dial(ctx, u.String(), &websocket.DialOptions{
		HTTPClient: c.cfg.httpClient,
		HTTPHeader: c.cfg.header,
	})
	if err != nil {
		if resp != nil && resp.StatusCode != http.StatusSwitchingProtocols {
			return nil, &HandshakeError{Status: resp.StatusCode, Err: err}
		}
		return nil, fmt.Errorf("ws: dial %s: %w", c.url.Redacted(), err)
	}
	conn.SetReadLimit(c.cfg.readLimit)
	return conn, nil
}
