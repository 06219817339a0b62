package ws

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"
	"go.opentelemetry.io/otel/trace"
)

// ErrClosed is returned when sending to or reading from a connection that
// is closing or closed.
var ErrClosed = errors.New("ws: connection closed")

// ErrUnknownConn is returned by Manager.Send for an ID that names no open
// connection.
var ErrUnknownConn = errors.New("ws: no open connection with that ID")

// Manager owns a set of WebSocket connections: it accepts them, serves the
// resource endpoints and custom endpoints, numbers and fans out the events
// of each resource, and closes everything on Shutdown. An application has
// one; its zero value is not usable, call NewManager.
type Manager struct {
	cfg       config
	accept    websocket.AcceptOptions
	anyOrigin bool // AllowedOrigins("*")
	log       *slog.Logger

	// ctx ends at Shutdown, which stops the fan-out goroutines. wg counts
	// them and every open connection.
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	// resMu guards resources apart from the registry, so that Publish
	// never waits for connections coming and going.
	resMu     sync.RWMutex
	resources map[string]*resource

	mu     sync.RWMutex // guards the registry
	closed bool
	conns  map[string]*Conn
	groups map[string]map[*Conn]struct{}

	snapshots chan struct{} // a token per snapshot being read; see MaxSnapshots
	corkBufs  sync.Pool     // the buffers of the connections' corks while they write (cork.go)
	outbox    *outbox       // nil without one; set by Watch before any resource

	slots  atomic.Int64 // connections open or being opened
	nextID atomic.Uint64
	stats  counters

	obs    *metrics     // nil unless the App serves metrics (metrics.go)
	tracer trace.Tracer // nil unless the App traces (trace.go)

	addrMu  sync.Mutex
	perAddr map[string]int // slots taken by each client address; see reserve

	shareOnce sync.Once
	share     *sharing // nil without a broker that implements Channels; see sharing
}

type counters struct {
	eventsPublished, messagesSent, bytesSent, droppedSlow, rateLimited, refused atomic.Uint64
	brokerReconnects, brokerDropped                                             atomic.Uint64
	brokerLag                                                                   atomic.Int64 // microseconds
}

// Stats is a snapshot of a Manager's counters.
type Stats struct {
	Connections     int    // open now
	EventsPublished uint64 // events numbered by Publish
	MessagesSent    uint64 // messages written to connections
	BytesSent       uint64 // bytes of those messages
	DroppedSlow     uint64 // connections closed with 1013 because their queue was full
	RateLimited     uint64 // connections closed with 1008 for sending too fast
	Refused         uint64 // handshakes refused: too many connections, a foreign origin, failed authentication

	// With a broker (ShareVia):
	BrokerLag        time.Duration // from append to delivery here, of the last event read
	BrokerPending    int           // events waiting to be appended (with the outbox: as of its relay's last failed pass)
	BrokerReconnects uint64        // times the broker was reachable again after failing
	BrokerDropped    uint64        // events (and messages, presence changes; see Channels) dropped while the broker was unreachable
}

// NewManager returns a Manager configured by opts. Watch ties it to an
// App; on its own it serves custom endpoints and resources added with
// AddResource on any mux.
func NewManager(opts ...Option) *Manager {
	cfg := defaultConfig()
	for _, o := range opts {
		o(&cfg)
	}
	ctx, cancel := context.WithCancel(context.Background())
	m := &Manager{
		cfg:       cfg,
		log:       cmp.Or(cfg.logger, slog.Default()),
		ctx:       ctx,
		cancel:    cancel,
		resources: make(map[string]*resource),
		conns:     make(map[string]*Conn),
		groups:    make(map[string]map[*Conn]struct{}),
		perAddr:   make(map[string]int),
		snapshots: make(chan struct{}, cfg.maxSnapshots),
		corkBufs:  sync.Pool{New: newCorkBuf},
	}
	m.accept.CompressionMode = cfg.compression
	m.accept.InsecureSkipVerify = true // checkOrigin has checked it, to refuse in JSON
	m.anyOrigin = slices.Contains(cfg.origins, "*")
	return m
}

