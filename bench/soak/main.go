// Command soak runs the items example app (go build ./examples/items, as
// a process of its own) under a legitimate load, then under the same load
// with abuse running beside it, then under the legitimate load alone
// again, and reports what the abuse cost:
//
//   - legitimate load: -writers clients POST /items and -readers clients
//     GET /items?price__gte=..., while -ws WebSocket clients follow
//     /ws/items and check every event arrives once, in seq order;
//   - abuse: -floods WebSocket clients that send subscribe 19 times a
//     second and never read, -slow connections that declare a large body
//     and send one byte a second, clients sending queries of 1,001
//     parameters and of 1,000 conditions, and clients sending 1 MiB
//     frames.
//
// It prints the server's peak resident memory (VmHWM), the POST p99 of
// each phase and the ratio of the abused phase's to the mean of the two
// quiet ones, what the abusers were answered, and whether each follower
// received every committed write's event. The quiet phases come before
// and after the abuse because the writers grow the table the readers
// count (by a thousand rows a second): a quiet phase only before it would
// run on a smaller table than the abused phase, and charge the abuse with
// the longer scans.
//
//	go run ./bench/soak            # from the repository's root
//	go run ./bench/soak -d 30s -floods 40 -slow 500
//
// The targets it checks are the hardening issue's: peak RSS at most 256
// MB, POST p99 under abuse at most 3 times the quiet one, and no event
// lost. It exits with status 1 when one is missed.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/fastapi-easy/easy-go/bench/internal/loadkit"
	"github.com/fastapi-easy/easy-go/bench/load"
)

type config struct {
	d                time.Duration
	writers, readers int
	followers        int
	floods, slow     int
	queries, frames  int
	maxRSS           int64 // KiB
	maxP99Ratio      float64
	keep             bool
}

func main() {
	var cfg config
	flag.DurationVar(&cfg.d, "d", 20*time.Second, "length of each phase")
	flag.IntVar(&cfg.writers, "writers", 8, "legitimate clients that POST")
	flag.IntVar(&cfg.readers, "readers", 8, "legitimate clients that GET a filtered list")
	flag.IntVar(&cfg.followers, "ws", 20, "legitimate WebSocket followers of /ws/items")
	flag.IntVar(&cfg.floods, "floods", 40, "WebSocket clients that flood subscribe and never read")
	flag.IntVar(&cfg.slow, "slow", 200, "connections that send a body one byte a second")
	flag.IntVar(&cfg.queries, "queries", 2, "clients sending queries of 1,001 parameters and of 1,000 conditions")
	flag.IntVar(&cfg.frames, "frames", 2, "WebSocket clients sending 1 MiB frames")
	flag.Int64Var(&cfg.maxRSS, "max-rss", 256<<10, "the target for the server's peak RSS, in KiB")
	flag.Float64Var(&cfg.maxP99Ratio, "max-p99-ratio", 3, "the target for POST p99 under abuse over the quiet one")
	flag.BoolVar(&cfg.keep, "keep", false, "keep the temporary directory")
	flag.Parse()
	ok, err := run(cfg, os.Stdout)
	if err != nil {
		log.Fatal("soak: ", err)
	}
	if !ok {
		os.Exit(1)
	}
}

