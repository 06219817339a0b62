// Package probe is what both servers of bench/outside run beside their
// API, on a loopback listener of their own: pprof, and the runtime's
// counters, which the driver reads before and after a phase to count
// goroutine wake-ups and allocations per delivered frame.
package probe

import (
	"context"
	"encoding/json"
	"fmt"
	"log"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"os/signal"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"syscall"
	"time"
)

// Stats are a server's runtime counters at one moment.
type Stats struct {
	Goroutines   uint64 `json:"goroutines"`
	Wakeups      uint64 `json:"wakeups"` // times a goroutine was made to run, estimated (see schedSampling)
	Created      uint64 `json:"created"` // goroutines started
	AllocObjects uint64 `json:"alloc_objects"`
	AllocBytes   uint64 `json:"alloc_bytes"`
}

// schedSampling is how many of a goroutine's scheduling transitions the
// runtime counts one of in /sched/latencies:seconds (gTrackingPeriod in
// runtime/runtime2.go): its samples times this estimate the wake-ups.
const schedSampling = 8

var sampleNames = []string{
	"/sched/goroutines:goroutines",
	"/sched/latencies:seconds",
	"/sched/goroutines-created:goroutines",
	"/gc/heap/allocs:objects",
	"/gc/heap/allocs:bytes",
}

// Read reads the counters.
func Read() Stats {
	samples := make([]metrics.Sample, len(sampleNames))
	for i, name := range sampleNames {
		samples[i].Name = name
	}
	metrics.Read(samples)
	var s Stats
	s.Goroutines = samples[0].Value.Uint64()
	for _, n := range samples[1].Value.Float64Histogram().Counts {
		s.Wakeups += n * schedSampling
	}
	s.Created = samples[2].Value.Uint64()
	s.AllocObjects = samples[3].Value.Uint64()
	s.AllocBytes = samples[4].Value.Uint64()
	return s
}

// Handler serves /stats (Stats as JSON), /gc (collects garbage and
// returns free memory to the OS) and net/http/pprof under /debug/pprof/.
func Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/stats", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(Read())
	})
	mux.HandleFunc("/gc", func(w http.ResponseWriter, r *http.Request) {
		debug.FreeOSMemory()
		fmt.Fprintln(w, "ok")
	})
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	return mux
}

// Main runs a server: it listens for the API and for the probe on two
// loopback ports, prints "addr HOST:PORT" and "probe HOST:PORT" on
// standard output, and serves until SIGTERM or SIGINT, when serve's
// context ends and serve is expected to shut down and return.
//
// With PROBE_CONTENTION set, it also samples mutex contention and
// blocking for the mutex and block profiles.
func Main(serve func(ctx context.Context, ln net.Listener) error) {
	if os.Getenv("PROBE_CONTENTION") != "" {
		runtime.SetMutexProfileFraction(10)
		runtime.SetBlockProfileRate(int(100 * time.Microsecond))
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	pln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	// The probe's server lives as long as the process.
	go http.Serve(pln, Handler())
	fmt.Printf("addr %s\nprobe %s\n", ln.Addr(), pln.Addr())
	os.Stdout.Sync()
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	if err := serve(ctx, ln); err != nil && ctx.Err() == nil {
		log.Fatal(err)
	}
}
