package main

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"
	"github.com/fastapi-easy/easy-go/bench/internal/loadkit"
)

// fanResult is what one fan-out run measured on one server.
type fanResult struct {
	kind     string
	subs     int
	target   float64 // writes a second asked for
	achieved float64 // writes a second sent
	writes   int
	postErrs int

	delivered int64 // events received, by all subscribers
	lost      int   // events of a successful write some subscriber did not receive
	dups      int
	reordered int   // events received after one with a higher seq
	broken    []int // close codes of subscribers dropped before the end
	p50, p99  time.Duration
	framesPS  float64 // delivered frames a second, over the run

	// Per delivered frame, in the server: goroutines made to run and
	// started, write system calls, heap allocations and their bytes, and
	// processor time.
	wakeups, started, syscalls, allocs, allocBytes float64
	cpu                                            time.Duration
}

// sustained reports whether the server kept up: every event delivered
// once and in order, the writes at the rate asked for, and a p99 within
// limit.
func (r fanResult) sustained(limit time.Duration) bool {
	return r.lost == 0 && r.dups == 0 && r.reordered == 0 && len(r.broken) == 0 && r.postErrs == 0 &&
		r.achieved >= 0.95*r.target && r.p99 <= limit
}

// subscriber is one WebSocket client of /ws/items: it keeps which writes
// of its run it received, the last seq, and each event's latency.
type subscriber struct {
	conn      *websocket.Conn
	seen      []bool
	lastSeq   uint64
	dups      int
	reordered int
	got       int
	lat       []int32 // microseconds from the POST to the receipt
	closed    websocket.StatusCode
}

var runCount atomic.Int64

// fanOut connects subs subscribers to s, then creates items at rate for
// cfg.fanDur through POST /items, and measures what they receive. Write 0
// is a warm-up that every subscriber must receive before the run starts.
func fanOut(ctx context.Context, cfg config, s *server, subs int, rate float64) (fanResult, error) {
	n := int(rate * cfg.fanDur.Seconds())
	res := fanResult{kind: s.kind, subs: subs, target: rate, writes: n}
	run := runCount.Add(1)
	epoch := time.Now()
	sent := make([]atomic.Int64, n+1) // ns since epoch
	fleet, err := dial(ctx, "ws://"+s.addr+"/ws/items", subs)
	if err != nil {
		return res, err
	}
	defer fleet.close()
	var got atomic.Int64
	progress := make(chan struct{}, 1)
	for _, sub := range fleet.subs {
		sub.seen = make([]bool, n+1)
		sub.lat = make([]int32, 0, n)
		fleet.wg.Add(1)
		// The reader ends when its connection closes: close closes them all.
		go func() {
			defer fleet.wg.Done()
			sub.read(run, epoch, sent, &got, progress)
		}()
	}
	p := loadkit.NewPoster(s.addr, posterIdle)
	sent[0].Store(int64(time.Since(epoch)))
	if err := p.Post(fmt.Sprintf("r%dw0", run)); err != nil {
		return res, fmt.Errorf("warm-up write: %w", err)
	}
	if !await(&got, int64(subs), progress, 10*time.Second) {
		return res, fmt.Errorf("the warm-up write reached %d of %d subscribers in 10s", got.Load(), subs)
	}

	before, err := s.stats()
	if err != nil {
		return res, err
	}
	pid := s.cmd.Process.Pid
	cpu0, _ := loadkit.CPUTime(pid)
	sysw0, _ := loadkit.WriteCalls(pid)
	jobs := make(chan int, n)
	var postErrs atomic.Int64
	var posters sync.WaitGroup
	for range cfg.posters {
		posters.Add(1)
		// The posters end when jobs is closed and drained.
		go func() {
			defer posters.Done()
			for i := range jobs {
				sent[i].Store(int64(time.Since(epoch)))
				if p.Post(fmt.Sprintf("r%dw%d", run, i)) != nil {
					postErrs.Add(1)
				}
			}
		}()
	}
	start := time.Now()
	startNs := int64(time.Since(epoch))
	// Hand out the writes on schedule; a server that answers slower than
	// that keeps every poster busy and falls behind it, which the achieved
	// rate shows.
	for i := 1; i <= n && ctx.Err() == nil; {
		due := min(n, int(time.Since(start).Seconds()*rate)+1)
		for ; i <= due; i++ {
			jobs <- i
		}
		time.Sleep(time.Millisecond)
	}
	close(jobs)
	posters.Wait()
	// The achieved rate counts to when the last write was sent, as the
	// schedule does: on schedule, it is the rate asked for.
	var last int64
	for i := 1; i <= n; i++ {
		last = max(last, sent[i].Load())
	}
	span := max(cfg.fanDur, time.Duration(last-startNs)+time.Duration(float64(time.Second)/rate))
	res.achieved = float64(n) / span.Seconds()
	res.postErrs = int(postErrs.Load())
	want := int64(subs) * int64(n+1-res.postErrs)
	await(&got, want, progress, 15*time.Second)
	elapsed := time.Since(start)
	after, err := s.stats()
	if err != nil {
		return res, err
	}
	cpu1, _ := loadkit.CPUTime(pid)
	sysw1, _ := loadkit.WriteCalls(pid)
	fleet.close()

	var lat []int32
	for _, sub := range fleet.subs {
		res.delivered += int64(sub.got)
		res.dups += sub.dups
		res.reordered += sub.reordered
		if sub.closed != 0 {
			res.broken = append(res.broken, int(sub.closed))
		}
		lat = append(lat, sub.lat...)
	}
	res.delivered -= int64(subs) // the warm-up
	res.lost = int(want - int64(subs) - res.delivered)
	slices.Sort(lat)
	res.p50 = time.Duration(loadkit.Percentile(lat, 50)) * time.Microsecond
	res.p99 = time.Duration(loadkit.Percentile(lat, 99)) * time.Microsecond
	res.framesPS = float64(res.delivered) / elapsed.Seconds()
	if d := float64(res.delivered); d > 0 {
		res.wakeups = float64(after.Wakeups-before.Wakeups) / d
		res.started = float64(after.Created-before.Created) / d
		res.syscalls = float64(sysw1-sysw0) / d
		res.allocs = float64(after.AllocObjects-before.AllocObjects) / d
		res.allocBytes = float64(after.AllocBytes-before.AllocBytes) / d
		res.cpu = time.Duration(float64(cpu1-cpu0) / d)
	}
	return res, ctx.Err()
}