// AddResource makes the Manager serve the events of the resource name,
// which ServeHTTP serves at a path ending in /name. src answers subscribe
// messages; with a nil src, clients get the events but cannot subscribe.
// Adding a name twice, or after Shutdown, panics.
//
// With a broker, AddResource reads the tail of the resource's log first,
// waiting a few seconds at most: when the broker is unreachable it logs
// the error and returns, and the Manager keeps trying in the background
// (see ShareVia).
func (m *Manager) AddResource(name string, src Source) {
	if name == "" {
		panic("ws: AddResource with an empty name")
	}
	r := newResource(m, name, src)
	if m.cfg.broker != nil {
		r.link = newRelay(r, m.cfg.broker, &m.stats)
		ctx, cancel := context.WithTimeout(m.ctx, syncTimeout)
		if err := r.link.sync(ctx); err != nil {
			m.log.Error("ws: broker unreachable at start: events flow once it is", "resource", name, "error", err)
		}
		cancel()
	}
	m.mu.Lock() // with m.closed, so that Shutdown waits for the goroutine started here
	defer m.mu.Unlock()
	if m.closed {
		panic(fmt.Sprintf("ws: AddResource(%q) after Shutdown", name))
	}
	m.resMu.Lock()
	defer m.resMu.Unlock()
	if _, ok := m.resources[name]; ok {
		panic(fmt.Sprintf("ws: resource %q added twice", name))
	}
	m.resources[name] = r
	// The fan-out goroutine of the resource is owned by the Manager and
	// stops when Shutdown cancels m.ctx.
	m.wg.Add(1)
	go func() {
		defer m.wg.Done()
		r.fanOut(m.ctx)
	}()
	// With a broker, the relay's publisher and reader are the Manager's
	// too, and stop with it.
	if r.link != nil {
		m.wg.Add(2)
		go func() {
			defer m.wg.Done()
			r.link.publish(m.ctx)
		}()
		go func() {
			defer m.wg.Done()
			r.link.read(m.ctx)
		}()
	}
}

func (m *Manager) resource(name string) *resource {
	m.resMu.RLock()
	defer m.resMu.RUnlock()
	return m.resources[name]
}

// Publish numbers the changes of a resource (seq rises by one per event),
// encodes each event once, keeps it in the resource's history and hands
// it to the connections. Call it after a commit, in commit order, as the
// change capture of Watch does. It never waits for a connection: fan-out
// happens on a goroutine of the Manager. Changes to a resource that was never added,
// or published after Shutdown, are logged and dropped.
func (m *Manager) Publish(resource string, changes ...Change) {
	m.publish(resource, changes, false, nil)
}

// publish is Publish; encoded says the changes' Data is encoding/json's
// output, as change capture's is, and need not be checked now; tr, when
// not nil, holds the span the events' fan-out continues.
func (m *Manager) publish(resource string, changes []Change, encoded bool, tr *eventTrace) {
	if len(changes) == 0 {
		return
	}
	r := m.resource(resource)
	if r == nil || m.ctx.Err() != nil {
		m.log.Error("ws: events dropped: unknown resource or Manager shut down", "resource", resource, "events", len(changes))
		return
	}
	if m.outbox != nil {
		if n, ok := m.outbox.published(r, changes, encoded); ok {
			m.stats.eventsPublished.Add(uint64(n))
			return
		}
	}
	if r.link != nil {
		m.stats.eventsPublished.Add(uint64(r.link.enqueue(changes)))
		return
	}
	m.stats.eventsPublished.Add(uint64(r.publish(changes, encoded, tr)))
}

// Seq returns the seq of the last event published for resource, or 0 for
// a resource that was never added. A snapshot that includes every event
// published so far is consistent with this seq. With a broker it is the
// seq of the last event this Manager has read from the broker's log.
func (m *Manager) Seq(resource string) uint64 {
	if r := m.resource(resource); r != nil {
		return r.seq.Load()
	}
	return 0
}

// Send queues msg to the connection with the given ID; see Conn.Send.
// With a broker that implements Channels, the ID of a connection of
// another instance is sent there, and Send returns nil without knowing
// whether it is still open.
func (m *Manager) Send(id string, msg []byte) error {
	c := m.conn(id)
	if c == nil {
		if m.sendElsewhere(id, msg) {
			return nil
		}
		return ErrUnknownConn
	}
	return c.Send(msg)
}

// Broadcast queues msg to every connection of group (a resource name or
// the group of a custom endpoint) and returns how many it reached. On a
// resource endpoint msg goes to every connection, whatever its filter.
// With a broker that implements Channels, msg also goes to the group's
// connections on every other instance; the count is of this one's.
func (m *Manager) Broadcast(group string, msg []byte) int {
	m.post(noteGroup, group, msg)
	return m.broadcastHere(group, msg)
}

