package ws

// event is one published change, encoded once and shared by every
// connection that receives it. Its messages and id are made under the
// resource's fanMu the first time they are needed.
type event struct {
	seq    uint64
	change Change
	msg    []byte // the whole message, seq included
	leave  []byte // a delete of the row, for those who may no longer see it
	id     string // the key as JSON; "" until needed

	at    int64       // when its write committed (or reached the broker), Unix nanoseconds; see metrics.delivered
	trace *eventTrace // its spans, when the write that made it was traced; see trace.go
}

// history keeps the latest events of a resource, oldest first, so that a
// client can resume with ?since and a subscriber can catch up with what
// was published while its snapshot was read. It is a ring of fixed size;
// the resource's pubMu guards it.
type history struct {
	ring  []*event
	start int // index of the oldest event
	n     int // events held
}

func newHistory(size int) history {
	return history{ring: make([]*event, size)}
}

// add appends ev, whose seq is one more than the last one added, and
// forgets the oldest event when the ring is full.
func (h *history) add(ev *event) {
	size := len(h.ring)
	if size == 0 {
		return
	}
	if h.n < size {
		h.ring[(h.start+h.n)%size] = ev
		h.n++
		return
	}
	h.ring[h.start] = ev
	h.start = (h.start + 1) % size
}

// between returns the events with after < seq <= upto, oldest first. It
// reports false when some of them are no longer held, or when the ring
// does not hold them one seq after the other (add's rule broken: a client
// is better served a reset than events in the wrong places).
func (h *history) between(after, upto uint64) ([]*event, bool) {
	if after >= upto {
		return nil, true
	}
	if h.n == 0 {
		return nil, false
	}
	size := len(h.ring)
	oldest := h.ring[h.start].seq
	newest := h.ring[(h.start+h.n-1)%size].seq
	if after+1 < oldest || upto > newest {
		return nil, false
	}
	out := make([]*event, 0, upto-after)
	for seq := after + 1; seq <= upto; seq++ {
		ev := h.ring[(h.start+int(seq-oldest))%size]
		if ev == nil || ev.seq != seq {
			return nil, false
		}
		out = append(out, ev)
	}
	return out, true
}
