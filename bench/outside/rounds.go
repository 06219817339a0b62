package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/fastapi-easy/easy-go/bench/internal/loadkit"
)

// order is the kinds in the order round r runs them: easy first in
// even rounds, the hand-written server first in odd ones.
func order(r int) []string {
	if r%2 == 0 {
		return kinds
	}
	return []string{kinds[1], kinds[0]}
}

// measureHTTP seeds cfg.rows rows in each server, then runs wrk on each
// route, the servers in turn. The routes that write run on a second pair
// of servers, seeded alike: the faster writer's table would grow faster,
// and a list (whose X-Total-Count counts the table) would pay for it in
// the rounds after.
func measureHTTP(ctx context.Context, cfg config, servers map[string]*server, out map[string]map[string][]wrkResult) error {
	writers := map[string]*server{}
	defer func() {
		for _, s := range writers {
			s.stop()
		}
	}()
	for _, kind := range kinds {
		s, err := start(cfg, kind)
		if err != nil {
			return err
		}
		writers[kind] = s
	}
	for _, ss := range []map[string]*server{servers, writers} {
		for _, kind := range kinds {
			if err := seed(ss[kind], cfg.rows); err != nil {
				return fmt.Errorf("seed the %s server: %w", kind, err)
			}
		}
	}
	fmt.Fprintf(cfg.out, "\n== HTTP: wrk -t%d -c%d -d%s --latency, %d rows\n", cfg.threads, cfg.conns, cfg.httpDur, cfg.rows)
	for r := range cfg.rounds {
		for _, rt := range routes {
			if out[rt.name] == nil {
				out[rt.name] = map[string][]wrkResult{}
			}
			on := servers
			if rt.writes {
				on = writers
			}
			for _, kind := range order(r) {
				w, err := runWrk(ctx, cfg, on[kind].addr, rt)
				if err != nil {
					return err
				}
				out[rt.name][kind] = append(out[rt.name][kind], w)
				fmt.Fprintf(cfg.out, "round %d  %-20s %-4s %9.0f req/s  p50 %8s  p99 %8s  non-2xx %d  socket errors %d\n",
					r+1, rt.name, kind, w.rps, loadkit.Ms(w.p50), loadkit.Ms(w.p99), w.non2xx, w.socketErrors)
			}
		}
	}
	return nil
}

// seed creates n rows through POST /items, 16 at a time.
func seed(s *server, n int) error {
	p := loadkit.NewPoster(s.addr, posterIdle)
	jobs := make(chan int)
	errc := make(chan error, 16)
	for range 16 {
		// Each seeder ends when jobs closes.
		go func() {
			var err error
			for i := range jobs {
				if err == nil {
					err = p.Post("seed " + strconv.Itoa(i))
				}
			}
			errc <- err
		}()
	}
	for i := range n {
		jobs <- i
	}
	close(jobs)
	var err error
	for range 16 {
		err = errors.Join(err, <-errc)
	}
	return err
}

// measureFanOut runs every setting of cfg.fanouts on each server in turn.
func measureFanOut(ctx context.Context, cfg config, servers map[string]*server, out map[fanSetting]map[string][]fanResult) error {
	fmt.Fprintf(cfg.out, "\n== fan-out: subscribers × writes/s for %s; latency from each POST to each receipt\n", cfg.fanDur)
	for _, set := range cfg.fanouts {
		out[set] = map[string][]fanResult{}
		for r := range cfg.rounds {
			for _, kind := range order(r) {
				f, err := fanOut(ctx, cfg, servers[kind], set.subs, set.rate)
				if err != nil {
					return fmt.Errorf("fan-out %s, %s: %w", set, kind, err)
				}
				out[set][kind] = append(out[set][kind], f)
				printFan(cfg.out, fmt.Sprintf("round %d  %-9s", r+1, set), f)
			}
		}
	}
	return nil
}

// measureRamp finds, on each server in turn, the highest delivered
// frames a second that it sustains.
func measureRamp(ctx context.Context, cfg config, servers map[string]*server, out map[string][]float64) error {
	fmt.Fprintf(cfg.out, "\n== saturation: %d subscribers, writes/s from %g, ×%g a step, sustained while nothing is lost and p99 ≤ %s\n",
		cfg.rampSubs, cfg.rampFrom, cfg.rampFactor, cfg.sustainP99)
	for r := range cfg.rounds {
		for _, kind := range order(r) {
			best := 0.0
			rate := cfg.rampFrom
			for range cfg.rampSteps {
				f, err := fanOut(ctx, cfg, servers[kind], cfg.rampSubs, rate)
				if err != nil {
					return fmt.Errorf("saturation at %g writes/s, %s: %w", rate, kind, err)
				}
				ok := f.sustained(cfg.sustainP99)
				verdict := "sustained"
				if !ok {
					verdict = "NOT sustained"
				}
				printFan(cfg.out, fmt.Sprintf("round %d  %-9s", r+1, fanSetting{cfg.rampSubs, rate}), f)
				fmt.Fprintf(cfg.out, "                   %s\n", verdict)
				if !ok {
					break
				}
				best = max(best, f.achieved*float64(cfg.rampSubs))
				rate *= cfg.rampFactor
			}
			out[kind] = append(out[kind], best)
			fmt.Fprintf(cfg.out, "round %d  %-4s  highest sustained: %.0f frames/s\n", r+1, kind, best)
		}
	}
	return nil
}

func printFan(w io.Writer, label string, f fanResult) {
	codes := map[int]int{}
	for _, c := range f.broken {
		codes[c]++
	}
	fmt.Fprintf(w, "%s %-4s %6.0f w/s %9.0f frames/s  p50 %8s  p99 %8s  lost %d dup %d reordered %d dropped %v post errors %d  per frame: %.2f wake-ups %.3f goroutines started %.2f write calls %.2f allocs %.0f B %s CPU\n",
		label, f.kind, f.achieved, f.framesPS, loadkit.Ms(f.p50), loadkit.Ms(f.p99), f.lost, f.dups, f.reordered, codes, f.postErrs,
		f.wakeups, f.started, f.syscalls, f.allocs, f.allocBytes, f.cpu.Round(10*time.Nanosecond))
}
