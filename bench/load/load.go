// Package load drives an HTTP server on loopback with concurrent clients
// for a bounded time and reports throughput and latency percentiles. The
// load tools under bench use it to compare easy with hand-written
// baselines in one run.
package load

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/fastapi-easy/easy-go/bench/internal/loadkit"
)

// Request makes the i-th request of worker w.
type Request func(w, i int) (*http.Request, error)

// Result is what one run measured.
type Result struct {
	Name      string
	Requests  int
	Errors    int // transport errors and unexpected statuses
	Duration  time.Duration
	latencies []time.Duration
}

// Run sends requests from clients concurrent workers for d, each request
// waiting for the previous answer, and checks each status is want.
func Run(ctx context.Context, name string, clients int, d time.Duration, want int, mk Request) Result {
	tr := &http.Transport{MaxIdleConnsPerHost: clients, MaxConnsPerHost: clients, DisableCompression: true}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: 30 * time.Second}
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()

	var mu sync.Mutex
	res := Result{Name: name}
	var wg sync.WaitGroup
	start := time.Now()
	for w := 0; w < clients; w++ {
		wg.Add(1)
		// Each worker stops when the run's context ends.
		go func(w int) {
			defer wg.Done()
			var lat []time.Duration
			errs := 0
			for i := 0; ctx.Err() == nil; i++ {
				req, err := mk(w, i)
				if err != nil {
					errs++
					continue
				}
				t := time.Now()
				resp, err := client.Do(req)
				if err != nil {
					if ctx.Err() == nil {
						errs++
					}
					continue
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				lat = append(lat, time.Since(t))
				if resp.StatusCode != want {
					errs++
				}
			}
			mu.Lock()
			res.latencies = append(res.latencies, lat...)
			res.Errors += errs
			mu.Unlock()
		}(w)
	}
	wg.Wait()
	res.Duration = time.Since(start)
	res.Requests = len(res.latencies)
	slices.Sort(res.latencies)
	return res
}

// Percentile returns the latency below which p (0 to 100) of requests fell.
func (r Result) Percentile(p float64) time.Duration {
	return loadkit.Percentile(r.latencies, p)
}

// Rate is requests per second.
func (r Result) Rate() float64 { return float64(r.Requests) / r.Duration.Seconds() }

func (r Result) String() string {
	return fmt.Sprintf("%-28s %8.0f req/s  p50 %7.2fms  p99 %7.2fms  max %7.2fms  requests %d  errors %d",
		r.Name, r.Rate(), ms(r.Percentile(50)), ms(r.Percentile(99)), ms(r.Percentile(100)), r.Requests, r.Errors)
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// Merge adds up runs of the same load, made in turns with other loads so
// that all of them see the same machine.
func Merge(name string, runs ...Result) Result {
	out := Result{Name: name}
	for _, r := range runs {
		out.Requests += r.Requests
		out.Errors += r.Errors
		out.Duration += r.Duration
		out.latencies = append(out.latencies, r.latencies...)
	}
	slices.Sort(out.latencies)
	return out
}
