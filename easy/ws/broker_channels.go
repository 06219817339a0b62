package ws

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
)

// Channels is implemented by a Broker that also carries the messages an
// application sends to connections (Manager.Broadcast, Send, SendTo)
// between the instances that share it, so that a message sent on one
// instance reaches the connections of every instance. RedisBroker and
// MemoryBroker implement it. Delivery is at most once and in the order
// of posting from one instance: a note posted while an instance cannot
// reach the broker does not reach that instance's connections.
type Channels interface {
	// Post hands n to every instance that listens, the poster included.
	Post(ctx context.Context, n Note) error
	// Listen calls fn with every note posted after it has called ready,
	// one at a time, until ctx ends or the broker fails; it returns the
	// error then.
	Listen(ctx context.Context, ready func(), fn func(Note)) error
}

// Note is a message for connections, as it travels between instances.
type Note struct {
	From   string `json:"f"`           // the instance that posted it; it has delivered it to its own connections
	To     string `json:"to"`          // noteGroup, noteConn, notePrincipal or noteAll
	Target string `json:"t,omitempty"` // the group, connection ID or principal
	Msg    string `json:"m"`
}

const (
	noteGroup     = "group"
	noteConn      = "conn"
	notePrincipal = "principal"
	noteAll       = "all"
)

// maxShared bounds the broker operations (notes, presence changes) that
// wait for the broker; past it the oldest are dropped and counted in
// Stats.BrokerDropped, so that an unreachable broker costs bounded memory.
const maxShared = 10_000

// sharing is the part of a Manager that reaches other instances through
// a broker that implements Channels: its instance name, one goroutine
// that hands notes and presence changes to the broker in order, one that
// listens, and one that beats for presence. They start with the first
// connection or the first message sent (see Manager.sharing) and stop at
// Shutdown, after the connections have left.
type sharing struct {
	instance string
	ch       Channels
	ps       PresenceStore // nil when the broker keeps no presence

	startOnce sync.Once
	ctx       context.Context
	cancel    context.CancelFunc
	wg        sync.WaitGroup

	failing atomic.Bool // the sender's broker calls fail; see drain

	mu    sync.Mutex
	queue []func(context.Context) error
	busy  bool          // the sender runs an operation taken from queue
	wake  chan struct{} // capacity 1: "queue is not empty"
	idle  chan struct{} // closed and replaced when the queue is drained and the sender idle
}

// newSharing returns what a Manager needs to reach other instances; nil
// when its broker cannot carry messages.
func newSharing(b Broker) *sharing {
	ch, ok := b.(Channels)
	if !ok {
		return nil
	}
	var id [6]byte
	rand.Read(id[:])
	s := &sharing{instance: hex.EncodeToString(id[:]), ch: ch, wake: make(chan struct{}, 1), idle: make(chan struct{})}
	s.ps, _ = b.(PresenceStore)
	s.ctx, s.cancel = context.WithCancel(context.Background())
	return s
}

// sharing returns the Manager's link to the other instances, starting its
// goroutines the first time; nil without a broker that implements
// Channels.
func (m *Manager) sharing() *sharing {
	if m.cfg.broker == nil { // Watch may set it from REDIS_URL until the first connection
		return nil
	}
	m.shareOnce.Do(func() { m.share = newSharing(m.cfg.broker) })
	s := m.share
	if s == nil {
		return nil
	}
	s.startOnce.Do(func() { s.start(m) })
	return s
}

// start runs the goroutines and waits, a few seconds at most, until the
// listener is subscribed (or has failed to), so that a message posted by
// another instance after the first connection here is open reaches it.
func (s *sharing) start(m *Manager) {
	ready := make(chan struct{})
	var once sync.Once
	s.wg.Add(2)
	go func() {
		defer s.wg.Done()
		s.listen(m, func() { once.Do(func() { close(ready) }) })
	}()
	go func() {
		defer s.wg.Done()
		s.send(m)
	}()
	if s.ps != nil {
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			s.beat(m)
		}()
	}
	select {
	case <-ready:
	case <-time.After(syncTimeout):
		m.log.Error("ws: broker not listening yet: messages from other instances flow once it is")
	}
}

// connID names connection number num: with other instances, after this
// one, so that Send on any of them finds it.
func (m *Manager) connID(num uint64) string {
	if s := m.sharing(); s != nil {
		return s.instance + "-" + strconv.FormatUint(num, 10)
	}
	return strconv.FormatUint(num, 10)
}

