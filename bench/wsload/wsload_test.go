package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestMain lets the test binary serve as wsload's child process.
func TestMain(m *testing.M) {
	if len(os.Args) > 1 && os.Args[1] == "serve" {
		if err := serve(os.Args[2:], os.Stdin, os.Stdout); err != nil {
			os.Stderr.WriteString("serve: " + err.Error() + "\n")
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func smallRun(t *testing.T, kinds ...string) config {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	return config{
		exe: exe, run: "bcd", kinds: kinds, dir: t.TempDir(), out: &bytes.Buffer{},
		clients: 20, writes: 3, rate: 20, dur: time.Second, idle: 50, beat: -1,
	}
}

// TestSmallRunMeasuresEveryServer runs b, c and d with 20 subscribers,
// of easy over WebSocket and SSE and of the baseline, and checks what
// they counted.
func TestSmallRunMeasuresEveryServer(t *testing.T) {
	kinds := []string{"easy", "baseline", "easy-sse"}
	cfg := smallRun(t, kinds...)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	res, err := run(ctx, cfg)
	t.Log("\n" + cfg.out.(*bytes.Buffer).String())
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name   string
		rs     []deliveryResult
		writes int
	}{{"b", res.oneWrite, 3}, {"c", res.steady, 20}} {
		if len(c.rs) != len(kinds) {
			t.Fatalf("%s: %d results, want %d", c.name, len(c.rs), len(kinds))
		}
		for _, r := range c.rs {
			a := r.acct
			if r.writes != c.writes || r.postErrors != 0 || len(r.lat) != 20*c.writes ||
				a.subscribers != 20 || a.received != 20*(c.writes+1) || a.bad != 0 || a.broken != 0 {
				t.Errorf("%s, %s: %d writes, %d POST errors, %d latencies, account %+v; want %d writes, each (and the warm-up) received once by 20 subscribers",
					c.name, r.kind, r.writes, r.postErrors, len(r.lat), a, c.writes)
			}
		}
	}
	if len(res.idle) != len(kinds) {
		t.Fatalf("d: %d results, want %d", len(res.idle), len(kinds))
	}
	for _, r := range res.idle {
		// At least a reader per connection (easy starts a writer only
		// when there is something to write; the hub keeps one).
		if r.rssBefore <= 0 || r.rss <= r.rssBefore || r.with.Goroutines < r.before.Goroutines+50 {
			t.Errorf("d, %s: RSS %d then %d, goroutines %d then %d; want both to grow with 50 connections",
				r.kind, r.rssBefore, r.rss, r.before.Goroutines, r.with.Goroutines)
		}
		if r.kind == "easy" && r.with.Goroutines > r.before.Goroutines+50+10 {
			t.Errorf("d, easy: goroutines %d then %d with 50 idle connections; want one each", r.before.Goroutines, r.with.Goroutines)
		}
	}
}

// TestAccountingCatchesALostAndADuplicatedEvent makes the first
// subscriber drop one event and record another twice.
func TestAccountingCatchesALostAndADuplicatedEvent(t *testing.T) {
	cfg := smallRun(t, "baseline")
	cfg.run = "c"
	cfg.fault = fault{drop: 3, dup: 5}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	res, err := run(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	a := res.steady[0].acct
	want := account{subscribers: 20, bad: 1, received: 20 * 21, lost: 1, holes: 1, dups: 1}
	if a != want {
		t.Fatalf("account %+v, want %+v", a, want)
	}
}

func TestCheckCountsLossDuplicatesHolesAndOrder(t *testing.T) {
	for _, c := range []struct {
		name string
		seqs []uint64
		want int
		t    tally
	}{
		{"every event once, in order", []uint64{7, 8, 9}, 3, tally{received: 3, distinct: 3}},
		{"none", nil, 2, tally{lost: 2}},
		{"one missing inside", []uint64{7, 9}, 3, tally{received: 2, distinct: 2, holes: 1, lost: 1}},
		{"one missing at the end", []uint64{7, 8}, 3, tally{received: 2, distinct: 2, lost: 1}},
		{"one twice", []uint64{7, 8, 8, 9}, 3, tally{received: 4, distinct: 3, dups: 1}},
		{"out of order", []uint64{7, 9, 8}, 3, tally{received: 3, distinct: 3, reordered: 1}},
		{"more than the writes", []uint64{7, 8, 9, 10}, 3, tally{received: 4, distinct: 4}},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := check(c.seqs, c.want); got != c.t {
				t.Fatalf("check(%v, %d) = %+v, want %+v", c.seqs, c.want, got, c.t)
			}
		})
	}
}

func TestParseEventReadsTheSeqAndTheWriteNumber(t *testing.T) {
	for _, c := range []struct {
		msg   string
		seq   uint64
		write int32
		ok    bool
	}{
		{`{"type":"create","resource":"items","id":3,"data":{"id":3,"name":"w12","price":1},"seq":1750000000000003}`, 1750000000000003, 12, true},
		{`{"type":"create","resource":"items","id":3,"data":{"id":3,"name":"w0","price":1},"seq":1}`, 1, 0, true},
		{`{"type":"ping"}`, 0, 0, false},
		{`{"type":"create","resource":"items","id":3,"data":{"id":3,"name":"apple","price":1},"seq":1}`, 0, 0, false},
	} {
		seq, write, ok := parseEvent([]byte(c.msg))
		if ok != c.ok || ok && (seq != c.seq || write != c.write) {
			t.Errorf("parseEvent(%s) = %d, %d, %v; want %d, %d, %v", c.msg, seq, write, ok, c.seq, c.write, c.ok)
		}
	}
}

// TestBatchedFramesAreCountedEventByEvent runs c against the easy server
// with subscribers that ask for batched frames, fast enough that events
// queue together, and checks that every event is counted once.
func TestBatchedFramesAreCountedEventByEvent(t *testing.T) {
	cfg := smallRun(t, "easy", "easy-batch")
	cfg.run, cfg.rate = "c", 200
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	res, err := run(ctx, cfg)
	out := cfg.out.(*bytes.Buffer).String()
	t.Log("\n" + out)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range res.steady {
		a := r.acct
		if r.postErrors != 0 || a.received != 20*(200+1) || a.lost+a.dups+a.holes+a.reordered+a.bad+a.broken != 0 || r.deliveredRate <= 0 {
			t.Errorf("%s: %d POST errors, %.0f delivered/s, account %+v; want every one of 201 events once to 20 subscribers",
				r.kind, r.postErrors, r.deliveredRate, a)
		}
	}
	if !strings.Contains(out, "easy-batch / easy: delivered/s ") {
		t.Errorf("no ratio of easy-batch to easy in:\n%s", out)
	}
}

func TestFrameMessagesSplitsABatchedFrame(t *testing.T) {
	ev := func(n int) string {
		return fmt.Sprintf(`{"type":"create","resource":"items","id":%d,"data":{"id":%d,"name":"w%d","price":1},"seq":%d}`, n, n, n, 100+n)
	}
	for _, tc := range []struct {
		frame string
		want  []string
	}{
		{ev(1), []string{ev(1)}},
		{`{"type":"ping"}`, []string{`{"type":"ping"}`}},
		{"[" + ev(1) + "]", []string{ev(1) + "]"}},
		{"[" + ev(1) + "," + ev(2) + "," + ev(3) + "]", []string{ev(1) + ",", ev(2) + ",", ev(3) + "]"}},
		{`[{"type":"ping"},` + ev(4) + "]", []string{ev(4) + "]"}},
	} {
		var got []string
		for msg := range frameMessages([]byte(tc.frame)) {
			got = append(got, string(msg))
		}
		if !slices.Equal(got, tc.want) {
			t.Errorf("frameMessages(%s) = %q, want %q", tc.frame, got, tc.want)
		}
		// What parseEvent makes of each: the seq and the write number.
		for i, msg := range got {
			if seq, write, ok := parseEvent([]byte(msg)); strings.HasPrefix(msg, createPrefix) && (!ok || seq != uint64(100+write)) {
				t.Errorf("message %d of %s: seq %d, write %d, %v", i, tc.frame, seq, write, ok)
			}
		}
	}
}
