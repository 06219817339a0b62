package main

import (
	"fmt"
	"time"

	"github.com/fastapi-easy/easy-go/bench/internal/loadkit"
)

// summarize prints the medians over the rounds and the ratios easy /
// hand-written.
func summarize(cfg config, res results) {
	w := cfg.out
	fmt.Fprintf(w, "\n== summary: medians of %d rounds; ratio = the median of each round's easy / hand-written (%s)\n", cfg.rounds, loadAvg())
	if len(res.http) > 0 {
		fmt.Fprintf(w, "\n%-20s %11s %11s %7s   %9s %9s %7s\n", "route", "easy req/s", "hand req/s", "ratio", "easy p99", "hand p99", "ratio")
		for _, rt := range routes {
			by := res.http[rt.name]
			rps := func(kind string) float64 {
				return loadkit.Median(collect(by[kind], func(r wrkResult) float64 { return r.rps }))
			}
			p99 := func(kind string) float64 {
				return loadkit.Median(collect(by[kind], func(r wrkResult) float64 { return float64(r.p99) }))
			}
			fmt.Fprintf(w, "%-20s %11.0f %11.0f %7.2f   %9s %9s %7.2f\n", rt.name,
				rps("easy"), rps("hand"), ratio(by, func(r wrkResult) float64 { return r.rps }),
				loadkit.Ms(time.Duration(p99("easy"))), loadkit.Ms(time.Duration(p99("hand"))), ratio(by, func(r wrkResult) float64 { return float64(r.p99) }))
		}
	}
	if len(res.fan) > 0 {
		fmt.Fprintf(w, "\n%-10s %9s %9s %6s  %9s %9s %6s  %-11s  %-11s  %-11s  %-11s  %-11s\n", "fan-out", "easy p99", "hand p99", "ratio",
			"easy p50", "hand p50", "ratio", "lost e/h", "wake-ups", "started", "writes", "allocs")
		fmt.Fprintf(w, "%-10s %s\n", "", "(lost: events not received once and in order, all rounds; then per delivered frame, easy/hand: goroutine wake-ups, goroutines started, write system calls, allocations)")
		for _, set := range cfg.fanouts {
			by := res.fan[set]
			m := func(kind string, f func(fanResult) float64) float64 { return loadkit.Median(collect(by[kind], f)) }
			pair := func(f func(fanResult) float64) string { return fmt.Sprintf("%.2f/%.2f", m("easy", f), m("hand", f)) }
			p99 := func(r fanResult) float64 { return float64(r.p99) }
			p50 := func(r fanResult) float64 { return float64(r.p50) }
			lost := func(kind string) int {
				n := 0
				for _, r := range by[kind] {
					n += r.lost + r.dups + r.reordered
				}
				return n
			}
			fmt.Fprintf(w, "%-10s %9s %9s %6.2f  %9s %9s %6.2f  %-11s  %-11s  %-11s  %-11s  %-11s\n", set,
				loadkit.Ms(time.Duration(m("easy", p99))), loadkit.Ms(time.Duration(m("hand", p99))), ratio(by, p99),
				loadkit.Ms(time.Duration(m("easy", p50))), loadkit.Ms(time.Duration(m("hand", p50))), ratio(by, p50),
				fmt.Sprintf("%d/%d", lost("easy"), lost("hand")),
				pair(func(r fanResult) float64 { return r.wakeups }), pair(func(r fanResult) float64 { return r.started }),
				pair(func(r fanResult) float64 { return r.syscalls }), pair(func(r fanResult) float64 { return r.allocs }))
		}
	}
	if len(res.ramp) > 0 {
		fmt.Fprintf(w, "\nhighest sustained delivered frames/s (%d subscribers): easy %.0f, hand %.0f, ratio %.2f\n", cfg.rampSubs,
			loadkit.Median(res.ramp["easy"]), loadkit.Median(res.ramp["hand"]), ratio(res.ramp, func(f float64) float64 { return f }))
	}
	if len(res.idle) > 0 {
		kib := func(r idleResult) float64 { return r.kibPerConn }
		fmt.Fprintf(w, "idle memory per WebSocket connection (%d connections): easy %.1f KiB, hand %.1f KiB, ratio %.2f\n",
			cfg.idle, loadkit.Median(collect(res.idle["easy"], kib)), loadkit.Median(collect(res.idle["hand"], kib)), ratio(res.idle, kib))
	}
}

func collect[R any](rs []R, f func(R) float64) []float64 {
	xs := make([]float64, len(rs))
	for i, r := range rs {
		xs[i] = f(r)
	}
	return xs
}

// ratio is the median over the rounds of easy / hand-written: each round
// ran the two back to back, so each quotient shares that moment's load.
// A round where the hand-written server measured 0 is left out.
func ratio[R any](by map[string][]R, f func(R) float64) float64 {
	var qs []float64
	for i := range min(len(by["easy"]), len(by["hand"])) {
		if h := f(by["hand"][i]); h != 0 {
			qs = append(qs, f(by["easy"][i])/h)
		}
	}
	return loadkit.Median(qs)
}
