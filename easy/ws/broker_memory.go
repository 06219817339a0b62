package ws

import (
	"context"
	"sync"
	"time"
)

// MemoryBroker is a Broker held in memory, for several Managers of one
// process: tests, and trying out a multi-instance setup without Redis.
// A single Manager needs none; without ShareVia it numbers its events
// itself, faster. The zero value is not usable; call NewMemoryBroker.
type MemoryBroker struct {
	mu        sync.Mutex
	logs      map[string]*memoryLog
	listeners []chan Note    // see Listen
	presence  memoryPresence // see PresenceStore
}

type memoryLog struct {
	seq     uint64
	entries []Entry // the latest, oldest first
	applied map[string]uint64
	grew    chan struct{} // closed and replaced when entries are appended
}

// NewMemoryBroker returns an empty MemoryBroker.
func NewMemoryBroker() *MemoryBroker {
	return &MemoryBroker{logs: make(map[string]*memoryLog)}
}

func (b *MemoryBroker) log(resource string) *memoryLog {
	l := b.logs[resource]
	if l == nil {
		l = &memoryLog{seq: uint64(time.Now().UnixMicro()), applied: make(map[string]uint64), grew: make(chan struct{})}
		b.logs[resource] = l
	}
	return l
}

// Append implements Broker.
func (b *MemoryBroker) Append(ctx context.Context, resource string, batch Batch) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	l := b.log(resource)
	if l.applied[batch.Producer] >= batch.Number {
		return nil
	}
	l.applied[batch.Producer] = batch.Number
	for _, e := range batch.Entries {
		l.seq++
		e.Seq = l.seq
		l.entries = append(l.entries, e)
	}
	if over := len(l.entries) - batch.Keep; over > 0 {
		l.entries = append(l.entries[:0:0], l.entries[over:]...)
	}
	close(l.grew)
	l.grew = make(chan struct{})
	return nil
}

// Tail implements Broker.
func (b *MemoryBroker) Tail(ctx context.Context, resource string, n int) (uint64, []Entry, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	l := b.log(resource)
	tail := l.entries[max(0, len(l.entries)-n):]
	return l.seq, append([]Entry(nil), tail...), nil
}

// Read implements Broker.
func (b *MemoryBroker) Read(ctx context.Context, resource string, after uint64, wait time.Duration) ([]Entry, error) {
	t := time.NewTimer(wait)
	defer t.Stop()
	for {
		b.mu.Lock()
		l := b.log(resource)
		var out []Entry
		for i, e := range l.entries {
			if e.Seq > after {
				out = append(out, l.entries[i:]...)
				break
			}
		}
		grew := l.grew
		b.mu.Unlock()
		if len(out) > 0 {
			return out, nil
		}
		select {
		case <-grew:
		case <-t.C:
			return nil, nil
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}
