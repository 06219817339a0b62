// Package connlimit bounds the connections a server holds at once.
//
// Past its cap a Listener stops accepting, as netutil.LimitListener of
// golang.org/x/net does: the connections that come meanwhile wait in the
// kernel's listen backlog, which costs the process neither a file
// descriptor nor a goroutine, and are served as others close. Answering
// them 503 instead would spend on each what the cap is there to bound.
// A connection idle between two requests is the cheapest to give back,
// so one that waits has the longest idle closed once it has been idle a
// second, as nginx reuses its keep-alive connections when it runs out:
// idle keep-alives do not keep a new client out for their whole idle
// timeout, and a client that sends its next request on a connection just
// idle does not lose it. While it waits, the responses of a Listener's
// Handler close their connections (Connection: close), which frees their
// slots without a client sending a request on a connection closed under
// it.
package connlimit

import (
	"container/list"
	"crypto/tls"
	"io"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// Listener is a net.Listener that holds at most its cap of connections at
// once. A connection counts from Accept to its Close, after a hijack too.
// A connection is idle from the end of a response until it reads the
// first bytes of the next request.
//
// A *tls.Conn is returned as it is, since net/http needs it so, and
// counts until the server reports it closed or hijacked (ConnState): a
// hijacked TLS connection stops counting there, as no one sees its Close.
// Nor are its reads seen: it is idle until the server reports it active,
// once the next request's headers are read, and can be closed to make
// room while they come.
//
// The server that serves a Listener calls its ConnState from
// http.Server.ConnState, and Accept from one goroutine, as Serve does,
// and serves its requests through Handler.
type Listener struct {
	net.Listener
	slots  chan struct{} // a token for every connection held
	closed chan struct{} // closed by Close: Accept stops waiting
	close  sync.Once
	full   func() // told that a connection waits for a slot; may be nil

	waiting atomic.Bool // Accept waits for a slot: responses close their connections

	mu      sync.Mutex             // guards idle, idleTLS and each conn's elem and since
	idle    list.List              // connections between two requests, the longest idle first: *conn or *tls.Conn
	idleTLS map[*tls.Conn]idleMark // a TLS connection's place, which a conn keeps itself
}

// New returns ln holding at most n connections at once (n > 0). full, if
// not nil, is called from Accept each time a connection has to wait.
func New(ln net.Listener, n int, full func()) *Listener {
	return &Listener{
		Listener: ln,
		slots:    make(chan struct{}, n),
		closed:   make(chan struct{}),
		full:     full,
		idleTLS:  make(map[*tls.Conn]idleMark),
	}
}

// Accept returns the next connection once a slot is free for it. At the
// cap the connection is accepted already and waits here, unserved: the
// cap and one more are open at most.
func (l *Listener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	if !l.take() {
		c.Close()
		return nil, net.ErrClosed
	}
	if _, ok := c.(*tls.Conn); ok {
		return c, nil // released by ConnState
	}
	return &conn{Conn: c, l: l, release: sync.OnceFunc(l.release)}, nil
}

// idleGrace is how long a connection stays idle at least before it is
// closed to make room: a keep-alive client that has its next request
// ready sends it at once, and would lose it to a close (see Handler).
const idleGrace = time.Second

// take waits for a free slot, and reports false when the listener closes
// first. At the cap it closes the connection idle longest to make room,
// once that has been idle for idleGrace.
func (l *Listener) take() bool {
	select {
	case l.slots <- struct{}{}:
		return true
	default:
	}
	l.waiting.Store(true)
	defer l.waiting.Store(false)
	if l.full != nil {
		l.full()
	}
	check := time.NewTimer(0)
	defer check.Stop()
	for {
		select {
		case l.slots <- struct{}{}:
			return true
		case <-l.closed:
			return false
		case <-check.C:
			check.Reset(l.closeIdle())
		}
	}
}

// closeIdle closes the connection idle longest if it has been idle for
// idleGrace, and returns when to look again.
func (l *Listener) closeIdle() time.Duration {
	l.mu.Lock()
	var c net.Conn
	wait := idleGrace
	if e := l.idle.Front(); e != nil {
		c = e.Value.(net.Conn)
		if idle := time.Since(l.since(c)); idle < idleGrace {
			c, wait = nil, idleGrace-idle
		} else {
			l.remove(c)
		}
	}
	l.mu.Unlock()
	if c != nil {
		closeConn(c)
	}
	return wait
}

func (l *Listener) release() { <-l.slots }

// Handler returns next, whose responses close their connection while a
// connection waits for a slot: they say Connection: close, after which
// net/http closes the connection (HTTP/2 sends GOAWAY) and the client
// sends its next request on a new one. A response begun before keeps its
// connection, which is not closed for idleGrace after it.
func (l *Listener) Handler(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if l.waiting.Load() {
			w.Header().Set("Connection", "close")
		}
		next.ServeHTTP(w, r)
	})
}

