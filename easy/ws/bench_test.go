package ws_test

import (
	"context"
	"encoding/json"
	"fmt"
	"runtime"
	"sync/atomic"
	"testing"

	"github.com/fastapi-easy/easy-go/easy/ws"
)

// BenchmarkPublish measures what a committing writer pays: numbering,
// encoding and recording one event, with nobody connected.
func BenchmarkPublish(b *testing.B) {
	m := ws.NewManager(quiet)
	defer m.Shutdown(context.Background())
	m.AddResource("items", nil)
	c := ws.Change{Op: ws.TypeUpdate, Key: 1, Data: json.RawMessage(`{"id":1,"name":"apple","price":10.5}`)}
	b.ReportAllocs()
	for b.Loop() {
		m.Publish("items", c)
	}
}

// BenchmarkPublishFanout measures an event from Publish to every one of
// conns clients over real sockets: ns/op is per event, ns/delivery per
// event and client. No client falls more than 576 events behind, as with
// a producer that waits for its consumers; the send queues hold 1024.
func BenchmarkPublishFanout(b *testing.B) {
	for _, conns := range []int{1, 10, 100, 1000} {
		b.Run(fmt.Sprintf("conns=%d", conns), func(b *testing.B) {
			m, _, srv := newServer(b, ws.SendQueue(1024), ws.Heartbeat(0))
			received := make([]atomic.Int64, conns)
			for i := range conns {
				c := dialReady(b, wsURL(srv, "/ws/items"))
				go func() {
					for {
						if _, _, err := c.Read(context.Background()); err != nil {
							return
						}
						received[i].Add(1)
					}
				}()
			}
			// waitBehind waits until every client has received all but
			// behind of the published events.
			waitBehind := func(published, behind int64) {
				for i := range received {
					for published-received[i].Load() > behind {
						if m.Stats().DroppedSlow > 0 {
							b.Fatal("a client was dropped as too slow")
						}
						runtime.Gosched()
					}
				}
			}
			change := ws.Change{Op: ws.TypeUpdate, Key: 1, Data: json.RawMessage(`{"id":1,"name":"apple","price":10.5}`)}
			b.ResetTimer()
			for i := 1; i <= b.N; i++ {
				m.Publish("items", change)
				if i%64 == 0 {
					waitBehind(int64(i), 512)
				}
			}
			waitBehind(int64(b.N), 0)
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*conns), "ns/delivery")
		})
	}
}
