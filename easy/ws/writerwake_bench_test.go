package ws_test

import (
	"sync"
	"testing"
	"time"
)

// BenchmarkWriterWake compares, without sockets, the two ways a
// connection's writer can take an event that comes after its queue ran
// empty: start a goroutine for it that returns once the queue is empty
// again (what Conn.kick does), or wake a writer that stayed parked,
// lingering for a while after its queue ran empty (item 2.3 of issue 16;
// the linger's timer is armed once per linger, not per event). ns/op is
// per event to 500 connections, each taken by its writer before the next.
//
//	go test -run '^$' -bench BenchmarkWriterWake -benchmem -count 3 ./easy/ws/
func BenchmarkWriterWake(b *testing.B) {
	const conns = 500
	b.Run("start", func(b *testing.B) {
		done := make(chan struct{}, conns)
		cs := make([]*startingWriter, conns)
		for i := range cs {
			cs[i] = &startingWriter{done: done}
		}
		b.ReportAllocs()
		for b.Loop() {
			for _, c := range cs {
				c.enqueue()
			}
			for range cs {
				<-done
			}
		}
	})
	b.Run("park", func(b *testing.B) {
		done := make(chan struct{}, conns)
		cs := make([]*parkedWriter, conns)
		for i := range cs {
			cs[i] = &parkedWriter{done: done, wake: make(chan struct{}, 1), linger: time.NewTimer(time.Hour)}
			cs[i].linger.Stop()
		}
		b.ReportAllocs()
		for b.Loop() {
			for _, c := range cs {
				c.enqueue()
			}
			for range cs {
				<-done
			}
		}
	})
}

// startingWriter starts a writer per event when none runs, as Conn does.
type startingWriter struct {
	mu      sync.Mutex
	pending int
	writing bool
	done    chan struct{} // the "write"
}

func (c *startingWriter) enqueue() {
	c.mu.Lock()
	c.pending++
	if !c.writing {
		c.writing = true
		go c.write()
	}
	c.mu.Unlock()
}

func (c *startingWriter) write() {
	for {
		c.mu.Lock()
		if c.pending == 0 {
			c.writing = false
			c.mu.Unlock()
			return
		}
		c.pending = 0
		c.mu.Unlock()
		c.done <- struct{}{}
	}
}

// parkedWriter's writer parks when its queue is empty, and returns only
// when nothing came for 50 ms.
type parkedWriter struct {
	mu      sync.Mutex
	pending int
	writing bool
	parked  bool
	armed   bool
	wake    chan struct{}
	linger  *time.Timer
	done    chan struct{}
}

func (c *parkedWriter) enqueue() {
	c.mu.Lock()
	c.pending++
	switch {
	case c.parked:
		c.parked = false
		c.wake <- struct{}{}
	case !c.writing:
		c.writing = true
		go c.write()
	}
	c.mu.Unlock()
}

func (c *parkedWriter) write() {
	for {
		c.mu.Lock()
		if c.pending > 0 {
			c.pending = 0
			c.mu.Unlock()
			c.done <- struct{}{}
			continue
		}
		c.parked = true
		if !c.armed {
			c.armed = true
			c.linger.Reset(50 * time.Millisecond)
		}
		c.mu.Unlock()
		select {
		case <-c.wake:
		case <-c.linger.C:
			c.mu.Lock()
			c.armed = false
			if c.parked {
				c.parked, c.writing = false, false
				c.mu.Unlock()
				return
			}
			c.mu.Unlock()
			<-c.wake
		}
	}
}
