// Command wsscale measures realtime delivery across app instances: one
// instance with the in-memory broker against two instances sharing a
// Redis broker, both on one PostgreSQL database, each with the outbox (the
// default) and without it (ws.NoOutbox), in one run. Clients are
// split evenly across the instances; writes (REST creates, each carrying
// the time it was sent) go to the instances in turn at a fixed rate. For
// each setup it reports delivered/expected events, duplicates, and the
// p50/p99/max latency from sending the write to a client receiving its
// event.
//
//	go run ./bench/wsscale -redis redis://127.0.0.1:6379/0 \
//		-postgres 'postgres://easy:easy@127.0.0.1:5432/easy_test?sslmode=disable' \
//		-clients 1000 -rate 100 -d 30s
package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"flag"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"
	"github.com/redis/go-redis/v9"
	"gorm.io/driver/postgres"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"

	"github.com/fastapi-easy/easy-go/easy"
	"github.com/fastapi-easy/easy-go/easy/ws"
)

// Tick is the model written: Sent is when the write was sent, Unix
// nanoseconds, so that a client can tell the latency of its event.
type Tick struct {
	ID   uint  `json:"id" gorm:"primaryKey"`
	Sent int64 `json:"sent"`
}

func main() {
	redisURL := flag.String("redis", os.Getenv("EASY_TEST_REDIS_URL"), "Redis URL")
	dsn := flag.String("postgres", os.Getenv("EASY_TEST_POSTGRES_DSN"), "PostgreSQL DSN")
	clients := flag.Int("clients", 1000, "WebSocket clients, split across the instances")
	rate := flag.Int("rate", 100, "writes per second")
	d := flag.Duration("d", 30*time.Second, "duration of the writes")
	only := flag.String("only", "", "run only the setup whose name starts with this")
	flag.Parse()
	if *redisURL == "" || *dsn == "" {
		log.Fatal("wsscale: -redis and -postgres are required")
	}
	ro, err := redis.ParseURL(*redisURL)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%d clients, %d writes/s for %v, servers and clients in one process, GOMAXPROCS=%d\n\n",
		*clients, *rate, *d, runtime.GOMAXPROCS(0))
	fmt.Printf("%-20s %11s %10s %10s %5s %5s %9s %9s %9s\n", "setup", "writes", "delivered", "expected", "dups", "gaps", "p50", "p99", "max")
	shared := func(prefix string) ws.Broker { return ws.NewRedisBroker(redis.NewClient(ro), prefix) }
	setups := []struct {
		name      string
		instances int
		broker    func(prefix string) ws.Broker
		opts      []ws.Option
	}{
		{"memory, 1 instance", 1, nil, nil},
		{"memory, 1, no outbox", 1, nil, []ws.Option{ws.NoOutbox()}},
		{"redis, 2 instances", 2, shared, nil},
		{"redis, 2, no outbox", 2, shared, []ws.Option{ws.NoOutbox()}},
	}
	for _, s := range setups {
		if !strings.HasPrefix(s.name, *only) {
			continue
		}
		r := run(*dsn, s.instances, s.broker, s.opts, *clients, *rate, *d)
		fmt.Printf("%-20s %11s %10d %10d %5d %5d %9v %9v %9v\n", s.name, fmt.Sprintf("%d/%d", r.writes, r.attempted),
			r.delivered, r.expected, r.dups, r.gaps, r.p(0.50), r.p(0.99), r.p(1))
	}
}

type result struct {
	writes, attempted               int64 // succeeded, sent
	delivered, expected, dups, gaps int64
	lat                             []time.Duration
}

func (r result) p(q float64) time.Duration {
	if len(r.lat) == 0 {
		return 0
	}
	i := min(len(r.lat)-1, int(q*float64(len(r.lat))))
	return r.lat[i].Round(100 * time.Microsecond)
}

