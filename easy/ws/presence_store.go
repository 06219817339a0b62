package ws

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

// memoryPresence is the PresenceStore of a MemoryBroker, under its mu.
type memoryPresence struct {
	beats  map[string]time.Time         // by instance
	groups map[string]map[string]Member // by group, then ID
	swept  map[string]bool              // instances removed for not beating
}

func (p *memoryPresence) init() {
	if p.beats == nil {
		p.beats = make(map[string]time.Time)
		p.groups = make(map[string]map[string]Member)
		p.swept = make(map[string]bool)
	}
}

// Join implements PresenceStore.
func (b *MemoryBroker) Join(ctx context.Context, m Member) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	p := &b.presence
	p.init()
	g := p.groups[m.Group]
	if g == nil {
		g = make(map[string]Member)
		p.groups[m.Group] = g
	}
	g[m.ID] = m
	if _, ok := p.beats[m.Instance]; !ok {
		p.beats[m.Instance] = time.Now()
	}
	return nil
}

// Leave implements PresenceStore.
func (b *MemoryBroker) Leave(ctx context.Context, m Member) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if g := b.presence.groups[m.Group]; g != nil {
		delete(g, m.ID)
		if len(g) == 0 {
			delete(b.presence.groups, m.Group)
		}
	}
	return nil
}

// Beat implements PresenceStore.
func (b *MemoryBroker) Beat(ctx context.Context, instance string, timeout time.Duration) ([]Member, bool, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	p := &b.presence
	p.init()
	now := time.Now()
	_, known := p.beats[instance]
	fresh := !known || p.swept[instance]
	delete(p.swept, instance)
	p.beats[instance] = now
	var gone []Member
	for inst, at := range p.beats {
		if now.Sub(at) > timeout {
			gone = append(gone, p.forget(inst)...)
			p.swept[inst] = true
		}
	}
	return gone, fresh, nil
}

// Forget implements PresenceStore.
func (b *MemoryBroker) Forget(ctx context.Context, instance string) ([]Member, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.presence.init()
	return b.presence.forget(instance), nil
}

func (p *memoryPresence) forget(instance string) []Member {
	delete(p.beats, instance)
	var gone []Member
	for name, g := range p.groups {
		for id, m := range g {
			if m.Instance == instance {
				gone = append(gone, m)
				delete(g, id)
			}
		}
		if len(g) == 0 {
			delete(p.groups, name)
		}
	}
	return gone
}

// Members implements PresenceStore.
func (b *MemoryBroker) Members(ctx context.Context, group string, timeout time.Duration) ([]Member, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	now := time.Now()
	var out []Member
	for _, m := range b.presence.groups[group] {
		if at, ok := b.presence.beats[m.Instance]; ok && now.Sub(at) <= timeout {
			out = append(out, m)
		}
	}
	return out, nil
}

// The presence of a RedisBroker is kept under one hash tag, so that its
// scripts' keys are in one slot of a Redis Cluster:
//
//	{prefix:presence}:instances        sorted set: instance → its last beat, Unix ms
//	{prefix:presence}:g:GROUP          hash: connection ID → the member as JSON
//	{prefix:presence}:i:INSTANCE       hash: connection ID → its group
//	{prefix:presence}:swept:INSTANCE   the instance was taken for dead; see forgetLua
func (b *RedisBroker) presenceKey(kind, name string) string {
	if kind == "" {
		return b.presenceTag() + ":instances"
	}
	return b.presenceTag() + ":" + kind + ":" + name
}

func (b *RedisBroker) presenceTag() string { return "{" + b.prefix + ":presence}" }

// forgetLua removes the instance inst with its members, appending them
// to gone; KEYS[1] is the sorted set, ARGV[1] the keys' common start.
// With swept, it leaves a mark, for a day, that the instance's next beat
// finds: an instance taken for dead that was not (a long pause, Redis
// out of reach) then joins its members again, even when one of its joins
// has put it back in the set meanwhile.
const forgetLua = `
local function forget(inst, gone, swept)
	redis.call('ZREM', KEYS[1], inst)
	if swept then redis.call('SET', ARGV[1] .. ':swept:' .. inst, '1', 'EX', 86400) end
	local ikey = ARGV[1] .. ':i:' .. inst
	local ids = redis.call('HGETALL', ikey)
	for i = 1, #ids, 2 do
		local gkey = ARGV[1] .. ':g:' .. ids[i+1]
		local m = redis.call('HGET', gkey, ids[i])
		if m then table.insert(gone, m) end
		redis.call('HDEL', gkey, ids[i])
	end
	redis.call('DEL', ikey)
end
`

