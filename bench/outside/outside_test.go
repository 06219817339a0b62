package main

import (
	"bytes"
	"context"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/fastapi-easy/easy-go/bench/internal/loadkit"
	"github.com/fastapi-easy/easy-go/internal/testkit"
)

// TestTinyRunMeasuresBothServers builds both servers and runs every
// measurement once on a tiny setting, with the real wrk.
func TestTinyRunMeasuresBothServers(t *testing.T) {
	wrk, err := exec.LookPath("wrk")
	if err != nil {
		testkit.Unavailable(t, "wrk is not on PATH (Debian package wrk)")
	}
	goCmd, err := exec.LookPath("go")
	if err != nil {
		testkit.Unavailable(t, "the go command is not on PATH")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	dir := t.TempDir()
	bins, err := build(ctx, goCmd, dir, kinds...)
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	cfg := config{
		run: "hfsm", rounds: 1, httpDur: time.Second, threads: 1, conns: 4, rows: 20,
		fanouts: []fanSetting{{20, 20}}, fanDur: time.Second, posters: 8,
		rampSubs: 20, rampFrom: 20, rampFactor: 2, rampSteps: 2, sustainP99: 5 * time.Second, idle: 50,
		handPool: "gorm", wrk: wrk, bins: bins, dir: dir, out: &out,
	}
	res, err := run(ctx, cfg)
	t.Log("\n" + out.String())
	if err != nil {
		t.Fatal(err)
	}
	for _, rt := range routes {
		for _, kind := range kinds {
			rs := res.http[rt.name][kind]
			if len(rs) != 1 {
				t.Fatalf("%s, %s: %d results, want 1", rt.name, kind, len(rs))
			}
			r := rs[0]
			if r.requests < 1 || r.rps <= 0 || r.p50 <= 0 || r.p99 < r.p50 || r.non2xx != 0 || r.socketErrors != 0 {
				t.Errorf("%s, %s: %+v; want requests, all 2xx, and p99 ≥ p50 > 0", rt.name, kind, r)
			}
		}
	}
	for _, kind := range kinds {
		rs := res.fan[fanSetting{20, 20}][kind]
		if len(rs) != 1 {
			t.Fatalf("fan-out, %s: %d results, want 1", kind, len(rs))
		}
		r := rs[0]
		if r.writes != 20 || r.delivered != 20*20 || r.lost != 0 || r.dups != 0 || r.reordered != 0 ||
			len(r.broken) != 0 || r.postErrs != 0 || r.p99 <= 0 || r.wakeups <= 0 || r.allocs <= 0 || r.syscalls <= 0 || r.started <= 0 || r.cpu <= 0 {
			t.Errorf("fan-out, %s: %+v; want 20 writes each delivered once, in order, to 20 subscribers, and the server's counters", kind, r)
		}
		if ramp := res.ramp[kind]; len(ramp) != 1 || ramp[0] <= 0 {
			t.Errorf("saturation, %s: %v; want one round that sustained some load", kind, ramp)
		}
		if m := res.idle[kind]; len(m) != 1 || m[0].kibPerConn <= 0 || m[0].goroutinesPerConn < 0.9 {
			t.Errorf("idle memory, %s: %+v; want memory and at least a goroutine per connection", kind, m)
		}
	}
	for _, want := range []string{"== summary", "GET /items/{id}", "POST /items", "highest sustained delivered frames/s", "idle memory per WebSocket connection"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("the report lacks %q", want)
		}
	}
}

func TestParseWrkReadsRateLatenciesAndErrors(t *testing.T) {
	const report = `Running 10s test @ http://127.0.0.1:36307/items/1
  2 threads and 64 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency    10.13ms   22.02ms   1.02s    89.97%
    Req/Sec     5.27k     4.40k   15.90k    80.00%
  Latency Distribution
     50%  310.00us
     75%    8.76ms
     90%   32.48ms
     99%    1.50m
  56620 requests in 10.13s, 7.51MB read
  Socket errors: connect 1, read 2, write 3, timeout 4
  Non-2xx or 3xx responses: 7
Requests/sec:   5589.46
Transfer/sec:    758.77KB
`
	got, err := parseWrk(report)
	want := wrkResult{requests: 56620, rps: 5589.46, p50: 310 * time.Microsecond, p99: 90 * time.Second, non2xx: 7, socketErrors: 10}
	if err != nil || got != want {
		t.Fatalf("parseWrk = %+v, %v; want %+v", got, err, want)
	}
	cut := report[:strings.Index(report, "  Latency Distribution")]
	if _, err := parseWrk(cut); err == nil {
		t.Fatal("parseWrk of a report without latencies or a rate: no error")
	}
	if _, err := parseWrk(strings.Replace(report, "310.00us", "310.00xs", 1)); err == nil {
		t.Fatal("parseWrk of an unknown unit: no error")
	}
}