// post queues msg for the connections to and target names on the other
// instances. Without them it costs nothing: the note, a copy of msg, is
// made only for a broker.
func (m *Manager) post(to, target string, msg []byte) {
	s := m.sharing()
	if s == nil {
		return
	}
	n := Note{From: s.instance, To: to, Target: target, Msg: string(msg)}
	s.do(m, func(ctx context.Context) error { return s.ch.Post(ctx, n) })
}

// do queues op for the sender goroutine, dropping the oldest past
// maxShared.
func (s *sharing) do(m *Manager, op func(context.Context) error) {
	s.mu.Lock()
	s.queue = append(s.queue, op)
	if over := len(s.queue) - maxShared; over > 0 {
		clear(s.queue[:over])
		s.queue = s.queue[over:]
		m.stats.brokerDropped.Add(uint64(over))
	}
	s.mu.Unlock()
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// send runs queued operations in order, retrying each with backoff while
// the broker fails, until the sharing stops.
func (s *sharing) send(m *Manager) {
	for {
		s.mu.Lock()
		if len(s.queue) == 0 {
			s.busy = false
			close(s.idle)
			s.idle = make(chan struct{})
			s.mu.Unlock()
			select {
			case <-s.ctx.Done():
				return
			case <-s.wake:
			}
			continue
		}
		op := s.queue[0]
		s.queue[0] = nil
		s.queue = s.queue[1:]
		s.busy = true
		s.mu.Unlock()
		if !s.retry(m, op) {
			return
		}
	}
}

// retry runs op until it succeeds; it reports false when the sharing
// stops first.
func (s *sharing) retry(m *Manager, op func(context.Context) error) bool {
	failed := false
	for wait := 50 * time.Millisecond; ; wait = min(2*wait, maxBackoff) {
		ctx, cancel := context.WithTimeout(s.ctx, syncTimeout)
		err := op(ctx)
		cancel()
		if err == nil {
			s.failing.Store(false)
			if failed {
				m.stats.brokerReconnects.Add(1)
				m.log.Info("ws: broker reachable again for messages")
			}
			return true
		}
		if s.ctx.Err() != nil {
			return false
		}
		if !failed {
			failed = true
			s.failing.Store(true)
			m.log.Error("ws: broker unreachable for messages, retrying", "error", err)
		}
		if !sleep(s.ctx, wait) {
			return false
		}
	}
}

// drain waits until the queued operations are done, or ctx ends; at
// once while the broker fails, which would take all of ctx for nothing.
func (s *sharing) drain(ctx context.Context) {
	s.mu.Lock()
	empty, idle := len(s.queue) == 0 && !s.busy, s.idle
	s.mu.Unlock()
	if empty || s.failing.Load() {
		return
	}
	select {
	case <-idle:
	case <-ctx.Done():
	}
}

// listen delivers the notes of other instances to the connections here,
// subscribing again with backoff when the broker fails.
func (s *sharing) listen(m *Manager, ready func()) {
	wait := 50 * time.Millisecond
	for s.ctx.Err() == nil {
		err := s.ch.Listen(s.ctx, func() { ready(); wait = 50 * time.Millisecond }, func(n Note) {
			if n.From != s.instance {
				m.deliverNote(n)
			}
		})
		if s.ctx.Err() != nil {
			return
		}
		ready() // has failed: start need not wait
		m.log.Error("ws: broker listener failed, subscribing again", "error", err)
		sleep(s.ctx, wait)
		wait = min(2*wait, maxBackoff)
	}
}

// deliverNote hands a note of another instance to the connections here.
func (m *Manager) deliverNote(n Note) {
	msg := []byte(n.Msg)
	switch n.To {
	case noteGroup:
		m.broadcastHere(n.Target, msg)
	case noteConn:
		if c := m.conn(n.Target); c != nil {
			c.enqueue(msg)
		}
	case notePrincipal:
		m.sendToHere(n.Target, msg)
	case noteAll:
		m.broadcastAllHere(msg)
	}
}

// stopSharing runs at Shutdown, once the connections are gone: it lets
// what they queued (their leaves) reach the broker, within ctx and a few
// seconds, removes what is left of this instance's presence, and stops
// the goroutines. A broker that fails is not waited for: the other
// instances drop this one's members when it stops beating.
func (m *Manager) stopSharing(ctx context.Context) {
	m.shareOnce.Do(func() {}) // orders the read of m.share after its write; none is made later
	s := m.share
	if s == nil || !s.stop() {
		return
	}
	dctx, cancel := context.WithTimeout(ctx, syncTimeout)
	s.drain(dctx)
	cancel()
	if s.ps != nil && !s.failing.Load() {
		gctx, cancel := context.WithTimeout(ctx, syncTimeout)
		if _, err := s.ps.Forget(gctx, s.instance); err != nil {
			m.log.Error("ws: presence of this instance not removed: the others drop it when it times out", "error", err)
		}
		cancel()
	}
	s.cancel()
	s.wg.Wait()
}

// stop keeps the goroutines from starting from now on, and reports
// whether they had started.
func (s *sharing) stop() bool {
	started := true
	s.startOnce.Do(func() { started = false })
	return started
}

// instanceOf returns the instance of a connection ID made by connID; ""
// for an ID of a Manager without sharing.
func instanceOf(id string) string {
	inst, _, ok := strings.Cut(id, "-")
	if !ok {
		return ""
	}
	return inst
}

// SendTo queues msg to every connection whose principal is named
// principal (see PrincipalName), on every instance, and returns how many
// connections it reached here: notifications for a user who may have
// several tabs open, on instances behind one load balancer. An empty
// name, that of anonymous connections, reaches nobody.
func (m *Manager) SendTo(principal string, msg []byte) int {
	if principal == "" {
		return 0
	}
	m.post(notePrincipal, principal, msg)
	return m.sendToHere(principal, msg)
}

func (m *Manager) sendToHere(principal string, msg []byte) int {
	m.mu.RLock()
	defer m.mu.RUnlock()
	n := 0
	for _, c := range m.conns {
		if c.name == principal && c.enqueue(msg) {
			n++
		}
	}
	return n
}

func (m *Manager) conn(id string) *Conn {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return m.conns[id]
}

// sendElsewhere posts msg for connection id when it belongs to another
// instance, and reports whether it did.
func (m *Manager) sendElsewhere(id string, msg []byte) bool {
	s := m.sharing()
	if s == nil {
		return false
	}
	inst := instanceOf(id)
	if inst == "" || inst == s.instance {
		return false
	}
	m.post(noteConn, id, msg)
	return true
}

// Post implements Channels.
func (b *MemoryBroker) Post(ctx context.Context, n Note) error {
	b.mu.Lock()
	listeners := append([]chan Note(nil), b.listeners...)
	b.mu.Unlock()
	for _, l := range listeners {
		select {
		case l <- n:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}

// Listen implements Channels.
func (b *MemoryBroker) Listen(ctx context.Context, ready func(), fn func(Note)) error {
	l := make(chan Note, 256)
	b.mu.Lock()
	b.listeners = append(b.listeners, l)
	b.mu.Unlock()
	defer func() {
		b.mu.Lock()
		defer b.mu.Unlock()
		for i, x := range b.listeners {
			if x == l {
				b.listeners = append(b.listeners[:i], b.listeners[i+1:]...)
				break
			}
		}
	}()
	ready()
	for {
		select {
		case n := <-l:
			fn(n)
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// notesChannel is the Redis Pub/Sub channel of the notes.
func (b *RedisBroker) notesChannel() string { return b.prefix + ":notes" }

// Post implements Channels with PUBLISH.
func (b *RedisBroker) Post(ctx context.Context, n Note) error {
	p, err := json.Marshal(n)
	if err != nil {
		return err
	}
	if err := b.client.Publish(ctx, b.notesChannel(), p).Err(); err != nil {
		return fmt.Errorf("ws: redis publish: %w", err)
	}
	return nil
}

// Listen implements Channels with SUBSCRIBE.
func (b *RedisBroker) Listen(ctx context.Context, ready func(), fn func(Note)) error {
	sub := b.client.Subscribe(ctx, b.notesChannel())
	defer sub.Close()
	// A read of the subscription does not end with ctx: closing it does.
	stop := context.AfterFunc(ctx, func() { sub.Close() })
	defer stop()
	if _, err := sub.Receive(ctx); err != nil { // the subscription's confirmation
		return fmt.Errorf("ws: redis subscribe: %w", err)
	}
	ready()
	for {
		msg, err := sub.ReceiveMessage(ctx)
		if err != nil {
			if errors.Is(err, redis.ErrClosed) || ctx.Err() != nil {
				return ctx.Err()
			}
			return fmt.Errorf("ws: redis subscription: %w", err)
		}
		var n Note
		if err := json.Unmarshal([]byte(msg.Payload), &n); err != nil {
			continue // not ours
		}
		fn(n)
	}
}
