package main

import (
	"fmt"
	"slices"
	"time"

	"github.com/fastapi-easy/easy-go/bench/internal/loadkit"
)

// tally is what checking one subscriber's seqs found.
type tally struct {
	received  int // events, duplicates included
	distinct  int // different seqs
	dups      int // events received more than once, counted once per extra copy
	holes     int // seqs missing between the first and the last received
	lost      int // events of the run the subscriber did not receive
	reordered int // events received after one with a higher seq
}

// ok reports whether the subscriber received every event of the run
// exactly once, in order.
func (t tally) ok() bool {
	return t.dups == 0 && t.holes == 0 && t.lost == 0 && t.reordered == 0
}

// check checks the seqs one subscriber received, in the order received,
// against a run of want events: each seq from the first to the last must
// come once and in order, and there must be want of them.
func check(seqs []uint64, want int) tally {
	t := tally{received: len(seqs)}
	for i := 1; i < len(seqs); i++ {
		if seqs[i] < seqs[i-1] {
			t.reordered++
		}
	}
	sorted := slices.Clone(seqs)
	slices.Sort(sorted)
	t.distinct = len(slices.Compact(sorted))
	t.dups = len(seqs) - t.distinct
	if t.distinct > 0 {
		t.holes = int(sorted[t.distinct-1]-sorted[0]+1) - t.distinct
	}
	t.lost = max(want-t.distinct, 0)
	return t
}

// account sums the tallies of a fleet.
type account struct {
	subscribers int
	bad         int    // subscribers whose tally is not ok
	broken      int    // subscribers whose connection ended before the run did
	closeCodes  string // how those connections ended
	received    int
	dups        int
	holes       int
	lost        int
	reordered   int
}

func (a *account) add(t tally) {
	a.subscribers++
	if !t.ok() {
		a.bad++
	}
	a.received += t.received
	a.dups += t.dups
	a.holes += t.holes
	a.lost += t.lost
	a.reordered += t.reordered
}

// latencies are sorted durations.
type latencies []time.Duration

// percentile returns the duration below which p (0 to 100) of them fell.
func (l latencies) percentile(p float64) time.Duration {
	return loadkit.Percentile(l, p)
}

// settle checks the receipts of every subscriber against a run of writes
// numbered 0 to last, whose POSTs were sent at the times in sent, and
// returns the account and the latencies of the writes from first on.
func settle(f *fleet, sent []int64, first int) (account, latencies) {
	var a account
	f.mu.Lock()
	for code, n := range f.broken {
		a.broken += n
		a.closeCodes += fmt.Sprintf(" %d×%d", n, code)
	}
	f.mu.Unlock()
	var lat latencies
	seqs := make([]uint64, 0, len(sent))
	for _, s := range f.subs {
		seqs = seqs[:0]
		for _, r := range s.receipts {
			seqs = append(seqs, r.seq)
			if w := int(r.write); w >= first && w < len(sent) {
				lat = append(lat, time.Duration(r.at-sent[w]))
			}
		}
		a.add(check(seqs, len(sent)))
	}
	slices.Sort(lat)
	return a, lat
}
