// Command wsload measures easy's realtime fan-out against a hand-written
// hub (bench/wsbaseline) on this machine, both in the same run:
//
//   - b: one committed write (POST /items) delivered to -clients
//     WebSocket subscribers, -writes times one after the other: latency
//     from sending the POST to each client's receipt;
//   - c: -rate writes a second for -d to -clients subscribers: every
//     client must see every seq once and in order, and the latency from
//     each POST to each receipt;
//   - d: resident memory per idle connection: the server's VmRSS after
//     -idle connections minus before, divided by -idle.
//
// -kinds chooses the servers: easy and baseline by default; easy-batch is
// the easy server with subscribers that connect with ?batch=1 and so
// receive the events queued together as one frame (a JSON array); easy-sse
// is the easy server again, its subscribers reading /sse/items
// (Server-Sent Events) instead of /ws/items:
//
//	go run ./bench/wsload -run c -kinds easy,easy-batch -rate 1000 -d 10s
//	go run ./bench/wsload -run c -kinds easy,easy-sse -rate 100 -clients 1000
//
// Each server runs as a child process of wsload (wsload serve -kind
// easy|baseline) on a fresh SQLite file, so that its memory is its own
// and client and server do not share a heap or a scheduler:
//
//	go run ./bench/wsload                 # b, c and d with the defaults
//	go run ./bench/wsload -run c -d 10s -clients 200
//	go run ./bench/wsload -run d -heapprofile /tmp/heap
//
// The easy server is the items app: easy.New(), CRUDRouter[Item] and
// ws.Setup(app, Item{}), all with their defaults.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log"
	"os"
	"runtime"
	"strings"
	"time"

	"github.com/fastapi-easy/easy-go/bench/internal/loadkit"
)

// config says what to measure.
type config struct {
	exe     string // the binary to start with "serve": wsload itself
	run     string // which measurements: letters of "bcd"
	kinds   []string
	clients int           // subscribers in b and c
	writes  int           // writes in b
	rate    float64       // writes a second in c
	dur     time.Duration // length of c
	idle    int           // connections in d
	heapDir string        // where d writes the servers' heap profiles; "" for none
	queue   int           // the servers' send queue per connection; 0 for their default
	beat    time.Duration // easy's heartbeat; negative for its default
	dir     string        // where the servers' databases go
	out     io.Writer

	fault fault // for tests
}

// fault makes the first subscriber lose its event number drop and record
// its event number dup twice (counted from 1; 0 for none), so that a test
// can check that the accounting catches both.
type fault struct{ drop, dup int }

