// Command outside measures easy from outside, as its users see it: the
// card's program (easyserver: easy.New, CRUDRouter[Item], ws.Setup) and
// the same API written by hand on chi + GORM with a plain hub
// (handserver), built as two binaries and run as processes of their own,
// driven in turn by wrk (with Lua scripts for rotating ids and POST
// bodies) and by a WebSocket fan-out client of its own, over rounds that
// alternate which server goes first. It prints each round and then the
// medians and the ratios easy / hand-written.
//
//	go run ./bench/outside                  # every measurement, 3 rounds of 10 s each
//	go run ./bench/outside -quick           # the same, shorter (3 s each)
//	go run ./bench/outside -run f -fanout 500x400 -fd 20s
//	go run ./bench/outside -run p -profile /tmp/prof   # pprof of both under 500 × 400
//	go run ./bench/outside -run f -fanout 1000x100 -vs nooutbox   # easy with the outbox / without
//	go run ./bench/outside -run h -vs observe   # easy with metrics and traces / without
//
// The measurements (-run, any of hfsm, or p):
//
//   - h: GET /items/{id} (ids rotating over the seeded rows), GET
//     /items?limit=50 and POST /items (a new body each time), with
//     wrk -t2 -c64 for -d each;
//   - f: fan-out: for each SUBSxRATE of -fanout, SUBS WebSocket
//     subscribers of /ws/items while items are created at RATE writes a
//     second for -fd: latency from each POST to each receipt, loss,
//     duplicates and order, and per delivered frame the server's
//     goroutine wake-ups, allocations and processor time;
//   - s: the highest sustainable delivered frames a second: -ramp-subs
//     subscribers, the write rate raised from -ramp-from by -ramp-factor
//     a step until a run
//     loses, duplicates or reorders an event, falls 5 % behind its
//     schedule or has a p99 over -sustain-p99;
//   - m: resident memory per idle WebSocket connection, -idle
//     connections on a fresh server;
//   - p: CPU, allocation, mutex and block profiles, a goroutine dump and
//     an execution trace of each server under -profile-at, into -profile.
//
// The easy server is not examples/items: that app also serves a
// dashboard, applies migrations that index the name, and logs every
// request at Info to standard error, none of which the hand-written one
// does. easyserver is the card's program on the same model, with the
// logger at Warn, so that the request log's fast path (the level check)
// is what is measured. Each runs on a fresh SQLite file: easy with its
// defaults (internal/sqlitedb), the hand-written server with GORM's own
// pool as its users open SQLite, or with -hand-pool gate with easy's
// set-up, which leaves the framework as the only difference.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/fastapi-easy/easy-go/bench/internal/loadkit"
)

// config says what to measure, and how.
type config struct {
	run     string
	rounds  int
	httpDur time.Duration // wrk -d
	threads int           // wrk -t
	conns   int           // wrk -c
	rows    int           // seeded before h

	fanouts    []fanSetting
	fanDur     time.Duration
	posters    int
	rampSubs   int
	rampFrom   float64
	rampFactor float64
	rampSteps  int
	sustainP99 time.Duration
	idle       int
	handPool   string // handserver's -pool
	vs         string // "hand"; "nooutbox": the hand column is easy with ws.NoOutbox; "observe": the easy column has metrics and traces

	profileDir string
	profileAt  fanSetting
	profileDur time.Duration

	wrk  string            // the wrk binary
	bins map[string]string // the servers' binaries, by kind
	dir  string            // scripts and databases
	out  io.Writer
}

// fanSetting is a fan-out load: subs subscribers, rate writes a second.
type fanSetting struct {
	subs int
	rate float64
}

func (f fanSetting) String() string { return fmt.Sprintf("%dx%g", f.subs, f.rate) }

func parseFanSetting(s string) (fanSetting, error) {
	subs, rate, ok := strings.Cut(strings.TrimSpace(s), "x")
	n, err1 := strconv.Atoi(subs)
	r, err2 := strconv.ParseFloat(rate, 64)
	if !ok || err1 != nil || err2 != nil || n < 1 || r <= 0 {
		return fanSetting{}, fmt.Errorf("%q: want SUBSxRATE, as 500x400", s)
	}
	return fanSetting{n, r}, nil
}