func random() string {
	var b [4]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// run serves the instances on one new schema, connects the clients,
// writes, waits for the events to drain, and counts.
func run(dsn string, instances int, broker func(prefix string) ws.Broker, extra []ws.Option, clients, rate int, d time.Duration) result {
	schema := "wsscale_" + random()
	admin := open(dsn)
	must(admin.Exec("CREATE SCHEMA " + schema).Error)
	defer func() {
		admin.Exec("DROP SCHEMA " + schema + " CASCADE")
		closeDB(admin)
	}()
	u, err := url.Parse(dsn)
	must(err)
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()

	var bases []string
	var stops []func()
	for range instances {
		db := open(u.String())
		if sqlDB, err := db.DB(); err == nil {
			sqlDB.SetMaxOpenConns(8) // PostgreSQL's 100 connections are shared with the other processes
		}
		app := easy.New(easy.DB(db), easy.Logger(slog.New(slog.NewTextHandler(io.Discard, nil))))
		app.Include(easy.CRUDRouter[Tick]())
		opts := append([]ws.Option{ws.MaxConnections(clients + 10), ws.SendQueue(4096)}, extra...)
		if broker != nil {
			opts = append(opts, ws.ShareVia(broker(schema)))
		}
		ws.NewManager(opts...).Watch(app, Tick{})
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		must(err)
		srv := &http.Server{Handler: app}
		go srv.Serve(ln)
		bases = append(bases, "127.0.0.1:"+fmt.Sprint(ln.Addr().(*net.TCPAddr).Port))
		stops = append(stops, func() {
			srv.Close()
			app.Close(context.Background())
			closeDB(db)
		})
	}
	defer func() {
		for _, stop := range stops {
			stop()
		}
	}()

	var mu sync.Mutex
	var res result
	var wg sync.WaitGroup
	conns := make([]*websocket.Conn, clients)
	for i := range clients {
		c, _, err := websocket.Dial(context.Background(), "ws://"+bases[i%instances]+"/ws/ticks", nil)
		must(err)
		conns[i] = c
		// Each reader ends when its connection is closed below.
		wg.Go(func() {
			var last uint64
			var lat []time.Duration
			var delivered, dups, gaps int64
			for {
				_, b, err := c.Read(context.Background())
				if err != nil {
					break
				}
				now := time.Now().UnixNano()
				seq, sent, ok := parseEvent(b)
				if !ok {
					continue
				}
				switch {
				case last != 0 && seq <= last:
					dups++
					continue
				case last != 0 && seq > last+1:
					gaps += int64(seq - last - 1)
				}
				last = seq
				delivered++
				lat = append(lat, time.Duration(now-sent))
			}
			mu.Lock()
			res.delivered += delivered
			res.dups += dups
			res.gaps += gaps
			res.lat = append(res.lat, lat...)
			mu.Unlock()
		})
	}

	var writes, failed atomic.Int64
	var ww sync.WaitGroup
	// Writes are sent on a fixed schedule; one that is due late (the
	// machine is saturated) is sent at once rather than skipped, so that
	// every setup gets the same writes.
	total := int(d.Seconds() * float64(rate))
	interval := time.Second / time.Duration(rate)
	start := time.Now()
	n := 0
	for ; n < total; n++ {
		time.Sleep(time.Until(start.Add(time.Duration(n) * interval)))
		base := bases[n%instances]
		ww.Go(func() {
			body := fmt.Sprintf(`{"sent":%d}`, time.Now().UnixNano())
			resp, err := http.Post("http://"+base+"/ticks", "application/json", bytes.NewBufferString(body))
			if err != nil || resp.StatusCode != http.StatusCreated {
				if failed.Add(1) == 1 {
					if err == nil {
						b, _ := io.ReadAll(resp.Body)
						err = fmt.Errorf("%s: %s", resp.Status, b)
					}
					log.Printf("wsscale: first failed write: %v", err)
				}
			} else {
				writes.Add(1)
			}
			if resp != nil {
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
		})
	}
	ww.Wait()
	time.Sleep(5 * time.Second) // let the events drain
	for _, c := range conns {
		c.Close(websocket.StatusNormalClosure, "")
	}
	wg.Wait()
	if f := failed.Load(); f > 0 {
		log.Printf("wsscale: %d writes failed", f)
	}
	res.writes, res.attempted = writes.Load(), int64(n)
	res.expected = res.writes * int64(clients)
	slices.Sort(res.lat)
	return res
}

// parseEvent reads the seq and the sent time of a create event, whose
// layout the server fixes ({"type":"create",...,"data":{"id":1,"sent":N},"seq":S}),
// without the cost of decoding JSON for 1,000 clients on a small machine.
func parseEvent(b []byte) (seq uint64, sent int64, ok bool) {
	if !bytes.HasPrefix(b, []byte(`{"type":"create"`)) {
		return 0, 0, false
	}
	number := func(key string) (string, bool) {
		i := bytes.Index(b, []byte(key))
		if i < 0 {
			return "", false
		}
		rest := b[i+len(key):]
		j := bytes.IndexAny(rest, ",}")
		if j < 0 {
			return "", false
		}
		return string(rest[:j]), true
	}
	s, ok1 := number(`"seq":`)
	t, ok2 := number(`"sent":`)
	seq, err1 := strconv.ParseUint(s, 10, 64)
	sent, err2 := strconv.ParseInt(t, 10, 64)
	return seq, sent, ok1 && ok2 && err1 == nil && err2 == nil
}

func open(dsn string) *gorm.DB {
	db, err := gorm.Open(postgres.Open(dsn), &gorm.Config{Logger: logger.Discard, TranslateError: true})
	must(err)
	return db
}

func closeDB(db *gorm.DB) {
	if sqlDB, err := db.DB(); err == nil {
		sqlDB.Close()
	}
}

func must(err error) {
	if err != nil {
		log.Fatal(err)
	}
}
