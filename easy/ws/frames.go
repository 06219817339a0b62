package ws

import (
	"encoding/json"
	"net/url"
	"reflect"

	"github.com/fastapi-easy/easy-go/easy/problem"
	"github.com/fastapi-easy/easy-go/internal/binding"
)

// maxFrame bounds a batched frame: messages queued together are joined
// into frames of at most this many bytes, so that a client's read limit
// sees no more than it would from one message of that size. A single
// message larger than this goes alone, as it would unbatched.
const maxFrame = 64 << 10

// queryBool reads the boolean query parameter name (batch, snapshot) as
// every query parameter of the API reads one (1, true, yes, on, ...):
// false when it is missing, a 422 at ["query", name] when it is no
// boolean.
func queryBool(q url.Values, name string) (bool, error) {
	if !q.Has(name) {
		return false, nil
	}
	parse, _ := binding.Parser(reflect.TypeFor[bool]())
	var on bool
	if fe := parse(binding.QueryValue(q, name), reflect.ValueOf(&on).Elem()); fe != nil {
		fe.Loc = []any{"query", name}
		return false, &problem.ValidationError{Errors: []problem.FieldError{*fe}}
	}
	return on, nil
}

// writeItems writes what the writer took from the queue: item by item,
// or, for a connection that asked for batches, as few frames as maxFrame
// allows. It stops early, as writeItem does, when the connection starts
// to close without a flush.
func (c *Conn) writeItems(batch []outbound) error {
	if !c.batch {
		for _, o := range batch {
			if err := c.writeItem(o); err != nil {
				return err
			}
		}
		return nil
	}
	f := frame{c: c}
	for _, o := range batch {
		if o.msg != nil && o.initial {
			// A snapshot goes alone: unread tracks when the socket has
			// taken it whole.
			if err := f.flush(); err != nil {
				return err
			}
			if err := c.writeItem(outbound{msg: o.msg, initial: true}); err != nil {
				return err
			}
		} else if o.msg != nil {
			if err := f.add(o.msg); err != nil {
				return err
			}
			f.evs = append(f.evs, o.ev)
		}
		for _, msg := range o.msgs {
			if err := f.add(msg); err != nil {
				return err
			}
		}
	}
	return f.flush()
}

// frame gathers the messages of one batched frame.
type frame struct {
	c    *Conn
	msgs [][]byte
	size int      // bytes of the array they make
	evs  []*event // the events among msgs, for metrics.delivered
}

// add appends msg, first writing what is gathered when msg would take
// the frame past maxFrame.
func (f *frame) add(msg []byte) error {
	if len(f.msgs) > 0 && f.size+len(msg)+1 > maxFrame {
		if err := f.flush(); err != nil {
			return err
		}
	}
	f.msgs = append(f.msgs, msg)
	f.size += len(msg) + 1 // and a comma or a bracket
	return nil
}

// flush writes the gathered messages: one alone as itself, several as a
// JSON array.
func (f *frame) flush() (err error) {
	c := f.c
	msgs, evs := f.msgs, f.evs
	f.msgs, f.size, f.evs = f.msgs[:0], 0, f.evs[:0]
	if len(msgs) == 0 || c.ctx.Err() != nil && !c.flush {
		return nil
	}
	defer func() {
		if err == nil {
			c.m.obs.deliveredAll(c.group, evs)
		}
	}()
	n := 0
	for _, m := range msgs {
		n += len(m)
	}
	c.handing(n)
	if len(msgs) == 1 {
		err = c.write(msgs[0])
	} else {
		b := make([]byte, 0, n+len(msgs)+1)
		b = append(b, '[')
		for i, m := range msgs {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, m...)
		}
		b = append(b, ']')
		err = c.writeFrame(b, len(msgs))
	}
	if err == nil {
		err = c.cork.flush() // its events count as delivered once the socket has them
	}
	return err
}

// writeFrame writes a frame of n messages; write is writeFrame of one.
func (c *Conn) writeFrame(b []byte, n int) error {
	if err := c.writeWS(b); err != nil {
		return err
	}
	c.m.stats.messagesSent.Add(uint64(n))
	c.m.stats.bytesSent.Add(uint64(len(b)))
	c.m.obs.wroteFrame(c.group, n, len(b))
	return nil
}

// DialBatch asks the server for batched frames (batch=1): messages queued
// together arrive as one frame, which costs the server and the network
// less under load. The Client unpacks them; its events are the same.
func DialBatch() DialOption {
	return func(c *dialConfig) { c.batch = true }
}

// decodeFrame decodes a frame from the server: one message, or a JSON
// array of them from a batching server.
func decodeFrame(b []byte) ([]Event, error) {
	if len(b) > 0 && b[0] == '[' {
		var evs []Event
		if err := json.Unmarshal(b, &evs); err != nil {
			return nil, err
		}
		return evs, nil
	}
	var ev Event
	if err := json.Unmarshal(b, &ev); err != nil {
		return nil, err
	}
	return []Event{ev}, nil
}
