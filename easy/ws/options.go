package ws

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"path"
	"runtime"
	"slices"
	"time"

	"github.com/coder/websocket"

	"github.com/fastapi-easy/easy-go/easy/route"
)

// Option configures a Manager; NewManager takes them. Every option has a
// default; an invalid value is a setup mistake and panics in NewManager.
type Option func(*config)

type config struct {
	heartbeat     time.Duration
	writeTimeout  time.Duration
	readLimit     int64
	rate          float64
	burst         int
	maxConns      int
	maxConnsPerIP int
	origins       []string
	compression   websocket.CompressionMode
	historySize   int
	sendQueue     int
	sendBytes     int
	sockBuffer    int // SocketSendBuffer; 0: the kernel's
	closeTimeout  time.Duration
	snapshotLimit int
	maxSnapshots  int
	snapshotWait  time.Duration
	logger        *slog.Logger // nil: the App's under Watch, else slog.Default()
	authenticate  func(*http.Request) (context.Context, any, error)
	secured       route.Requirement // Secure's dependency, for the AsyncAPI document (describe.go); nil otherwise
	policies      []modelPolicy
	authorize     func(principal any, resource string, c Change) bool
	onConnect     func(*Conn)
	onDisconnect  func(*Conn, websocket.StatusCode)
	onMessage     func(ctx context.Context, c *Conn, msg []byte) error
	prefix        string
	broker        Broker
	presence      presenceConfig
	principalName func(any) string
	ssePrefix     string // see sse.go
	authClose     bool   // see CloseOnAuthFailure
	noOutbox      bool
	outboxAge     time.Duration
}

func defaultConfig() config {
	return config{
		heartbeat:     30 * time.Second,
		writeTimeout:  10 * time.Second,
		readLimit:     32 << 10,
		rate:          20,
		burst:         40,
		maxConns:      10000,
		maxConnsPerIP: 100,
		historySize:   1024,
		sendQueue:     256,
		sendBytes:     1 << 20,
		sockBuffer:    128 << 10,
		closeTimeout:  5 * time.Second,
		snapshotLimit: 1000,
		maxSnapshots:  max(1, runtime.GOMAXPROCS(0)/2),
		snapshotWait:  10 * time.Second,
		prefix:        "/ws",
		ssePrefix:     "/sse",
		outboxAge:     24 * time.Hour,
	}
}

// Prefix moves the endpoints Watch mounts: /ws/{resource} and
// /ws/client.js by default.
func Prefix(p string) Option {
	return func(c *config) {
		if p == "" || p[0] != '/' || p[len(p)-1] == '/' {
			panic(fmt.Sprintf("ws: Prefix(%q): want a path like /ws", p))
		}
		c.prefix = p
	}
}

// Heartbeat sets how often the server sends {"type":"ping"} on a resource
// endpoint and a protocol ping on every connection; a peer that does not
// answer the protocol ping within the write timeout is dropped. Zero turns
// both off. The default is 30 seconds.
func Heartbeat(d time.Duration) Option {
	return func(c *config) {
		if d < 0 {
			panic(fmt.Sprintf("ws: Heartbeat(%v): negative interval", d))
		}
		c.heartbeat = d
	}
}

// WriteTimeout bounds each write to a connection and the wait for the
// answer to a protocol ping; a connection that exceeds it is closed. The
// default is 10 seconds.
func WriteTimeout(d time.Duration) Option {
	return func(c *config) {
		if d <= 0 {
			panic(fmt.Sprintf("ws: WriteTimeout(%v): must be positive", d))
		}
		c.writeTimeout = d
	}
}

// ReadLimit sets the largest message a client may send, in bytes; a
// larger one closes the connection with 1009. The default is 32 KiB.
func ReadLimit(n int64) Option {
	return func(c *config) {
		if n <= 0 {
			panic(fmt.Sprintf("ws: ReadLimit(%d): must be positive", n))
		}
		c.readLimit = n
	}
}

// RateLimit sets how many messages per second a client may send on
// average, with bursts of up to burst messages; a client that sends more
// is closed with 1008. A rate of zero turns the limit off. The default is
// 20 messages per second with bursts of 40.
func RateLimit(perSecond float64, burst int) Option {
	return func(c *config) {
		if !(perSecond >= 0) || perSecond > 0 && burst < 1 { // !(>=) also refuses NaN
			panic(fmt.Sprintf("ws: RateLimit(%v, %d): need a rate >= 0 and a burst >= 1", perSecond, burst))
		}
		c.rate, c.burst = perSecond, burst
	}
}

// MaxConnections sets how many connections may be open at once; one more
// is refused with 503 before the upgrade. Zero means no limit. The default
// is 10,000.
func MaxConnections(n int) Option {
	return func(c *config) {
		if n < 0 {
			panic(fmt.Sprintf("ws: MaxConnections(%d): negative", n))
		}
		c.maxConns = n
	}
}

