package easy

import (
	"bytes"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/fastapi-easy/easy-go/easy/problem"
	"github.com/fastapi-easy/easy-go/internal/connlimit"
)

// server returns the http.Server that Serve runs on ln, and ln wrapped so
// that it holds at most MaxConnections and the App sees each connection
// as a servedConn. While a connection waits for a slot, the server's
// responses close their connections (connlimit's Handler).
func (a *App) server(ln net.Listener) (*http.Server, net.Listener) {
	hosts := loopbackHosts(ln.Addr()) // the hosts allowed when AllowedHosts was not given
	var limit *connlimit.Listener
	var h http.Handler = a
	if n := a.cfg.maxConns; n > 0 {
		limit = connlimit.New(ln, n, a.atMaxConnections(n))
		ln, h = limit, limit.Handler(a)
	}
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: a.cfg.headerTimeout,
		WriteTimeout:      a.cfg.writeTimeout,
		IdleTimeout:       a.cfg.idleTimeout,
		// Every request the server reads reaches the App, "OPTIONS *"
		// too, so that the framer and the App count the same requests.
		DisableGeneralOptionsHandler: true,
		ConnContext: func(ctx context.Context, c net.Conn) context.Context {
			sc, ok := c.(*servedConn)
			if !ok { // TLS: the framer cannot see the requests
				sc = &servedConn{Conn: c}
			}
			sc.hosts = hosts
			return context.WithValue(ctx, servedConnKey{}, sc)
		},
		ConnState: func(c net.Conn, state http.ConnState) {
			if limit != nil {
				limit.ConnState(c, state)
			}
			sc, ok := c.(*servedConn)
			switch {
			case !ok:
			case state == http.StateHijacked:
				sc.framed.Store(false) // a WebSocket's frames are not HTTP requests
			case state == http.StateIdle:
				sc.responding.Store(false) // the response is written
			}
		},
	}
	return srv, servedListener{ln}
}

// atMaxConnections returns what logs that Serve holds MaxConnections and
// a new connection waits: at most once a minute, since under a flood it
// is every connection.
func (a *App) atMaxConnections(n int) func() {
	var last time.Time // read and written by Serve's accepting goroutine alone
	return func() {
		if now := time.Now(); now.Sub(last) >= time.Minute {
			last = now
			a.logger.Warn("easy: MaxConnections reached: new connections wait in the listen backlog until one closes", "max", n)
		}
	}
}