func (m *Manager) broadcastHere(group string, msg []byte) int {
	m.mu.RLock()
	defer m.mu.RUnlock()
	n := 0
	for c := range m.groups[group] {
		if c.enqueue(msg) {
			n++
		}
	}
	return n
}

// BroadcastAll queues msg to every open connection and returns how many
// it reached; with a broker that implements Channels, on every instance,
// as Broadcast.
func (m *Manager) BroadcastAll(msg []byte) int {
	m.post(noteAll, "", msg)
	return m.broadcastAllHere(msg)
}

func (m *Manager) broadcastAllHere(msg []byte) int {
	m.mu.RLock()
	defer m.mu.RUnlock()
	n := 0
	for _, c := range m.conns {
		if c.enqueue(msg) {
			n++
		}
	}
	return n
}

// Count returns how many connections are open, counting those whose close
// handshake is under way.
func (m *Manager) Count() int {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return len(m.conns)
}

// Conns returns the open connections, in the order they were opened.
func (m *Manager) Conns() []*Conn {
	m.mu.RLock()
	conns := make([]*Conn, 0, len(m.conns))
	for _, c := range m.conns {
		conns = append(conns, c)
	}
	m.mu.RUnlock()
	slices.SortFunc(conns, func(a, b *Conn) int { return cmp.Compare(a.num, b.num) })
	return conns
}

// Stats returns the Manager's counters.
func (m *Manager) Stats() Stats {
	return Stats{
		Connections:     m.Count(),
		EventsPublished: m.stats.eventsPublished.Load(),
		MessagesSent:    m.stats.messagesSent.Load(),
		BytesSent:       m.stats.bytesSent.Load(),
		DroppedSlow:     m.stats.droppedSlow.Load(),
		RateLimited:     m.stats.rateLimited.Load(),
		Refused:         m.stats.refused.Load(),

		BrokerLag:        time.Duration(m.stats.brokerLag.Load()) * time.Microsecond,
		BrokerPending:    m.brokerPending(),
		BrokerReconnects: m.stats.brokerReconnects.Load(),
		BrokerDropped:    m.stats.brokerDropped.Load(),
	}
}

func (m *Manager) brokerPending() int {
	if m.cfg.broker == nil {
		return 0
	}
	if m.outbox != nil {
		return int(m.outbox.pending.Load())
	}
	m.resMu.RLock()
	defer m.resMu.RUnlock()
	n := 0
	for _, r := range m.resources {
		n += int(r.link.pending.Load())
	}
	return n
}

// Shutdown refuses new connections, closes every open one with 1001 and
// waits until they and the Manager's goroutines are gone, or until ctx
// ends; then it drops the connections that are left without waiting for
// their close handshake, and returns ctx's error. A Manager cannot be used
// again after Shutdown.
func (m *Manager) Shutdown(ctx context.Context) error {
	m.mu.Lock()
	m.closed = true
	conns := make([]*Conn, 0, len(m.conns))
	for _, c := range m.conns {
		conns = append(conns, c)
	}
	m.mu.Unlock()
	m.cancel()
	for _, c := range conns {
		c.closeWith(websocket.StatusGoingAway, "server shutting down", false)
	}
	done := make(chan struct{})
	// This goroutine turns m.wg into a channel; it is owned by Shutdown and
	// returns once every connection and fan-out goroutine has, which
	// CloseNow below hastens when ctx ends first.
	go func() {
		m.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
		m.stopSharing(ctx)
		return nil
	case <-ctx.Done():
		for _, c := range conns {
			c.drop()
		}
		m.stopSharing(ctx)
		return fmt.Errorf("ws: shutdown: %w", ctx.Err())
	}
}

// register adds an accepted connection to the registry; it reports false
// once Shutdown has begun.
func (m *Manager) register(c *Conn) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return false
	}
	m.wg.Add(1)
	m.conns[c.id] = c
	g := m.groups[c.group]
	if g == nil {
		g = make(map[*Conn]struct{})
		m.groups[c.group] = g
	}
	g[c] = struct{}{}
	return true
}

func (m *Manager) unregister(c *Conn) {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.conns, c.id)
	g := m.groups[c.group]
	delete(g, c)
	if len(g) == 0 {
		delete(m.groups, c.group)
	}
}