// MaxConnectionsPerIP sets how many connections one client address may
// have open at once, so that one client cannot take every slot of
// MaxConnections; one more is refused with 429 {"detail":"Too many
// connections from this address"} before the upgrade. An IPv6 address
// counts by its /64 network. The address is the request's RemoteAddr:
// behind a reverse proxy on another host, set it from the proxy's header
// (chi's middleware.RealIP), or every client shares the proxy's. Loopback
// addresses are not capped: a client there is the machine itself, such
// as a proxy on the same host. Zero means no limit. The default is 100.
func MaxConnectionsPerIP(n int) Option {
	return func(c *config) {
		if n < 0 {
			panic(fmt.Sprintf("ws: MaxConnectionsPerIP(%d): negative", n))
		}
		c.maxConnsPerIP = n
	}
}

// AllowedOrigins lets browsers on other origins connect. Each pattern is
// matched against the Origin header's host, or against scheme://host when
// it contains "://", with path.Match ("*.example.com"), in any case. The
// pattern "*" allows every origin. By default only the request's own host
// may connect; a foreign Origin is refused before the upgrade with 403
// {"detail":"Origin not allowed"}. Requests without an Origin header
// (non-browser clients) are always allowed. A malformed pattern panics.
func AllowedOrigins(patterns ...string) Option {
	for _, p := range patterns {
		if _, err := path.Match(p, ""); err != nil {
			panic(fmt.Sprintf("ws: AllowedOrigins(%q): %v", p, err))
		}
	}
	return func(c *config) { c.origins = slices.Clone(patterns) }
}

// Compression turns on per-message compression (RFC 7692) for clients
// that offer it. It costs CPU on every message of every connection, so it
// is off by default.
func Compression(mode websocket.CompressionMode) Option {
	return func(c *config) { c.compression = mode }
}

// HistorySize sets how many of its latest events each resource keeps for
// clients that resume with ?since. Zero keeps none: resuming always gets
// a reset. The default is 1024.
func HistorySize(n int) Option {
	return func(c *config) {
		if n < 0 {
			panic(fmt.Sprintf("ws: HistorySize(%d): negative", n))
		}
		c.historySize = n
	}
}

// SendQueue sets how many messages may wait to be written to one
// connection (see also SendQueueBytes). A connection whose queue is full
// is too slow to follow and is closed with 1013; nobody else waits for
// it. The default is 256.
func SendQueue(n int) Option {
	return func(c *config) {
		if n < 1 {
			panic(fmt.Sprintf("ws: SendQueue(%d): must be at least 1", n))
		}
		c.sendQueue = n
	}
}

// SendQueueBytes sets how many bytes of messages may wait to be written
// to one connection, the messages of a subscribe's answer included. A
// connection whose client falls that far behind is closed with 1013 at
// once (a message larger than this gets through when nothing else waits
// to be written, and a snapshot larger than this is refused with an error
// message). It bounds the memory a client that reads nothing can hold on
// the server. The default is 1 MiB.
func SendQueueBytes(n int) Option {
	return func(c *config) {
		if n < 1 {
			panic(fmt.Sprintf("ws: SendQueueBytes(%d): must be at least 1", n))
		}
		c.sendBytes = n
	}
}

// SocketSendBuffer sets the kernel's send buffer of each WebSocket's TCP
// connection, and of each server-sent events stream's under the App's
// Serve (easy.NetConn; another server does not give a stream its
// connection), Linux doubling it. Bytes on their way to a client are the
// send queue (SendQueueBytes) and what the kernel has taken: left to
// itself Linux grows its share to 4 MiB for a client that reads nothing,
// so that such a client could have the server read and write some 30
// snapshots for it before its queue showed that it reads nothing, instead
// of some 8. The default, 128 KiB, carries 2 MiB/s to a client 100 ms
// away; 0 leaves the buffer to the kernel.
func SocketSendBuffer(n int) Option {
	return func(c *config) {
		if n < 0 {
			panic(fmt.Sprintf("ws: SocketSendBuffer(%d): negative", n))
		}
		c.sockBuffer = n
	}
}

// CloseTimeout bounds how long a connection the server closes without
// flushing its queue (for a limit: 1008, 1013; an error: 1011; a
// shutdown: 1001) has to take its close frame, before its socket is
// dropped. One closed with 1009 (a message over the read limit) is let go
// within a second, since its client is still sending that message. A client that reads nothing never takes it, and would
// otherwise hold its connection until the write timeout passed. The
// default is 5 seconds.
func CloseTimeout(d time.Duration) Option {
	return func(c *config) {
		if d <= 0 {
			panic(fmt.Sprintf("ws: CloseTimeout(%v): must be positive", d))
		}
		c.closeTimeout = d
	}
}

// SnapshotLimit sets the most rows an initial message may hold, which is
// also the limit when a subscribe names none. The default is 1000.
func SnapshotLimit(n int) Option {
	return func(c *config) {
		if n < 1 {
			panic(fmt.Sprintf("ws: SnapshotLimit(%d): must be at least 1", n))
		}
		c.snapshotLimit = n
	}
}

