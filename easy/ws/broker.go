package ws

import (
	"context"
	"encoding/json"
	"time"
)

// Broker carries the events of every resource between the instances of an
// application that run behind one load balancer on one database. Each
// resource has one log in the broker: the broker numbers its entries, so
// that seq rises by one per event of the resource on every instance, and
// it keeps the latest of them for resume.
//
// Without ShareVia, a Manager numbers the events itself and serves one
// process; see NewRedisBroker and NewMemoryBroker for the others. The
// Manager calls a Broker from its own goroutines, one publisher and one
// reader per resource, and retries a failed call with backoff.
type Broker interface {
	// Append adds the entries of b to the end of the log of resource,
	// numbering them one after another, and trims the log to its latest
	// b.Keep entries. An Append whose b.Producer and b.Number it has
	// already applied does nothing and returns nil, so that a call whose
	// reply was lost can be retried without doubling its events.
	Append(ctx context.Context, resource string, b Batch) error
	// Tail returns the seq of the last entry of the log of resource (a
	// value above the seq of every earlier run of the log when it is
	// empty) and its latest entries, at most n, oldest first, both as of
	// one moment.
	Tail(ctx context.Context, resource string, n int) (seq uint64, entries []Entry, err error)
	// Read returns the entries of the log of resource after seq, oldest
	// first, waiting up to wait for one to arrive; none when wait passes.
	// A first entry whose seq is not after+1 means that the ones between
	// were trimmed.
	Read(ctx context.Context, resource string, after uint64, wait time.Duration) ([]Entry, error)
}

// Batch is what a Manager appends to a resource's log in one call.
type Batch struct {
	Producer string // the Manager that appends, unique per process
	Number   uint64 // rises by one per batch of the producer
	Keep     int    // how many entries the log keeps: the history size
	Entries  []Entry
}

// Entry is an event in a broker's log.
type Entry struct {
	Seq  uint64          // set by the broker
	Op   string          // create, update or delete
	Key  json.RawMessage // the row's primary key, as JSON
	Data json.RawMessage // the row as the REST API renders it; nil for delete
	Time int64           // when it was appended, Unix microseconds, for the lag
}

// ShareVia makes the Manager publish the events of its resources to b and
// serve what b delivers, so that several instances of an application
// share one stream per resource. It is not called Broker because that
// names the interface. Watch (and so Setup) picks a Redis broker by itself
// when the environment variable REDIS_URL is set and no ShareVia is given.
func ShareVia(b Broker) Option {
	return func(c *config) {
		if b == nil {
			panic("ws: ShareVia(nil)")
		}
		c.broker = b
	}
}