func TestParseFanSetting(t *testing.T) {
	for _, c := range []struct {
		in   string
		want fanSetting
		ok   bool
	}{
		{"500x400", fanSetting{500, 400}, true},
		{" 100x2000", fanSetting{100, 2000}, true},
		{"500", fanSetting{}, false},
		{"0x400", fanSetting{}, false},
		{"500x-1", fanSetting{}, false},
		{"ax1", fanSetting{}, false},
	} {
		got, err := parseFanSetting(c.in)
		if got != c.want || (err == nil) != c.ok {
			t.Errorf("parseFanSetting(%q) = %v, %v; want %v, ok %v", c.in, got, err, c.want, c.ok)
		}
	}
}

func TestParseEventReadsTheSeqAndTheWriteOfThisRun(t *testing.T) {
	prefix := []byte(`"name":"r7w`)
	for _, c := range []struct {
		msg   string
		seq   uint64
		write int
		ok    bool
	}{
		{`{"type":"create","resource":"items","id":3,"data":{"id":3,"name":"r7w12","price":1},"seq":1750000000000003}`, 1750000000000003, 12, true},
		{`{"type":"create","resource":"items","id":3,"data":{"id":3,"name":"r7w0","price":1},"seq":1}`, 1, 0, true},
		{`{"type":"create","resource":"items","id":3,"data":{"id":3,"name":"r8w1","price":1},"seq":1}`, 0, 0, false},
		{`{"type":"update","resource":"items","id":3,"data":{"id":3,"name":"r7w1","price":1},"seq":1}`, 0, 0, false},
		{`{"type":"ping"}`, 0, 0, false},
	} {
		seq, write, ok := parseEvent([]byte(c.msg), prefix)
		if ok != c.ok || ok && (seq != c.seq || write != c.write) {
			t.Errorf("parseEvent(%s) = %d, %d, %v; want %d, %d, %v", c.msg, seq, write, ok, c.seq, c.write, c.ok)
		}
	}
}

func TestRoundsAlternateWhichServerGoesFirst(t *testing.T) {
	if got := order(0); got[0] != "easy" || got[1] != "hand" {
		t.Errorf("round 1: %v", got)
	}
	if got := order(1); got[0] != "hand" || got[1] != "easy" {
		t.Errorf("round 2: %v", got)
	}
}

func TestSustainedNeedsEveryEventTheRateAndTheP99(t *testing.T) {
	good := fanResult{target: 400, achieved: 390, p99: 100 * time.Millisecond}
	for _, c := range []struct {
		name string
		edit func(*fanResult)
		want bool
	}{
		{"every event, on schedule", func(*fanResult) {}, true},
		{"one lost", func(r *fanResult) { r.lost = 1 }, false},
		{"one twice", func(r *fanResult) { r.dups = 1 }, false},
		{"one out of order", func(r *fanResult) { r.reordered = 1 }, false},
		{"a subscriber dropped", func(r *fanResult) { r.broken = []int{1013} }, false},
		{"a POST failed", func(r *fanResult) { r.postErrs = 1 }, false},
		{"behind the schedule", func(r *fanResult) { r.achieved = 370 }, false},
		{"p99 over the limit", func(r *fanResult) { r.p99 = 2 * time.Second }, false},
	} {
		r := good
		c.edit(&r)
		if got := r.sustained(time.Second); got != c.want {
			t.Errorf("%s: sustained = %v, want %v", c.name, got, c.want)
		}
	}
}

func TestRatioIsTheMedianOfEachRoundsQuotient(t *testing.T) {
	by := map[string][]float64{"easy": {10, 30, 8, 5}, "hand": {5, 10, 8, 0}}
	// Rounds: 2, 3, 1; the fourth, with nothing measured by hand, is left out.
	if got := ratio(by, func(f float64) float64 { return f }); got != 2 {
		t.Fatalf("ratio = %v, want 2", got)
	}
	if got := loadkit.Median([]float64{4, 1, 3, 2}); got != 2.5 {
		t.Fatalf("median of an even count = %v, want 2.5", got)
	}
}