// await waits until got reaches want, at most d after the last progress.
func await(got *atomic.Int64, want int64, progress <-chan struct{}, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	for got.Load() < want {
		select {
		case <-progress:
			t.Reset(d)
		case <-t.C:
			return got.Load() >= want
		}
	}
	return true
}

// read receives events until the connection ends. Only create events of
// this run count (the item is named r<run>w<write>); heartbeats and
// events of other runs are skipped.
func (sub *subscriber) read(run int64, epoch time.Time, sent []atomic.Int64, got *atomic.Int64, progress chan<- struct{}) {
	prefix := []byte(`"name":"r` + strconv.FormatInt(run, 10) + `w`)
	buf := make([]byte, 0, 512)
	for {
		_, r, err := sub.conn.Reader(context.Background())
		if err == nil {
			buf, err = loadkit.ReadAll(r, buf[:0])
		}
		if err != nil {
			sub.closed = websocket.CloseStatus(err)
			if sub.closed == -1 {
				sub.closed = 0 // closed by us, or the socket broke: the lost count shows which
			}
			return
		}
		at := time.Since(epoch)
		seq, write, ok := parseEvent(buf, prefix)
		if !ok || write >= len(sent) {
			continue
		}
		if seq <= sub.lastSeq {
			sub.reordered++
		}
		sub.lastSeq = seq
		if sub.seen[write] {
			sub.dups++
			continue
		}
		sub.seen[write] = true
		sub.got++
		if write > 0 {
			sub.lat = append(sub.lat, int32((at-time.Duration(sent[write].Load()))/time.Microsecond))
		}
		got.Add(1)
		select {
		case progress <- struct{}{}:
		default:
		}
	}
}

// parseEvent reads the seq and the write number of a create event whose
// item's name starts with prefix.
func parseEvent(msg, prefix []byte) (seq uint64, write int, ok bool) {
	seq, w, ok := loadkit.ParseEvent(msg, []byte(`{"type":"create"`), prefix)
	return seq, int(w), ok && w < 1<<31
}

// fleet is a set of subscribers.
type fleet struct {
	subs []*subscriber
	wg   sync.WaitGroup // their readers
	once sync.Once
}

// dial connects n subscribers to url.
func dial(ctx context.Context, url string, n int) (*fleet, error) {
	f := &fleet{subs: make([]*subscriber, n)}
	err := loadkit.DialAll(ctx, n, func(ctx context.Context, hc *http.Client, i int) error {
		conn, _, err := websocket.Dial(ctx, url, &websocket.DialOptions{HTTPClient: hc})
		if err == nil {
			f.subs[i] = &subscriber{conn: conn}
		}
		return err
	})
	if err != nil {
		f.close()
		return nil, err
	}
	return f, nil
}

// close drops every connection and waits for the readers to end.
func (f *fleet) close() {
	f.once.Do(func() {
		for _, s := range f.subs {
			if s != nil {
				s.conn.CloseNow()
			}
		}
		f.wg.Wait()
	})
}

// posterIdle is how many idle connections to a server the writes keep
// open: room for -posters up to 256.
const posterIdle = 256
