package ws

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// RedisBroker is a Broker on Redis Streams: one stream per resource,
// whose entry IDs are 0-SEQ. A Lua script numbers the entries of a batch
// and adds them in one step, so that seq rises by one per event of a
// resource across every instance, and trims the stream to the history
// size. Each instance reads the stream with XREAD BLOCK.
//
// The keys of a resource share a hash tag, {prefix:resource}, so that the
// script's keys are in one slot of a Redis Cluster.
type RedisBroker struct {
	client redis.UniversalClient
	prefix string
}

// NewRedisBroker returns a Broker that keeps its streams in client, under
// keys that begin with prefix ("easy" when empty). Instances of one
// application use the same prefix; the caller closes client.
func NewRedisBroker(client redis.UniversalClient, prefix string) *RedisBroker {
	if prefix == "" {
		prefix = "easy"
	}
	return &RedisBroker{client: client, prefix: prefix}
}

// keys returns the names of the seq counter and the stream of resource,
// and the prefix of its producer keys.
func (b *RedisBroker) keys(resource string) (counter, stream, producer string) {
	tag := "{" + b.prefix + ":" + resource + "}"
	return tag + ":seq", tag + ":log", tag + ":producer:"
}

// appendScript applies a batch once: KEYS are the counter, the stream and
// the producer's key; ARGV the batch number, the seq to start from when
// the counter is new, the length to keep, then op, key, data and time of
// each entry. The seq is formatted with %d: Lua's tostring would write
// a large number in exponent notation.
var appendScript = redis.NewScript(`
local done = tonumber(redis.call('GET', KEYS[3]) or '0')
if done >= tonumber(ARGV[1]) then return 0 end
redis.call('SET', KEYS[3], ARGV[1], 'EX', 86400)
redis.call('SET', KEYS[1], ARGV[2], 'NX')
local n = 0
for i = 4, #ARGV, 4 do
	local seq = redis.call('INCR', KEYS[1])
	redis.call('XADD', KEYS[2], 'MAXLEN', ARGV[3], string.format('0-%d', seq),
		'o', ARGV[i], 'k', ARGV[i+1], 'd', ARGV[i+2], 't', ARGV[i+3])
	n = n + 1
end
return n
`)

// Append implements Broker.
func (b *RedisBroker) Append(ctx context.Context, resource string, batch Batch) error {
	counter, stream, producer := b.keys(resource)
	args := make([]any, 0, 3+4*len(batch.Entries))
	args = append(args, batch.Number, time.Now().UnixMicro(), max(batch.Keep, 1))
	for _, e := range batch.Entries {
		args = append(args, e.Op, []byte(e.Key), []byte(e.Data), e.Time)
	}
	err := appendScript.Run(ctx, b.client, []string{counter, stream, producer + batch.Producer}, args...).Err()
	if err != nil {
		return fmt.Errorf("ws: redis append to %s: %w", stream, err)
	}
	return nil
}

// Tail implements Broker. A new counter starts at the current time in
// microseconds, so that a client holding a seq of a log that Redis lost
// is behind the new one and gets a reset.
func (b *RedisBroker) Tail(ctx context.Context, resource string, n int) (uint64, []Entry, error) {
	counter, stream, _ := b.keys(resource)
	var get *redis.StringCmd
	var rng *redis.XMessageSliceCmd
	_, err := b.client.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.SetNX(ctx, counter, time.Now().UnixMicro(), 0)
		get = p.Get(ctx, counter)
		rng = p.XRevRangeN(ctx, stream, "+", "-", int64(max(n, 1)))
		return nil
	})
	if err != nil {
		return 0, nil, fmt.Errorf("ws: redis tail of %s: %w", stream, err)
	}
	seq, err := get.Uint64()
	if err != nil {
		return 0, nil, fmt.Errorf("ws: redis counter %s: %w", counter, err)
	}
	msgs := rng.Val()
	entries := make([]Entry, 0, len(msgs))
	for i := len(msgs) - 1; i >= 0; i-- {
		e, err := entryOf(msgs[i])
		if err != nil {
			return 0, nil, fmt.Errorf("ws: redis tail of %s: %w", stream, err)
		}
		entries = append(entries, e)
	}
	if n == 0 {
		entries = nil
	}
	return seq, entries, nil
}

// Read implements Broker.
func (b *RedisBroker) Read(ctx context.Context, resource string, after uint64, wait time.Duration) ([]Entry, error) {
	_, stream, _ := b.keys(resource)
	res, err := b.client.XRead(ctx, &redis.XReadArgs{
		Streams: []string{stream, "0-" + strconv.FormatUint(after, 10)},
		Count:   1000,
		Block:   wait,
	}).Result()
	if errors.Is(err, redis.Nil) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("ws: redis read of %s: %w", stream, err)
	}
	var entries []Entry
	for _, s := range res {
		for _, msg := range s.Messages {
			e, err := entryOf(msg)
			if err != nil {
				return nil, fmt.Errorf("ws: redis read of %s: %w", stream, err)
			}
			entries = append(entries, e)
		}
	}
	return entries, nil
}

// entryOf decodes a stream entry written by appendScript.
func entryOf(msg redis.XMessage) (Entry, error) {
	s, ok := strings.CutPrefix(msg.ID, "0-")
	seq, err := strconv.ParseUint(s, 10, 64)
	if !ok || err != nil {
		return Entry{}, fmt.Errorf("entry ID %q is not 0-SEQ", msg.ID)
	}
	str := func(k string) string { v, _ := msg.Values[k].(string); return v }
	e := Entry{Seq: seq, Op: str("o"), Key: json.RawMessage(str("k"))}
	if d := str("d"); d != "" {
		e.Data = json.RawMessage(d)
	}
	e.Time, _ = strconv.ParseInt(str("t"), 10, 64)
	return e, nil
}
