package ws_test

import (
	"bufio"
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// BenchmarkWriteBound alternates, message by message, the two ways to
// bound a write to a WebSocket on two real loopback connections: a timer
// context per message (what Conn.write did) and a deadline on the socket
// under a context without Done (what it does, see Conn.write). It reports
// deadline/context for the time and the allocations per message of each.
//
//	go test -run '^$' -bench BenchmarkWriteBound -count 5 ./easy/ws/
func BenchmarkWriteBound(b *testing.B) {
	type side struct {
		ws   *websocket.Conn
		sock net.Conn
	}
	accepted := make(chan side, 2)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var sock net.Conn
		c, err := websocket.Accept(hijackSpy{w, &sock}, r, nil)
		if err != nil {
			b.Error(err)
			return
		}
		accepted <- side{c, sock}
		<-r.Context().Done()
	}))
	defer srv.Close()
	var sides [2]side
	for i := range sides {
		c := dial(b, wsURL(srv, "/"))
		go func() { // the client reads everything, as a subscriber that keeps up
			for {
				if _, _, err := c.Read(context.Background()); err != nil {
					return
				}
			}
		}()
		sides[i] = <-accepted
	}
	defer func() {
		for _, s := range sides {
			s.ws.CloseNow()
		}
	}()
	msg := []byte(`{"type":"update","resource":"items","id":1,"data":{"id":1,"name":"apple","price":10.5},"seq":42}`)
	const timeout = 10 * time.Second
	writes := [2]func() error{
		func() error {
			ctx, cancel := context.WithTimeout(context.Background(), timeout)
			defer cancel()
			return sides[0].ws.Write(ctx, websocket.MessageText, msg)
		},
		func() error {
			sides[1].sock.SetWriteDeadline(time.Now().Add(timeout))
			err := sides[1].ws.Write(context.Background(), websocket.MessageText, msg)
			sides[1].sock.SetWriteDeadline(time.Time{})
			return err
		},
	}
	var spent [2]time.Duration
	var allocs [2]uint64
	var ms runtime.MemStats
	for b.Loop() {
		for i, write := range writes {
			runtime.ReadMemStats(&ms)
			before := ms.Mallocs
			start := time.Now()
			if err := write(); err != nil {
				b.Fatal(err)
			}
			spent[i] += time.Since(start)
			runtime.ReadMemStats(&ms)
			allocs[i] += ms.Mallocs - before
		}
	}
	b.ReportMetric(float64(spent[1])/float64(spent[0]), "deadline/context")
	b.ReportMetric(float64(allocs[0])/float64(b.N), "context-allocs/msg")
	b.ReportMetric(float64(allocs[1])/float64(b.N), "deadline-allocs/msg")
}

// hijackSpy keeps the connection that coder/websocket's Accept takes over.
type hijackSpy struct {
	http.ResponseWriter
	sock *net.Conn
}

func (h hijackSpy) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	c, brw, err := http.NewResponseController(h.ResponseWriter).Hijack()
	*h.sock = c
	return c, brw, err
}
