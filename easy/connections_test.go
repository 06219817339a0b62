package easy_test

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fastapi-easy/easy-go/easy"
	"github.com/fastapi-easy/easy-go/easy/observe"
	"github.com/fastapi-easy/easy-go/internal/testkit"
)

// The tests of this file hold Serve at its cap of connections
// (MaxConnections) with the connections that can hold a slot for long.

// holdingApp is an App whose routes hold their connection: GET /wait
// answers "done" once release is closed; GET /hijack takes the connection
// over, as a WebSocket does, and keeps it until the client closes it;
// GET /ok answers "ok".
func holdingApp(t *testing.T, opts ...easy.Option) (app *easy.App, logs *testkit.Log, release chan struct{}) {
	t.Helper()
	// No header timeout within the test: a silent connection holds its
	// slot until the client closes it.
	opts = append([]easy.Option{easy.DB(testkit.SQLite(t, nil)), easy.HeaderTimeout(time.Hour)}, opts...)
	app, logs = newApp(t, opts...)
	release = make(chan struct{})
	app.HandleFunc("GET /wait", func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
		w.Write([]byte("done"))
	})
	app.HandleFunc("GET /hijack", func(w http.ResponseWriter, r *http.Request) {
		c, brw, err := http.NewResponseController(w).Hijack()
		if err != nil {
			return
		}
		defer c.Close()
		brw.WriteString("HTTP/1.1 101 Switching Protocols\r\nUpgrade: held\r\nConnection: Upgrade\r\n\r\n")
		brw.Flush()
		io.Copy(io.Discard, brw) // until the client closes
	})
	app.HandleFunc("GET /ok", func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("ok")) })
	return app, logs, release
}

// unanswered reports whether nothing comes on c within d.
func (c *rawConn) unanswered(t *testing.T, d time.Duration) bool {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(d))
	_, err := c.br.Peek(1)
	return errors.Is(err, os.ErrDeadlineExceeded)
}