// Close closes the listener; an Accept waiting for a slot returns.
func (l *Listener) Close() error {
	l.close.Do(func() { close(l.closed) })
	return l.Listener.Close()
}

// ConnState follows the state of the server's connections: which are
// idle, and when a TLS connection ends. A plain connection keeps its
// place in the idle list itself, so that only its moves in and out of
// the list take the lock.
func (l *Listener) ConnState(c net.Conn, s http.ConnState) {
	if tc, ok := c.(*tls.Conn); ok {
		l.tlsState(tc, s)
		return
	}
	cc, ok := c.(*conn)
	if u, wrapped := c.(interface{ NetConn() net.Conn }); !ok && wrapped {
		cc, ok = u.NetConn().(*conn) // the server's wrapper of what Accept returned
	}
	switch {
	case !ok:
	case s == http.StateIdle:
		l.mu.Lock()
		l.push(cc)
		l.mu.Unlock()
	case cc.idle.Load():
		l.mu.Lock()
		l.remove(cc)
		l.mu.Unlock()
	}
}

func (l *Listener) tlsState(c *tls.Conn, s http.ConnState) {
	l.mu.Lock()
	if s == http.StateIdle {
		l.push(c)
	} else {
		l.remove(c)
	}
	l.mu.Unlock()
	if s == http.StateClosed || s == http.StateHijacked {
		l.release()
	}
}

// idleMark is an idle TLS connection's place in the idle list, and when
// it went idle.
type idleMark struct {
	elem  *list.Element
	since time.Time
}

// push puts c at the back of the idle list. l.mu is held.
func (l *Listener) push(c net.Conn) {
	l.remove(c) // were it there still, its element would stay behind
	e, now := l.idle.PushBack(c), time.Now()
	switch c := c.(type) {
	case *conn:
		c.elem, c.since = e, now
		c.idle.Store(true)
	case *tls.Conn:
		l.idleTLS[c] = idleMark{e, now}
	}
}

// since is when c, in the idle list, went idle. l.mu is held.
func (l *Listener) since(c net.Conn) time.Time {
	if tc, ok := c.(*tls.Conn); ok {
		return l.idleTLS[tc].since
	}
	return c.(*conn).since
}

// remove takes c out of the idle list, if it is there. l.mu is held.
func (l *Listener) remove(c net.Conn) {
	switch c := c.(type) {
	case *conn:
		if c.elem != nil {
			l.idle.Remove(c.elem)
			c.elem = nil
			c.idle.Store(false)
		}
	case *tls.Conn:
		if m, ok := l.idleTLS[c]; ok {
			l.idle.Remove(m.elem)
			delete(l.idleTLS, c)
		}
	}
}

// closeConn closes an idle connection to make room. A TLS connection's
// own Close would first write its close alert, and wait for a client
// that may not read: its socket is closed under it, and the server
// closes the rest.
func closeConn(c net.Conn) {
	if tc, ok := c.(*tls.Conn); ok {
		c = tc.NetConn()
	}
	c.Close()
}

// conn is a plain connection the Listener accepted; its Close frees its
// slot.
type conn struct {
	net.Conn
	l       *Listener
	release func()

	idle  atomic.Bool   // in l.idle: written under l.mu, read without it
	elem  *list.Element // its element in l.idle, or nil; guarded by l.mu
	since time.Time     // when it went idle, while elem is not nil; guarded by l.mu
}

// Read takes the connection out of the idle list once it reads: net/http
// reports a connection active only when it has read the headers of its
// next request, which a slow client may take HeaderTimeout to send, and
// that request must not be lost to make room.
func (c *conn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	if n > 0 && c.idle.Load() {
		c.l.mu.Lock()
		c.l.remove(c)
		c.l.mu.Unlock()
	}
	return n, err
}

func (c *conn) Close() error {
	err := c.Conn.Close()
	c.release()
	return err
}

// NetConn returns the connection accepted, for what sets options of the
// socket.
func (c *conn) NetConn() net.Conn { return c.Conn }

// ReadFrom keeps sendfile for responses net/http copies from a file.
func (c *conn) ReadFrom(r io.Reader) (int64, error) { return io.Copy(c.Conn, r) }

// CloseWrite keeps net/http's half-close.
func (c *conn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return nil
}
