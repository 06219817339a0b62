package ws

import (
	"context"
	"fmt"

	"github.com/redis/go-redis/v9"
)

// The brokers' side of the outbox with several instances (see
// outbox_shared.go): entries numbered by the database are appended when
// they are new to the log, skipped when they are there already.

var (
	_ numberedAppender = (*RedisBroker)(nil)
	_ numberedAppender = (*MemoryBroker)(nil)
)

// appendNumberedScript adds the entries whose seq is above the counter and
// moves the counter to the last one: KEYS are the counter and the stream;
// ARGV the length to keep, then seq, op, key, data and time of each
// entry, oldest first. Seqs stay below 2^53, exact in Lua's numbers.
var appendNumberedScript = redis.NewScript(`
local last = tonumber(redis.call('GET', KEYS[1]) or '0')
local n = 0
for i = 2, #ARGV, 5 do
	local seq = tonumber(ARGV[i])
	if seq > last then
		redis.call('XADD', KEYS[2], 'MAXLEN', ARGV[1], string.format('0-%d', seq),
			'o', ARGV[i+1], 'k', ARGV[i+2], 'd', ARGV[i+3], 't', ARGV[i+4])
		last = seq
		n = n + 1
	end
end
redis.call('SET', KEYS[1], string.format('%d', last))
return n
`)

// AppendNumbered implements numberedAppender.
func (b *RedisBroker) AppendNumbered(ctx context.Context, resource string, entries []Entry, keep int) error {
	counter, stream, _ := b.keys(resource)
	args := make([]any, 0, 1+5*len(entries))
	args = append(args, max(keep, 1))
	for _, e := range entries {
		args = append(args, e.Seq, e.Op, []byte(e.Key), []byte(e.Data), e.Time)
	}
	if err := appendNumberedScript.Run(ctx, b.client, []string{counter, stream}, args...).Err(); err != nil {
		return fmt.Errorf("ws: redis append to %s: %w", stream, err)
	}
	return nil
}

// AppendNumbered implements numberedAppender.
func (b *MemoryBroker) AppendNumbered(ctx context.Context, resource string, entries []Entry, keep int) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	l := b.log(resource)
	for _, e := range entries {
		if e.Seq > l.seq {
			l.seq = e.Seq
			l.entries = append(l.entries, e)
		}
	}
	if over := len(l.entries) - keep; over > 0 {
		l.entries = append(l.entries[:0:0], l.entries[over:]...)
	}
	close(l.grew)
	l.grew = make(chan struct{})
	return nil
}