func main() {
	if len(os.Args) > 1 && os.Args[1] == "serve" {
		if err := serve(os.Args[2:], os.Stdin, os.Stdout); err != nil {
			log.Fatal("wsload serve: ", err)
		}
		return
	}
	cfg := config{out: os.Stdout, kinds: []string{"easy", "baseline"}}
	flag.StringVar(&cfg.run, "run", "bcd", "measurements to run: any of b, c and d")
	kinds := flag.String("kinds", "easy,baseline", "servers to measure, comma-separated: easy, baseline, easy-batch (easy with batched frames), easy-sse (easy's SSE endpoint)")
	flag.IntVar(&cfg.clients, "clients", 1000, "WebSocket subscribers in b and c")
	flag.IntVar(&cfg.writes, "writes", 50, "writes in b, one after the other")
	flag.Float64Var(&cfg.rate, "rate", 100, "writes a second in c")
	flag.DurationVar(&cfg.dur, "d", 30*time.Second, "duration of c")
	flag.IntVar(&cfg.idle, "idle", 5000, "idle connections in d")
	flag.StringVar(&cfg.heapDir, "heapprofile", "", "directory for the servers' heap profiles in d")
	flag.IntVar(&cfg.queue, "sendqueue", 0, "messages that may wait for one connection, in both servers (0: their default, 256)")
	flag.DurationVar(&cfg.beat, "heartbeat", -1, "easy's heartbeat, 0 for none (default: easy's, 30s); the baseline has none")
	flag.Parse()
	cfg.kinds = strings.Split(*kinds, ",")
	for _, k := range cfg.kinds {
		if k != "easy" && k != "easy-batch" && k != "easy-sse" && k != "baseline" {
			flag.Usage()
			os.Exit(2)
		}
	}
	if strings.Trim(cfg.run, "bcd") != "" || cfg.clients < 1 || cfg.writes < 1 || cfg.rate <= 0 || cfg.dur <= 0 || cfg.idle < 1 {
		flag.Usage()
		os.Exit(2)
	}
	exe, err := os.Executable()
	if err != nil {
		log.Fatal(err)
	}
	cfg.exe = exe
	if cfg.heapDir != "" {
		if err := os.MkdirAll(cfg.heapDir, 0o755); err != nil {
			log.Fatal(err)
		}
	}
	dir, err := os.MkdirTemp("", "wsload")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	cfg.dir = dir
	if err := loadkit.RaiseFileLimit(); err != nil {
		log.Fatal(err)
	}
	fmt.Printf("$ wsload %s\n", strings.Join(os.Args[1:], " "))
	queue, beat := "default", "default"
	if cfg.queue > 0 {
		queue = fmt.Sprint(cfg.queue)
	}
	if cfg.beat >= 0 {
		beat = cfg.beat.String()
	}
	fmt.Printf("flags: -kinds %s -run %s -clients %d -writes %d -rate %g -d %s -idle %d -sendqueue %s -heartbeat %s\n",
		strings.Join(cfg.kinds, ","), cfg.run, cfg.clients, cfg.writes, cfg.rate, cfg.dur, cfg.idle, queue, beat)
	fmt.Printf("%s %s/%s, %d CPUs, GOMAXPROCS %d\n", runtime.Version(), runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), runtime.GOMAXPROCS(0))
	printLoad(os.Stdout)
	// A run that hangs is a bug; bound it however long the flags make it.
	budget := 5*time.Minute + time.Duration(len(cfg.kinds))*(cfg.dur+time.Duration(cfg.writes)*time.Second)
	ctx, cancel := context.WithTimeout(context.Background(), budget)
	defer cancel()
	if _, err := run(ctx, cfg); err != nil {
		log.Fatal(err)
	}
}

// results are what run measured, for the tests.
type results struct {
	oneWrite []deliveryResult // b
	steady   []deliveryResult // c
	idle     []idleResult     // d
}

// run makes the measurements cfg.run names, each for every kind of
// server, and prints their tables.
func run(ctx context.Context, cfg config) (results, error) {
	var res results
	if strings.Contains(cfg.run, "b") {
		fmt.Fprintf(cfg.out, "\n(b) one write at a time to %d subscribers, %d writes: latency from sending the POST to each receipt\n", cfg.clients, cfg.writes)
		for _, kind := range cfg.kinds {
			r, err := measureOneWrite(ctx, cfg, kind)
			if err != nil {
				return res, fmt.Errorf("b, %s: %w", kind, err)
			}
			res.oneWrite = append(res.oneWrite, r)
		}
		printDeliveries(cfg.out, res.oneWrite, false)
		printLoad(cfg.out)
	}
	if strings.Contains(cfg.run, "c") {
		fmt.Fprintf(cfg.out, "\n(c) %g writes/s for %s to %d subscribers: loss, duplicates and order by seq; latency from each POST to each receipt\n", cfg.rate, cfg.dur, cfg.clients)
		for _, kind := range cfg.kinds {
			r, err := measureSteady(ctx, cfg, kind)
			if err != nil {
				return res, fmt.Errorf("c, %s: %w", kind, err)
			}
			res.steady = append(res.steady, r)
		}
		printDeliveries(cfg.out, res.steady, true)
		printLoad(cfg.out)
	}
	if strings.Contains(cfg.run, "d") {
		fmt.Fprintf(cfg.out, "\n(d) resident memory per idle connection, %d connections on a fresh server\n", cfg.idle)
		for _, kind := range cfg.kinds {
			r, err := measureIdle(ctx, cfg, kind)
			if err != nil {
				return res, fmt.Errorf("d, %s: %w", kind, err)
			}
			res.idle = append(res.idle, r)
		}
		printIdle(cfg.out, res.idle)
		printLoad(cfg.out)
	}
	return res, nil
}