func main() {
	cfg := config{out: os.Stdout}
	quick := flag.Bool("quick", false, "short runs: -d 3s -fd 3s -idle 1000 -ramp-factor 2 -ramp-steps 5 -profile-d 4s, unless set")
	fanouts := flag.String("fanout", "1000x100,500x400,100x2000", "fan-out loads of f, SUBSxRATE (writes/s), comma-separated")
	profileAt := flag.String("profile-at", "500x400", "the fan-out load that p profiles under")
	flag.StringVar(&cfg.run, "run", "hfsm", "measurements: any of h (HTTP), f (fan-out), s (saturation), m (memory); or p (profiles)")
	flag.IntVar(&cfg.rounds, "rounds", 3, "rounds; each alternates which server goes first, and the report takes the median")
	flag.DurationVar(&cfg.httpDur, "d", 10*time.Second, "duration of each wrk run (whole seconds)")
	flag.IntVar(&cfg.threads, "t", 2, "wrk's threads")
	flag.IntVar(&cfg.conns, "c", 64, "wrk's connections")
	flag.IntVar(&cfg.rows, "rows", 1000, "rows created in each server before h")
	flag.DurationVar(&cfg.fanDur, "fd", 10*time.Second, "duration of each fan-out run")
	flag.IntVar(&cfg.posters, "posters", 64, "concurrent POSTs at most in fan-out runs")
	flag.IntVar(&cfg.rampSubs, "ramp-subs", 500, "subscribers in s")
	flag.Float64Var(&cfg.rampFrom, "ramp-from", 25, "first write rate of s, writes/s")
	flag.Float64Var(&cfg.rampFactor, "ramp-factor", 1.5, "each rate s tries is the last one times this")
	flag.IntVar(&cfg.rampSteps, "ramp-steps", 8, "most rates s tries")
	flag.DurationVar(&cfg.sustainP99, "sustain-p99", time.Second, "highest p99 a sustained run of s may have")
	flag.IntVar(&cfg.idle, "idle", 2000, "idle connections in m")
	flag.StringVar(&cfg.handPool, "hand-pool", "gorm", "the hand-written server's database: gorm (GORM's own pool, as its users open SQLite) or gate (easy's set-up)")
	flag.StringVar(&cfg.vs, "vs", "hand", "what easy is measured against: hand (the hand-written server); nooutbox (easyserver with ws.NoOutbox, in the hand column: what the outbox costs); or observe (easyserver in the hand column, and in the easy one with metrics and 1 % of requests traced: what observability costs)")
	flag.StringVar(&cfg.profileDir, "profile", "", "directory for p's profiles")
	flag.DurationVar(&cfg.profileDur, "profile-d", 10*time.Second, "length of p's CPU profile")
	flag.Parse()
	if *quick {
		set := map[string]bool{}
		flag.Visit(func(f *flag.Flag) { set[f.Name] = true })
		for name, v := range map[string]string{"d": "3s", "fd": "3s", "idle": "1000", "ramp-factor": "2", "ramp-steps": "5", "profile-d": "4s"} {
			if !set[name] {
				flag.Set(name, v)
			}
		}
	}
	var err error
	for _, s := range strings.Split(*fanouts, ",") {
		f, e := parseFanSetting(s)
		err = errors.Join(err, e)
		cfg.fanouts = append(cfg.fanouts, f)
	}
	cfg.profileAt, _ = parseFanSetting(*profileAt)
	switch {
	case err != nil:
		log.Fatalf("-fanout: %v", err)
	case cfg.profileAt.subs == 0:
		log.Fatalf("-profile-at %q: want SUBSxRATE", *profileAt)
	case cfg.run == "" || strings.Trim(cfg.run, "hfsm") != "" && cfg.run != "p":
		log.Fatalf("-run %q: want letters of hfsm, or p", cfg.run)
	case cfg.run == "p" && cfg.profileDir == "":
		log.Fatal("-run p needs -profile DIR")
	case slices.ContainsFunc(append(cfg.fanouts, fanSetting{cfg.rampSubs, cfg.rampFrom}), func(f fanSetting) bool { return f.rate*cfg.fanDur.Seconds() < 1 }):
		log.Fatalf("-fd %s is too short for one write at the lowest rate of -fanout or -ramp-from", cfg.fanDur)
	case cfg.handPool != "gorm" && cfg.handPool != "gate":
		log.Fatalf("-hand-pool %q: want gorm or gate", cfg.handPool)
	case cfg.vs != "hand" && cfg.vs != "nooutbox" && cfg.vs != "observe":
		log.Fatalf("-vs %q: want hand, nooutbox or observe", cfg.vs)
	case cfg.rounds < 1 || cfg.httpDur < time.Second || cfg.fanDur <= 0 || cfg.rows < 1 || cfg.idle < 1 || cfg.posters < 1 || cfg.rampFactor <= 1:
		flag.Usage()
		os.Exit(2)
	}
	if err := loadkit.RaiseFileLimit(); err != nil {
		log.Fatal(err)
	}
	if cfg.wrk, err = exec.LookPath("wrk"); err != nil && strings.ContainsRune(cfg.run, 'h') {
		log.Fatal("wrk is not on PATH: apt-get install wrk")
	}
	goCmd, err := exec.LookPath("go")
	if err != nil {
		log.Fatal("the go command is not on PATH: it builds the servers")
	}
	dir, err := os.MkdirTemp("", "outside")
	if err != nil {
		log.Fatal(err)
	}
	fatal := func(err error) { // log.Fatal would skip the deferred RemoveAll
		os.RemoveAll(dir)
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	cfg.dir = dir
	ctx := context.Background()
	names := kinds
	if cfg.vs == "observe" { // handserver is not run
		names = []string{"easy", "observed"}
	}
	if cfg.bins, err = build(ctx, goCmd, dir, names...); err != nil {
		fatal(err)
	}
	fmt.Printf("$ outside %s\n", strings.Join(os.Args[1:], " "))
	switch cfg.vs {
	case "nooutbox":
		fmt.Println("the hand column is easyserver with ws.NoOutbox: easy / hand is what the outbox costs")
	case "observe":
		fmt.Println("the easy column is observedserver (easyserver with easy.Metrics and easy.Tracing, 1 % sampled), the hand one easyserver: easy / hand is what observability costs")
	default:
		fmt.Printf("hand-written server's database: -pool %s\n", cfg.handPool)
	}
	fmt.Printf("%s %s/%s, %d CPUs; %s\n", runtime.Version(), runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), loadAvg())
	if _, err := run(ctx, cfg); err != nil {
		fatal(err)
	}
}

