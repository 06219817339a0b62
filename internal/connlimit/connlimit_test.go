package connlimit

import (
	"net"
	"net/http"
	"testing"
)

// BenchmarkKeepAlive follows the connections of a server through the
// states of a request each, as net/http reports them, in parallel: the
// cost ConnState and Read add to every request.
func BenchmarkKeepAlive(b *testing.B) {
	l := New(fakeListener{}, 1<<20, nil)
	b.RunParallel(func(pb *testing.PB) {
		c, err := l.Accept()
		if err != nil {
			b.Error(err)
			return
		}
		l.ConnState(c, http.StateNew)
		buf := make([]byte, 1)
		for pb.Next() {
			c.Read(buf) // the next request
			l.ConnState(c, http.StateActive)
			l.ConnState(c, http.StateIdle)
		}
		c.Close()
		l.ConnState(c, http.StateClosed)
	})
}

type fakeListener struct{ net.Listener }

func (fakeListener) Accept() (net.Conn, error) { return fakeConn{}, nil }

// fakeConn reads as many bytes as asked for, at once.
type fakeConn struct{ net.Conn }

func (fakeConn) Read(p []byte) (int, error) { return len(p), nil }
func (fakeConn) Close() error               { return nil }
