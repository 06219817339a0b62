package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"iter"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"
	"github.com/fastapi-easy/easy-go/bench/internal/loadkit"
)

// receipt is one event as a subscriber received it.
type receipt struct {
	seq   uint64
	write int32 // the number of the write, from the item's name
	at    int64 // nanoseconds since the fleet's epoch
}

// subscriber is one client of /ws/items (conn) or of /sse/items
// (stream).
type subscriber struct {
	conn     *websocket.Conn
	stream   io.ReadCloser
	receipts []receipt
}

// fleet is a set of subscribers, each read by a goroutine of its own.
type fleet struct {
	epoch  time.Time
	subs   []*subscriber
	record bool
	fault  fault

	wg       sync.WaitGroup // the readers
	stopping atomic.Bool
	mu       sync.Mutex
	broken   map[websocket.StatusCode]int // readers that ended before stop, by close code (-1: none)

	got     atomic.Int64 // events received, by all subscribers
	want    atomic.Int64 // await's target for got
	reached chan struct{}
}

// dialFleet connects n subscribers to url, 32 at a time. With record,
// they keep a receipt of every event, as flt has it; otherwise they only
// read.
func dialFleet(ctx context.Context, url string, n int, epoch time.Time, record bool, flt fault) (*fleet, error) {
	f := &fleet{epoch: epoch, subs: make([]*subscriber, n), record: record, fault: flt,
		broken: make(map[websocket.StatusCode]int), reached: make(chan struct{}, 1)}
	f.want.Store(-1)
	err := loadkit.DialAll(ctx, n, func(dctx context.Context, hc *http.Client, i int) error {
		if strings.HasPrefix(url, "http") {
			s, err := openStream(ctx, dctx, hc, url)
			f.subs[i] = s
			return err
		}
		conn, _, err := websocket.Dial(dctx, url, &websocket.DialOptions{HTTPClient: hc})
		if err == nil {
			f.subs[i] = &subscriber{conn: conn}
		}
		return err
	})
	if err != nil {
		f.close()
		return nil, err
	}
	for i, s := range f.subs {
		f.wg.Add(1)
		// The reader of s ends when close closes its connection, or when
		// the server does.
		go f.read(i, s)
	}
	return f, nil
}

// openStream requests an SSE endpoint; ctx bounds the stream, dctx the
// wait for its header.
func openStream(ctx, dctx context.Context, hc *http.Client, url string) (*subscriber, error) {
	sctx, cancel := context.WithCancel(ctx)
	req, _ := http.NewRequestWithContext(sctx, "GET", url, nil)
	stop := context.AfterFunc(dctx, cancel)
	res, err := hc.Do(req)
	if !stop() && err == nil { // dctx ended as the header came: give up
		res.Body.Close()
		err = dctx.Err()
	}
	if err != nil {
		cancel()
		return nil, err
	}
	if res.StatusCode != http.StatusOK {
		res.Body.Close()
		cancel()
		return nil, fmt.Errorf("status %d", res.StatusCode)
	}
	return &subscriber{stream: struct {
		io.Reader
		io.Closer
	}{res.Body, closerFunc(func() error { cancel(); return res.Body.Close() })}}, nil
}

type closerFunc func() error

func (f closerFunc) Close() error { return f() }

// read receives the events of s, taking each one's time as soon as it is
// read, and skips messages that are not create events (heartbeats).
func (f *fleet) read(i int, s *subscriber) {
	defer f.wg.Done()
	if f.record {
		s.receipts = make([]receipt, 0, 1024)
	}
	buf := make([]byte, 0, 512)
	var br *bufio.Reader
	if s.stream != nil {
		br = bufio.NewReaderSize(s.stream, 4096)
	}
	n := 0
	for {
		var err error
		if br != nil {
			buf, err = nextData(br, buf[:0])
		} else {
			var r io.Reader
			_, r, err = s.conn.Reader(context.Background())
			if err == nil {
				buf, err = loadkit.ReadAll(r, buf[:0])
			}
		}
		if err != nil {
			if !f.stopping.Load() {
				f.mu.Lock()
				f.broken[websocket.CloseStatus(err)]++
				f.mu.Unlock()
			}
			return
		}
		at := time.Since(f.epoch).Nanoseconds()
		for msg := range frameMessages(buf) {
			seq, write, ok := parseEvent(msg)
			if !ok {
				continue
			}
			n++
			if f.record {
				switch {
				case i == 0 && n == f.fault.drop:
				case i == 0 && n == f.fault.dup:
					s.receipts = append(s.receipts, receipt{seq, write, at}, receipt{seq, write, at})
				default:
					s.receipts = append(s.receipts, receipt{seq, write, at})
				}
			}
			if f.got.Add(1) == f.want.Load() {
				select {
				case f.reached <- struct{}{}:
				default:
				}
			}
		}
	}
}

// frameMessages yields the messages of a frame: the frame itself, or
// each create event of a batched frame (a JSON array of messages). Like
// parseEvent it relies on the server's fixed format: a create event
// begins with createPrefix, which no item's name written here contains.
func frameMessages(frame []byte) iter.Seq[[]byte] {
	return func(yield func([]byte) bool) {
		if len(frame) == 0 || frame[0] != '[' {
			yield(frame)
			return
		}
		rest := frame[1:]
		for {
			i := bytes.Index(rest, []byte(createPrefix))
			if i < 0 {
				return
			}
			rest = rest[i:]
			j := bytes.Index(rest[1:], []byte(createPrefix))
			if j < 0 {
				yield(rest)
				return
			}
			if !yield(rest[:j+1]) {
				return
			}
			rest = rest[j+1:]
		}
	}
}

// await waits until the subscribers have received total events between
// them, at most d, and reports whether they did.
func (f *fleet) await(total int64, d time.Duration) bool {
	select { // a signal left by an earlier await
	case <-f.reached:
	default:
	}
	f.want.Store(total)
	if f.got.Load() >= total {
		return true
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-f.reached:
		return true
	case <-t.C:
		return f.got.Load() >= total
	}
}

// close drops every connection and waits for the readers to end.
func (f *fleet) close() {
	f.stopping.Store(true)
	for _, s := range f.subs {
		switch {
		case s == nil:
		case s.stream != nil:
			s.stream.Close()
		default:
			s.conn.CloseNow()
		}
	}
	f.wg.Wait()
}

// nextData appends the data of the stream's next event to buf: the server
// sends each message on one data line.
func nextData(br *bufio.Reader, buf []byte) ([]byte, error) {
	for {
		line, err := br.ReadSlice('\n')
		if err != nil {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return buf, err
		}
		if data, ok := bytes.CutPrefix(line, []byte("data: ")); ok {
			return append(buf, bytes.TrimSuffix(data, []byte("\n"))...), nil
		}
	}
}

const (
	createPrefix = `{"type":"create","resource":"items",`
	nameField    = `"name":"w`
)

// parseEvent reads the seq and the write number (the item is named
// "w<number>") of a create event of items.
func parseEvent(msg []byte) (seq uint64, write int32, ok bool) {
	seq, w, ok := loadkit.ParseEvent(msg, []byte(createPrefix), []byte(nameField))
	return seq, int32(w), ok && w <= 1<<30
}

// writeName is the name of the item of write n, as parseEvent reads it.
func writeName(n int) string { return "w" + strconv.Itoa(n) }

// posterIdle is how many idle connections to a server the writes keep
// open.
const posterIdle = 64