// results are what run measured, for the tests: by route or setting, by
// kind, one entry a round.
type results struct {
	http map[string]map[string][]wrkResult
	fan  map[fanSetting]map[string][]fanResult
	ramp map[string][]float64 // highest sustained frames/s
	idle map[string][]idleResult
}

// run makes the measurements cfg.run names and prints each round and a
// summary.
func run(ctx context.Context, cfg config) (results, error) {
	res := results{http: map[string]map[string][]wrkResult{}, fan: map[fanSetting]map[string][]fanResult{},
		ramp: map[string][]float64{}, idle: map[string][]idleResult{}}
	if cfg.run == "p" {
		return res, profile(ctx, cfg)
	}
	if err := writeScripts(cfg.dir); err != nil {
		return res, err
	}
	servers := map[string]*server{}
	defer func() {
		for _, s := range servers {
			s.stop()
		}
	}()
	if strings.ContainsAny(cfg.run, "hfs") {
		for _, kind := range kinds {
			s, err := start(cfg, kind)
			if err != nil {
				return res, err
			}
			servers[kind] = s
		}
	}
	if strings.Contains(cfg.run, "h") {
		if err := measureHTTP(ctx, cfg, servers, res.http); err != nil {
			return res, err
		}
	}
	if strings.Contains(cfg.run, "f") {
		if err := measureFanOut(ctx, cfg, servers, res.fan); err != nil {
			return res, err
		}
	}
	if strings.Contains(cfg.run, "s") {
		if err := measureRamp(ctx, cfg, servers, res.ramp); err != nil {
			return res, err
		}
	}
	if strings.Contains(cfg.run, "m") {
		fmt.Fprintf(cfg.out, "\n== idle memory: %d WebSocket connections on a fresh server\n", cfg.idle)
		for r := range cfg.rounds {
			for _, kind := range order(r) {
				m, err := idleMemory(ctx, cfg, kind)
				if err != nil {
					return res, fmt.Errorf("idle memory, %s: %w", kind, err)
				}
				res.idle[kind] = append(res.idle[kind], m)
				fmt.Fprintf(cfg.out, "round %d  %-4s  RSS %6.1f → %6.1f MiB  %5.1f KiB/conn  %.2f goroutines/conn\n",
					r+1, kind, mib(m.before), mib(m.with), m.kibPerConn, m.goroutinesPerConn)
			}
		}
	}
	summarize(cfg, res)
	return res, nil
}

// loadAvg says how busy the machine is.
func loadAvg() string {
	avg, err := loadkit.LoadAvg()
	if err != nil {
		return "load unknown"
	}
	return "load average " + strings.Join(avg[:], " ")
}

func mib(b int64) float64 { return float64(b) / (1 << 20) }