// beatScript: ARGV[2] is the instance, ARGV[3] now and ARGV[4] the
// oldest beat still alive, in Unix ms. It returns whether the instance
// was new, then the members removed.
var beatScript = redis.NewScript(forgetLua + `
local fresh = redis.call('ZADD', KEYS[1], ARGV[3], ARGV[2])
fresh = fresh + redis.call('DEL', ARGV[1] .. ':swept:' .. ARGV[2])
local gone = {}
for _, inst in ipairs(redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', '(' .. ARGV[4])) do
	forget(inst, gone, true)
end
return {fresh, gone}
`)

// forgetScript: ARGV[2] is the instance.
var forgetScript = redis.NewScript(forgetLua + `
local gone = {}
forget(ARGV[2], gone, false)
return gone
`)

// Join implements PresenceStore.
func (b *RedisBroker) Join(ctx context.Context, m Member) error {
	j, err := json.Marshal(m)
	if err != nil {
		return err
	}
	_, err = b.client.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.HSet(ctx, b.presenceKey("g", m.Group), m.ID, j)
		p.HSet(ctx, b.presenceKey("i", m.Instance), m.ID, m.Group)
		p.ZAddNX(ctx, b.presenceKey("", ""), redis.Z{Score: float64(time.Now().UnixMilli()), Member: m.Instance})
		return nil
	})
	if err != nil {
		return fmt.Errorf("ws: redis presence join: %w", err)
	}
	return nil
}

// Leave implements PresenceStore.
func (b *RedisBroker) Leave(ctx context.Context, m Member) error {
	_, err := b.client.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.HDel(ctx, b.presenceKey("g", m.Group), m.ID)
		p.HDel(ctx, b.presenceKey("i", m.Instance), m.ID)
		return nil
	})
	if err != nil {
		return fmt.Errorf("ws: redis presence leave: %w", err)
	}
	return nil
}

// Beat implements PresenceStore.
func (b *RedisBroker) Beat(ctx context.Context, instance string, timeout time.Duration) ([]Member, bool, error) {
	now := time.Now()
	res, err := beatScript.Run(ctx, b.client, []string{b.presenceKey("", "")},
		b.presenceTag(), instance,
		strconv.FormatInt(now.UnixMilli(), 10), strconv.FormatInt(now.Add(-timeout).UnixMilli(), 10)).Slice()
	if err != nil {
		return nil, false, fmt.Errorf("ws: redis presence beat: %w", err)
	}
	fresh, _ := res[0].(int64)
	list, _ := res[1].([]any)
	gone, err := decodeMembers(list)
	return gone, fresh > 0, err
}

// Forget implements PresenceStore.
func (b *RedisBroker) Forget(ctx context.Context, instance string) ([]Member, error) {
	res, err := forgetScript.Run(ctx, b.client, []string{b.presenceKey("", "")},
		b.presenceTag(), instance).Slice()
	if err != nil {
		return nil, fmt.Errorf("ws: redis presence forget: %w", err)
	}
	return decodeMembers(res)
}

// Members implements PresenceStore.
func (b *RedisBroker) Members(ctx context.Context, group string, timeout time.Duration) ([]Member, error) {
	var all *redis.MapStringStringCmd
	var live *redis.StringSliceCmd
	_, err := b.client.Pipelined(ctx, func(p redis.Pipeliner) error {
		all = p.HGetAll(ctx, b.presenceKey("g", group))
		live = p.ZRangeByScore(ctx, b.presenceKey("", ""), &redis.ZRangeBy{
			Min: strconv.FormatInt(time.Now().Add(-timeout).UnixMilli(), 10), Max: "+inf"})
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("ws: redis presence of %s: %w", group, err)
	}
	alive := make(map[string]bool, len(live.Val()))
	for _, inst := range live.Val() {
		alive[inst] = true
	}
	out := make([]Member, 0, len(all.Val()))
	for _, j := range all.Val() {
		var m Member
		if err := json.Unmarshal([]byte(j), &m); err != nil {
			return nil, fmt.Errorf("ws: redis presence of %s: %w", group, err)
		}
		if alive[m.Instance] {
			out = append(out, m)
		}
	}
	return out, nil
}

func decodeMembers(list []any) ([]Member, error) {
	out := make([]Member, 0, len(list))
	for _, v := range list {
		s, _ := v.(string)
		var m Member
		if err := json.Unmarshal([]byte(s), &m); err != nil {
			return nil, fmt.Errorf("ws: redis presence member %q: %w", s, err)
		}
		out = append(out, m)
	}
	return out, nil
}