// MaxSnapshots sets how many snapshots (the answers to subscribe) the
// Manager reads from the database at once; a subscribe beyond that waits
// until one is done, so that subscribers cannot take every database
// connection and CPU from the writers. A connection has one snapshot read
// at a time, as it handles its messages in order. The wait counts against
// the subscribe's SnapshotTimeout. The default is half of
// GOMAXPROCS, at least 1: reading and encoding rows is work for a CPU,
// and more snapshots at once than that slow the writes down without
// answering subscribes any sooner.
func MaxSnapshots(n int) Option {
	return func(c *config) {
		if n < 1 {
			panic(fmt.Sprintf("ws: MaxSnapshots(%d): must be at least 1", n))
		}
		c.maxSnapshots = n
	}
}

// SnapshotTimeout bounds a subscribe (or an SSE stream's snapshot=1) from
// its start to its answer: its wait for a turn (MaxSnapshots) and every
// snapshot it reads from the database (a second and a third when one
// cannot be joined to the events after it) share it. A subscribe that
// takes longer, such as one whose read waits for a table another
// transaction has locked, or that waits behind such reads, is given up,
// and answered with an error message, leaving the connection and its
// filter as they were (an SSE stream, whose client cannot ask again, ends
// after the error, for its client to reconnect to a fresh snapshot). A
// subscribe is answered on its connection's
// reader, which reads no pong meanwhile: the bound is also how long a
// subscribe can keep the heartbeat from finding a dead peer (as long as
// the Source stops reading when its context ends, as Watch's do). The
// default is 10 seconds.
func SnapshotTimeout(d time.Duration) Option {
	return func(c *config) {
		if d <= 0 {
			panic(fmt.Sprintf("ws: SnapshotTimeout(%v): must be positive", d))
		}
		c.snapshotWait = d
	}
}

// Logger sets where the Manager logs the errors it cannot hand to anyone:
// panics of hooks and handlers, failed snapshots. The default is the
// App's logger once Watch ties the Manager to an App, else slog.Default().
func Logger(l *slog.Logger) Option {
	return func(c *config) {
		if l == nil {
			panic("ws: Logger(nil)")
		}
		c.logger = l
	}
}

// Authenticate sets a hook that runs before the upgrade and returns the
// principal of the request (a user, a token's claims), which the
// connection keeps. An error refuses the connection before the upgrade:
// an *problem.HTTPError with its own status and detail, any other error with
// 403 {"detail":"Forbidden"}. If the principal implements Expiring, the
// connection is closed with 1008 when its authorisation expires. By
// default every request is let in with a nil principal.
func Authenticate(fn func(r *http.Request) (principal any, err error)) Option {
	return func(c *config) {
		c.secured = nil
		c.authenticate = func(r *http.Request) (context.Context, any, error) {
			p, err := fn(r)
			return r.Context(), p, err
		}
	}
}

// Expiring is implemented by a principal whose authorisation ends: its
// connection is closed with 1008 at Expiry. A zero time never expires.
type Expiring interface {
	Expiry() time.Time
}

// Authorize sets a filter that decides, per connection, which events and
// snapshot rows its principal may see. It is called for every event and
// every connection of the resource (for a snapshot row, c.Op is
// "initial"), so it must be fast and must not block. By default everyone
// sees everything.
func Authorize(fn func(principal any, resource string, c Change) bool) Option {
	return func(c *config) { c.authorize = fn }
}

// OnConnect sets a hook called for each new connection once it is
// registered, as the handshake response is written and before any event
// is queued to it, so a message it sends comes first. It may Send and
// Close, but not Read.
func OnConnect(fn func(c *Conn)) Option {
	return func(c *config) { c.onConnect = fn }
}

// OnDisconnect sets a hook called once a connection is closed, with the
// close code: the one the server closed with, the one the peer sent, or
// 1006 when the connection broke without a close frame.
func OnDisconnect(fn func(c *Conn, code websocket.StatusCode)) Option {
	return func(c *config) { c.onDisconnect = fn }
}

// OnMessage sets a hook for the messages of a resource endpoint whose
// type the resource protocol does not know, so an application can extend
// the protocol. An error it returns is sent to the client as
// {"type":"error","detail":...}. Without it such messages get that error
// with the detail `unknown message type "..."`.
func OnMessage(fn func(ctx context.Context, c *Conn, msg []byte) error) Option {
	return func(c *config) { c.onMessage = fn }
}

// NoOutbox turns the outbox off: the events of a write are then published
// from memory after its commit, and a crash between the two loses them
// (see docs/scaling.md). With the outbox, the default on SQLite and
// PostgreSQL, they are written to the resource's outbox table
// (easy_outbox_items for items) in the write's own transaction and
// survive a crash and a restart. The outbox is off without this option
// too on other databases, and with a Broker of one's own that cannot
// append entries numbered by the outbox (RedisBroker and MemoryBroker
// can); the Manager logs a warning then.
func NoOutbox() Option {
	return func(c *config) { c.noOutbox = true }
}

// OutboxMaxAge sets how long the outbox keeps an event: older ones are
// deleted (all but the latest of each resource), as are those beyond the
// history size (see HistorySize). The default is 24 hours.
func OutboxMaxAge(d time.Duration) Option {
	return func(c *config) {
		if d <= 0 {
			panic(fmt.Sprintf("ws: OutboxMaxAge(%v): must be positive", d))
		}
		c.outboxAge = d
	}
}