func TestMaxConnectionsHoldsTheNextUntilOneCloses(t *testing.T) {
	app, logs, release := holdingApp(t, easy.MaxConnections(3))
	leaks := testkit.Goroutines(t)
	addr, stop := testkit.ServeOn(t, "127.0.0.1:0", app.Serve)

	// The kernel hands connections over in the order they came: these
	// three take the slots, the fourth waits.
	running := dial(t, addr)
	running.send(t, "GET /wait HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
	hijacked := dial(t, addr)
	hijacked.send(t, "GET /hijack HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
	if res, _ := hijacked.response(t); res.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("hijack: %d", res.StatusCode)
	}
	silent := dial(t, addr)
	next := dial(t, addr)
	next.send(t, "GET /ok HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
	if !next.unanswered(t, 300*time.Millisecond) {
		t.Fatal("a fourth connection was served past MaxConnections(3)")
	}

	// A hijacked connection counts until it is closed.
	hijacked.Close()
	res, body := next.response(t)
	expect(t, res, body, http.StatusOK, "ok")

	// next is idle now: a connection that waits has it closed to make room.
	another := dial(t, addr)
	another.send(t, "GET /ok HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
	res, body = another.response(t)
	expect(t, res, body, http.StatusOK, "ok")
	if !next.closed(t, 5*time.Second) {
		t.Error("the idle connection is still open")
	}

	close(release)
	res, body = running.response(t)
	expect(t, res, body, http.StatusOK, "done")
	if !strings.Contains(logs.String(), "MaxConnections reached") {
		t.Errorf("the App did not log that it held MaxConnections:\n%s", logs)
	}
	for _, c := range []*rawConn{running, silent, next, another} {
		c.Close()
	}
	stop()
	leaks()
}

// A connection whose next request is being read is not idle, however
// slowly its headers come: a connection that waits for a slot does not
// have it closed, and the request is answered.
func TestMaxConnectionsAnswersARequestBeingRead(t *testing.T) {
	app, logs, _ := holdingApp(t, easy.MaxConnections(2))
	leaks := testkit.Goroutines(t)
	var reads readCounter
	addr, stop := testkit.ServeOn(t, "127.0.0.1:0", func(ctx context.Context, ln net.Listener) error {
		return app.Serve(ctx, reads.listener(ln))
	})

	const first, half, rest = "GET /ok HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", "GET /ok HTTP/1.1\r\nHost: 127", ".0.0.1\r\n\r\n"
	slow := dial(t, addr)
	slow.send(t, first)
	res, body := slow.response(t)
	expect(t, res, body, http.StatusOK, "ok")
	silent := dial(t, addr) // holds the second slot
	slow.send(t, half)
	reads.wait(t, slow, len(first)+len(half)) // the server waits for the rest
	// Past the second a connection must have been idle to be closed to
	// make room: slow would be, were it idle.
	time.Sleep(1200 * time.Millisecond)

	next := dial(t, addr)
	next.send(t, "GET /ok HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
	waitLog(t, logs, "MaxConnections reached") // next waits
	time.Sleep(100 * time.Millisecond)         // and has made what room it could
	slow.send(t, rest)
	res, body = slow.response(t)
	expect(t, res, body, http.StatusOK, "ok", "Connection", "close")
	res, body = next.response(t) // once slow's connection closes
	expect(t, res, body, http.StatusOK, "ok")

	for _, c := range []*rawConn{slow, silent, next} {
		c.Close()
	}
	stop()
	leaks()
}

// While a connection waits for a slot, a response tells its client not
// to send on its connection again (Connection: close), and the server
// closes it after the response. It is not closed as it goes idle, when a
// keep-alive client may send its next request on it already: a POST,
// which no client sends again.
func TestMaxConnectionsClosesAfterAResponse(t *testing.T) {
	app, logs, release := holdingApp(t, easy.MaxConnections(2))
	begun := begunRoute(app, release)
	app.HandleFunc("POST /items", func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.WriteHeader(http.StatusCreated)
		w.Write([]byte("created"))
	})
	leaks := testkit.Goroutines(t)
	addr, stop := testkit.ServeOn(t, "127.0.0.1:0", app.Serve)

	client := dial(t, addr)
	client.send(t, "GET /begun HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
	<-begun
	silent := dial(t, addr) // holds the second slot
	next := dial(t, addr)
	next.send(t, "GET /ok HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
	waitLog(t, logs, "MaxConnections reached") // next waits

	// A response begun before next came keeps its connection.
	close(release)
	res, body := client.response(t)
	expect(t, res, body, http.StatusOK, "done")
	if res.Close {
		t.Error("a response begun before a connection waited has Connection: close")
	}
	client.send(t, "POST /items HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 2\r\n\r\n{}")
	res, body = client.response(t)
	expect(t, res, body, http.StatusCreated, "created", "Connection", "close")
	if !client.closed(t, 5*time.Second) {
		t.Error("the connection is still open after its Connection: close")
	}
	res, body = next.response(t)
	expect(t, res, body, http.StatusOK, "ok")

	// The client's next request, on a new connection, is served.
	again := dial(t, addr)
	again.send(t, "POST /items HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 2\r\n\r\n{}")
	res, body = again.response(t)
	expect(t, res, body, http.StatusCreated, "created")

	for _, c := range []*rawConn{client, silent, next, again} {
		c.Close()
	}
	stop()
	leaks()
}

// When a connection comes to wait, a connection that has just gone idle
// is not closed to make room: its keep-alive client may be sending its
// next request on it already, a POST, which no client sends again. It was
// closed at once, as the one idle longest.
func TestMaxConnectionsDoesNotCloseAConnectionJustIdle(t *testing.T) {
	app, logs, _ := holdingApp(t, easy.MaxConnections(2))
	app.HandleFunc("POST /items", func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.WriteHeader(http.StatusCreated)
		w.Write([]byte("created"))
	})
	leaks := testkit.Goroutines(t)
	addr, stop := testkit.ServeOn(t, "127.0.0.1:0", app.Serve)

	silent := dial(t, addr) // holds a slot, never idle
	client := dial(t, addr)
	client.send(t, "GET /ok HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
	res, body := client.response(t)
	expect(t, res, body, http.StatusOK, "ok")
	next := dial(t, addr)
	next.send(t, "GET /ok HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
	waitLog(t, logs, "MaxConnections reached") // next waits, client's connection idle

	client.send(t, "POST /items HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 2\r\n\r\n{}")
	res, body = client.response(t)
	expect(t, res, body, http.StatusCreated, "created", "Connection", "close")
	res, body = next.response(t) // once client's connection closes
	expect(t, res, body, http.StatusOK, "ok")

	for _, c := range []*rawConn{client, silent, next} {
		c.Close()
	}
	stop()
	leaks()
}

// A connection that goes idle while another waits, its response begun
// before, is closed once it has been idle a while, as the one idle
// longest is when the other comes: the other does not wait for
// IdleTimeout.
func TestMaxConnectionsClosesAConnectionLeftIdle(t *testing.T) {
	app, logs, release := holdingApp(t, easy.MaxConnections(2))
	begun := begunRoute(app, release)
	leaks := testkit.Goroutines(t)
	addr, stop := testkit.ServeOn(t, "127.0.0.1:0", app.Serve)

	client := dial(t, addr)
	client.send(t, "GET /begun HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
	<-begun
	silent := dial(t, addr)
	next := dial(t, addr)
	next.send(t, "GET /ok HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
	waitLog(t, logs, "MaxConnections reached")
	close(release)
	res, body := client.response(t)
	expect(t, res, body, http.StatusOK, "done")
	res, body = next.response(t) // and the client sends nothing more
	expect(t, res, body, http.StatusOK, "ok")
	if !client.closed(t, 5*time.Second) {
		t.Error("the idle connection is still open")
	}

	for _, c := range []*rawConn{client, silent, next} {
		c.Close()
	}
	stop()
	leaks()
}

// begunRoute adds GET /begun to a holdingApp: /wait, which tells begun
// when it has begun.
func begunRoute(app *easy.App, release chan struct{}) (begun <-chan struct{}) {
	c := make(chan struct{}, 1)
	app.HandleFunc("GET /begun", func(w http.ResponseWriter, r *http.Request) {
		c <- struct{}{}
		select {
		case <-release:
		case <-r.Context().Done():
		}
		w.Write([]byte("done"))
	})
	return c
}

// readCounter wraps a listener, so that a test knows how much of what a
// client sent the server has read.
type readCounter struct{ conns sync.Map } // the client's address: *countedConn

func (rc *readCounter) listener(ln net.Listener) net.Listener { return countingListener{ln, rc} }

// wait returns once the server has read n bytes from c and reads again:
// what it does with them is done.
func (rc *readCounter) wait(t *testing.T, c *rawConn, n int) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
		if sc, ok := rc.conns.Load(c.LocalAddr().String()); ok && sc.(*countedConn).before.Load() >= int64(n) {
			return
		}
	}
	t.Fatalf("the server did not read %d bytes", n)
}

type countingListener struct {
	net.Listener
	rc *readCounter
}

func (l countingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	cc := &countedConn{Conn: c}
	l.rc.conns.Store(c.RemoteAddr().String(), cc)
	return cc, nil
}

type countedConn struct {
	net.Conn
	read   atomic.Int64 // bytes read
	before atomic.Int64 // bytes read as the latest Read began
}

func (c *countedConn) Read(p []byte) (int, error) {
	c.before.Store(c.read.Load())
	n, err := c.Conn.Read(p)
	c.read.Add(int64(n))
	return n, err
}

// waitLog returns once the App has logged s.
func waitLog(t *testing.T, logs *testkit.Log, s string) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
		if strings.Contains(logs.String(), s) {
			return
		}
	}
	t.Fatalf("the App did not log %q:\n%s", s, logs)
}

// A TLS connection, which net/http needs unwrapped, counts until the
// server reports it closed; a hijacked one only until its hijack, as no
// one sees its Close then (the docs say so).
func TestMaxConnectionsOverTLS(t *testing.T) {
	app, _, _ := holdingApp(t, easy.MaxConnections(1))
	ts := httptest.NewTLSServer(http.NotFoundHandler()) // for its certificate and a client that trusts it
	cfg, roots := ts.TLS.Clone(), ts.Client().Transport.(*http.Transport).TLSClientConfig.RootCAs
	ts.Close()
	addr, _ := testkit.ServeOn(t, "127.0.0.1:0", func(ctx context.Context, ln net.Listener) error {
		return app.Serve(ctx, tls.NewListener(ln, cfg))
	})
	dialTLS := func() *rawConn {
		t.Helper()
		c, err := tls.DialWithDialer(&net.Dialer{Timeout: 10 * time.Second}, "tcp", addr, &tls.Config{RootCAs: roots, ServerName: "127.0.0.1"})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return &rawConn{Conn: c, br: bufio.NewReader(c)}
	}
	get := func(c *rawConn, path string) (*http.Response, string) {
		t.Helper()
		c.send(t, "GET "+path+" HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
		return c.response(t)
	}

	first := dialTLS()
	res, body := get(first, "/ok")
	expect(t, res, body, http.StatusOK, "ok")
	first.Close() // frees the slot when the server sees it closed
	second := dialTLS()
	res, body = get(second, "/ok")
	expect(t, res, body, http.StatusOK, "ok")
	third := dialTLS() // has the idle second closed
	res, body = get(third, "/ok")
	expect(t, res, body, http.StatusOK, "ok")
	if !second.closed(t, 5*time.Second) {
		t.Error("the idle TLS connection is still open")
	}
	res, _ = get(third, "/hijack")
	if res.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("hijack: %d", res.StatusCode)
	}
	res, body = get(dialTLS(), "/ok")
	expect(t, res, body, http.StatusOK, "ok")
}

// The pprof listener holds at most observe.PprofConnections, as the
// App's does MaxConnections.
func TestPprofHoldsAtMostPprofConnections(t *testing.T) {
	pprofAddr := testkit.FreeAddr(t)
	app, _ := newApp(t, easy.DB(testkit.SQLite(t, nil)), easy.Pprof(pprofAddr))
	addr, _ := testkit.ServeOn(t, "127.0.0.1:0", app.Serve)
	first := dial(t, addr) // answered once Serve serves, after it opened pprof's listener
	first.send(t, "GET /ready HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
	first.response(t)

	held := make([]*rawConn, observe.PprofConnections)
	for i := range held {
		held[i] = dial(t, pprofAddr)
	}
	next := dial(t, pprofAddr)
	next.send(t, "GET /debug/pprof/cmdline HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
	if !next.unanswered(t, 300*time.Millisecond) {
		t.Fatalf("pprof served a connection past its %d", observe.PprofConnections)
	}
	held[0].Close()
	res, _ := next.response(t)
	if res.StatusCode != http.StatusOK {
		t.Errorf("pprof answered %d once a connection closed, want 200", res.StatusCode)
	}
}
