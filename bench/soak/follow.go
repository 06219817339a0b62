package main

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"time"

	"github.com/coder/websocket"
)

// follower is a legitimate WebSocket client of /ws/items: it reads every
// event and checks that their seqs follow one another.
type follower struct {
	mu     sync.Mutex
	events int    // create events received
	last   uint64 // the last seq
	fault  string // the first gap, duplicate or error, if any
	closed bool
}

// follow connects a follower; it reads until ctx ends.
func follow(ctx context.Context, addr string) (*follower, error) {
	conn, _, err := websocket.Dial(ctx, "ws://"+addr+"/ws/items", nil)
	if err != nil {
		return nil, err
	}
	conn.SetReadLimit(1 << 20)
	f := &follower{}
	// The reader owns conn and stops when ctx ends or the server closes.
	go func() {
		defer conn.CloseNow()
		for {
			_, b, err := conn.Read(ctx)
			if err != nil {
				f.mu.Lock()
				f.closed = true
				if ctx.Err() == nil && f.fault == "" {
					f.fault = fmt.Sprintf("closed: %v", err)
				}
				f.mu.Unlock()
				return
			}
			var ev struct {
				Type string `json:"type"`
				Seq  uint64 `json:"seq"`
			}
			if json.Unmarshal(b, &ev) != nil || ev.Type == "ping" {
				continue
			}
			f.mu.Lock()
			if f.last != 0 && ev.Seq != f.last+1 && f.fault == "" {
				f.fault = fmt.Sprintf("seq %d after %d", ev.Seq, f.last)
			}
			f.last = ev.Seq
			if ev.Type == "create" {
				f.events++
			}
			f.mu.Unlock()
		}
	}()
	return f, nil
}

// await waits until the follower has n create events, within d.
func (f *follower) await(n int, d time.Duration) error {
	for start := time.Now(); ; time.Sleep(50 * time.Millisecond) {
		f.mu.Lock()
		got, fault, closed := f.events, f.fault, f.closed
		f.mu.Unlock()
		switch {
		case fault != "":
			return fmt.Errorf("%s (%d of %d events)", fault, got, n)
		case got == n:
			return nil
		case got > n:
			return fmt.Errorf("%d events for %d rows", got, n)
		case closed || time.Since(start) > d:
			return fmt.Errorf("%d of %d events", got, n)
		}
	}
}