// guard refuses, before anything else answers, the requests the App
// does not serve: one whose connection's framing is refused (framing.go),
// one for a host it does not serve (hosts.go). It holds the bodies of the
// others to MinBodyRate (deadlines.go). Those but the host check are
// Serve's, and apply to the requests of the connections it accepted. The
// framing check must see every request: nothing before it answers.
func (a *App) guard(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c := servedConnOf(r)
		if c != nil {
			c.responding.Store(true)
		}
		if c != nil && refuseFraming(w, c) || a.refuseHost(w, r, c) {
			return
		}
		if c != nil && r.Body != nil && r.Body != http.NoBody {
			a.paceBody(w, r, next)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// servedListener hands net/http its connections as servedConns.
type servedListener struct{ net.Listener }

func (l servedListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	if _, ok := c.(*tls.Conn); ok {
		// net/http needs the *tls.Conn itself to negotiate HTTP/2 and
		// fill in Request.TLS; HTTP/2 frames its requests itself.
		return c, nil
	}
	sc := &servedConn{Conn: c, frames: newFramer()}
	sc.framed.Store(true)
	return sc, nil
}

// servedConn is a connection Serve accepted. Its reads feed a framer
// until a handler hijacks it; its requests find it in their context.
type servedConn struct {
	net.Conn
	hosts *hostList // loopback names, when Serve listens on loopback

	framed     atomic.Bool // it carries HTTP/1 requests, which the framer follows: until a hijack
	responding atomic.Bool // the App is answering a request: its writes are the App's
	mu         sync.Mutex  // guards frames: fed by net/http's reads, read by handlers
	frames     framer
}

type servedConnKey struct{}

// servedConnOf returns the connection Serve accepted for r, or nil when r
// came through another server.
func servedConnOf(r *http.Request) *servedConn {
	c, _ := r.Context().Value(servedConnKey{}).(*servedConn)
	return c
}

// NetConn returns the connection Serve accepted, as tls.Conn's does: what
// sets options of the socket (ws.SocketSendBuffer) finds it under.
func (c *servedConn) NetConn() net.Conn { return c.Conn }

// NetConn returns the connection Serve accepted for r, or nil when r came
// through another server. A handler that streams its response without
// taking the connection over (easy/ws's server-sent events) sets options
// of the socket on it, as one that hijacks it does on what Hijack gives;
// it must not read from it nor write to it.
func NetConn(r *http.Request) net.Conn {
	if c := servedConnOf(r); c != nil {
		return c
	}
	return nil
}

func (c *servedConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	if n > 0 && c.framed.Load() {
		c.mu.Lock()
		c.frames.feed(p[:n])
		c.mu.Unlock()
	}
	return n, err
}

// nextRequest returns why the request a handler was just given must be
// refused, or "" when it is sound or the connection is not framed.
func (c *servedConn) nextRequest() string {
	if !c.framed.Load() {
		return ""
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.frames.next()
}

// Write makes JSON of the errors net/http writes itself, before a request
// reaches the App (a malformed request line or header, a missing Host,
// headers too large, a transfer coding it does not know): see
// jsonServerError. Those are written while no response of the App is
// (and before a hijack); every other write passes as it is.
func (c *servedConn) Write(p []byte) (int, error) {
	if c.responding.Load() || !c.framed.Load() {
		return c.Conn.Write(p)
	}
	if b, ok := jsonServerError(p); ok {
		if _, err := c.Conn.Write(b); err != nil {
			return 0, err
		}
		return len(p), nil
	}
	return c.Conn.Write(p)
}

// plainErrorHeaders are the headers of the errors net/http writes itself
// (conn.serve in net/http/server.go), in one write of
//
//	HTTP/1.1 400 Bad Request: missing required Host header<plainErrorHeaders>400 Bad Request: missing required Host header
//
// No response of a handler has them in this order, nor without Date.
const plainErrorHeaders = "\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\n\r\n"

// jsonServerError returns p, when it is an error net/http writes itself,
// as the App would write it: {"detail":"Bad Request: missing required
// Host header"}.
func jsonServerError(p []byte) ([]byte, bool) {
	if len(p) < len("HTTP/1.1 400") || string(p[:9]) != "HTTP/1.1 " || p[9] != '4' && p[9] != '5' {
		return nil, false // the usual case, at the cost of a comparison
	}
	i := bytes.Index(p[:min(len(p), 256)], []byte(plainErrorHeaders))
	status, err := strconv.Atoi(string(p[9:12]))
	if i < 0 || err != nil {
		return nil, false
	}
	detail := strings.TrimPrefix(string(p[i+len(plainErrorHeaders):]), string(p[9:12])+" ")
	rec := &errorRecorder{header: http.Header{}}
	problem.Text(rec, status, detail)
	b := fmt.Appendf(nil, "HTTP/1.1 %03d %s\r\nContent-Type: %s\r\nConnection: close\r\nContent-Length: %d\r\n\r\n",
		status, http.StatusText(status), rec.header.Get("Content-Type"), rec.body.Len())
	return append(b, rec.body.Bytes()...), true
}

// errorRecorder keeps what problem.Text writes.
type errorRecorder struct {
	header http.Header
	body   bytes.Buffer
}

func (r *errorRecorder) Header() http.Header         { return r.header }
func (r *errorRecorder) Write(b []byte) (int, error) { return r.body.Write(b) }
func (r *errorRecorder) WriteHeader(int)             {}

// ReadFrom keeps sendfile for responses net/http copies from a file.
func (c *servedConn) ReadFrom(r io.Reader) (int64, error) { return io.Copy(c.Conn, r) }

// CloseWrite keeps net/http's half-close, by which a client that is
// still sending reads the answer before the connection closes.
func (c *servedConn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return nil
}