func run(cfg config, out io.Writer) (bool, error) {
	dir, err := os.MkdirTemp("", "soak")
	if err != nil {
		return false, err
	}
	if !cfg.keep {
		defer os.RemoveAll(dir)
	}
	srv, err := startApp(dir)
	if err != nil {
		return false, err
	}
	defer srv.stop()
	fmt.Fprintf(out, "soak: the items app at %s, pid %d\n", srv.addr, srv.cmd.Process.Pid)

	ctx, stopFollowers := context.WithCancel(context.Background())
	defer stopFollowers()
	followers := make([]*follower, cfg.followers)
	for i := range followers {
		if followers[i], err = follow(ctx, srv.addr); err != nil {
			return false, fmt.Errorf("follower %d: %w", i, err)
		}
	}

	quiet := legitimate(srv.addr, cfg, "quiet")
	fmt.Fprintln(out, quiet[0])
	fmt.Fprintln(out, quiet[1])

	abuseCtx, stopAbuse := context.WithCancel(context.Background())
	counts := newCounts()
	done := abuse(abuseCtx, srv.addr, cfg, counts)
	time.Sleep(time.Second) // let the abuse take hold
	noisy := legitimate(srv.addr, cfg, "under abuse")
	stopAbuse()
	<-done
	fmt.Fprintln(out, noisy[0])
	fmt.Fprintln(out, noisy[1])
	fmt.Fprintf(out, "abuse answered: %s\n", counts)
	after := legitimate(srv.addr, cfg, "quiet again")
	fmt.Fprintln(out, after[0])
	fmt.Fprintln(out, after[1])

	total, err := rowCount(srv.addr)
	if err != nil {
		return false, err
	}
	lost := 0
	for i, f := range followers {
		if err := f.await(total, 10*time.Second); err != nil {
			fmt.Fprintf(out, "follower %d: %v\n", i, err)
			lost++
		}
	}
	stopFollowers()
	peak := srv.peakRSS()

	baseline := (quiet[0].Percentile(99) + after[0].Percentile(99)) / 2
	ratio := float64(noisy[0].Percentile(99)) / float64(max(baseline, time.Microsecond))
	fmt.Fprintf(out, "server peak RSS %.1f MB (target <= %.0f MB)\n", float64(peak)/1024, float64(cfg.maxRSS)/1024)
	fmt.Fprintf(out, "POST p99 under abuse / quiet (the mean of before and after) = %.2f (target <= %.1f)\n", ratio, cfg.maxP99Ratio)
	fmt.Fprintf(out, "followers with every one of the %d events, in order: %d of %d\n", total, len(followers)-lost, len(followers))
	good := peak <= cfg.maxRSS && ratio <= cfg.maxP99Ratio && lost == 0 && counts.serverErrors() == 0 &&
		quiet[0].Errors == 0 && noisy[0].Errors == 0 && after[0].Errors == 0
	if counts.serverErrors() > 0 {
		fmt.Fprintln(out, "the abuse got answers of 500 or more")
	}
	fmt.Fprintf(out, "soak: %s\n", map[bool]string{true: "PASS", false: "FAIL"}[good])
	return good, nil
}

// legitimate runs the legitimate HTTP load for cfg.d: writers and
// readers at once. It returns the POST and the GET results.
func legitimate(addr string, cfg config, phase string) [2]load.Result {
	var res [2]load.Result
	done := make(chan struct{})
	go func() {
		defer close(done)
		res[1] = load.Run(context.Background(), "GET /items "+phase, cfg.readers, cfg.d, http.StatusOK, func(w, i int) (*http.Request, error) {
			return http.NewRequest("GET", fmt.Sprintf("http://%s/items?price__gte=%d&limit=20", addr, i%50), nil)
		})
	}()
	res[0] = load.Run(context.Background(), "POST /items "+phase, cfg.writers, cfg.d, http.StatusCreated, func(w, i int) (*http.Request, error) {
		req, err := http.NewRequest("POST", "http://"+addr+"/items", strings.NewReader(fmt.Sprintf(`{"name":"w%d-%d","price":%d}`, w, i, i%100)))
		if err == nil {
			req.Header.Set("Content-Type", "application/json")
		}
		return req, err
	})
	<-done
	return res
}

// rowCount is how many items the table holds: each was one create event.
func rowCount(addr string) (int, error) {
	res, err := http.Get("http://" + addr + "/items?limit=0")
	if err != nil {
		return 0, err
	}
	res.Body.Close()
	var n int
	_, err = fmt.Sscan(res.Header.Get("X-Total-Count"), &n)
	return n, err
}

// app is the items example, running as a child process.
type app struct {
	addr string
	cmd  *exec.Cmd
}

// startApp builds the items example and starts it on a free port and a
// fresh SQLite file in dir.
func startApp(dir string) (*app, error) {
	bin := filepath.Join(dir, "items")
	build := exec.Command("go", "build", "-o", bin, "./examples/items")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		return nil, fmt.Errorf("go build ./examples/items (run soak from the repository's root): %w", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	addr := ln.Addr().String()
	ln.Close()
	cmd := exec.Command(bin, "-addr", addr)
	cmd.Env = append(os.Environ(), "DATABASE_URL=sqlite:"+filepath.Join(dir, "items.db"))
	cmd.Stdout, cmd.Stderr = io.Discard, io.Discard
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	a := &app{addr: addr, cmd: cmd}
	for start := time.Now(); time.Since(start) < 30*time.Second; time.Sleep(100 * time.Millisecond) {
		if res, err := http.Get("http://" + addr + "/items?limit=0"); err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return a, nil
			}
		}
	}
	a.stop()
	return nil, fmt.Errorf("the items app did not answer at %s", addr)
}

func (a *app) stop() {
	a.cmd.Process.Signal(os.Interrupt)
	exits := make(chan error, 1)
	go func() { exits <- a.cmd.Wait() }()
	loadkit.Stop(a.cmd.Process, exits, 15*time.Second)
}

// peakRSS is the server's peak resident memory in KiB, VmHWM; -1 when it
// cannot be read.
func (a *app) peakRSS() int64 {
	b, err := loadkit.StatusBytes(a.cmd.Process.Pid, "VmHWM")
	if err != nil {
		return -1
	}
	return b >> 10
}
