package main

import (
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/fastapi-easy/easy-go/bench/internal/loadkit"
)

// printDeliveries prints the table of b or c; with ratio, also easy's
// p99 over the baseline's. CPU is in percent of one processor, over the
// writes and their delivery.
func printDeliveries(w io.Writer, rs []deliveryResult, ratio bool) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "server\twrites\twrites/s\tPOST errors\tdeliveries\tdelivered/s\tlost\tdup\tholes\treordered\tbad subs\tbroken\tp50\tp99\tmax\tserver CPU\twsload CPU\t")
	for _, r := range rs {
		rate, delivered := "-", "-"
		if r.rate > 0 {
			rate = fmt.Sprintf("%.1f", r.rate)
		}
		if r.deliveredRate > 0 {
			delivered = fmt.Sprintf("%.0f", r.deliveredRate)
		}
		a := r.acct
		fmt.Fprintf(tw, "%s\t%d\t%s\t%d\t%d\t%s\t%d\t%d\t%d\t%d\t%d\t%d\t%s\t%s\t%s\t%.0f%%\t%.0f%%\t\n",
			r.kind, r.writes, rate, r.postErrors, len(r.lat), delivered, a.lost, a.dups, a.holes, a.reordered, a.bad, a.broken,
			loadkit.Ms(r.lat.percentile(50)), loadkit.Ms(r.lat.percentile(99)), loadkit.Ms(r.lat.percentile(100)), 100*r.serverCPU, 100*r.loadCPU)
	}
	tw.Flush()
	for _, r := range rs {
		if r.acct.broken > 0 {
			fmt.Fprintf(w, "%s: subscribers closed before the end, count×close code (-1: no close frame):%s\n", r.kind, r.acct.closeCodes)
		}
	}
	if ratio {
		if e, b, ok := pair(rs, "easy", "baseline"); ok && b.lat.percentile(99) > 0 {
			fmt.Fprintf(w, "p99 easy / baseline = %.2f\n", float64(e.lat.percentile(99))/float64(b.lat.percentile(99)))
		}
		if e, s, ok := pair(rs, "easy", "easy-sse"); ok && e.lat.percentile(99) > 0 && e.serverCPU > 0 {
			fmt.Fprintf(w, "easy-sse / easy: p99 %.2f, server CPU %.2f\n",
				float64(s.lat.percentile(99))/float64(e.lat.percentile(99)), s.serverCPU/e.serverCPU)
		}
		printBatchRatios(w, rs)
	}
}

// printBatchRatios compares easy with batched frames to easy without,
// when both were measured.
func printBatchRatios(w io.Writer, rs []deliveryResult) {
	e, b, ok := pair(rs, "easy", "easy-batch")
	if !ok || e.lat.percentile(99) == 0 || e.serverCPU == 0 || e.deliveredRate == 0 {
		return
	}
	fmt.Fprintf(w, "easy-batch / easy: delivered/s %.2f, p99 %.2f, server CPU %.2f\n",
		b.deliveredRate/e.deliveredRate, float64(b.lat.percentile(99))/float64(e.lat.percentile(99)), b.serverCPU/e.serverCPU)
}

// pair returns the results of kinds a and b, and whether both were
// measured.
func pair(rs []deliveryResult, a, b string) (ra, rb deliveryResult, ok bool) {
	var okA, okB bool
	for _, r := range rs {
		switch r.kind {
		case a:
			ra, okA = r, true
		case b:
			rb, okB = r, true
		}
	}
	return ra, rb, okA && okB
}

// printIdle prints the table of d: resident memory, and the runtime's
// heap and stacks, per connection.
func printIdle(w io.Writer, rs []idleResult) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "server\tconns\tRSS before\tRSS with\tKiB/conn\tKiB/conn after GC\tgoroutines/conn\theap KiB/conn\tstack KiB/conn\t")
	for _, r := range rs {
		n := float64(r.conns)
		fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%.1f\t%.1f\t%.2f\t%.1f\t%.1f\t\n",
			r.kind, r.conns, mib(r.rssBefore), mib(r.rss),
			kib(r.rss-r.rssBefore)/n, kib(r.rssAfter-r.rssBefore)/n,
			float64(r.with.Goroutines-r.before.Goroutines)/n,
			kib(int64(r.afterGC.HeapInuse)-int64(r.before.HeapInuse))/n,
			kib(int64(r.afterGC.StackInuse)-int64(r.before.StackInuse))/n)
	}
	tw.Flush()
	for _, r := range rs {
		if r.profile != "" {
			fmt.Fprintf(w, "heap profile of %s with the connections open: %s\n", r.kind, r.profile)
		}
	}
}

// printLoad prints the machine's load averages: it is shared, and what
// else runs on it shows in the numbers.
func printLoad(w io.Writer) {
	if f, err := loadkit.LoadAvg(); err == nil {
		fmt.Fprintf(w, "load average: %s %s %s\n", f[0], f[1], f[2])
	}
}

func mib(b int64) string { return fmt.Sprintf("%.1fMiB", float64(b)/(1<<20)) }

func kib(b int64) float64 { return float64(b) / 1024 }
