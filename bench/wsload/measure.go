package main

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/fastapi-easy/easy-go/bench/internal/loadkit"
)

// fleetURL is where the subscribers of kind connect: easy-sse reads the
// easy server's SSE endpoint, easy-batch asks for batched frames, the
// others follow its WebSocket endpoint.
// serverKind is the server a kind of client measures: easy's clients that
// ask for batches (easy-batch) or read the event stream (easy-sse) do so
// on the easy server, as the baseline's SSE clients on the baseline.
func serverKind(kind string) string {
	if kind == "easy-batch" {
		return "easy"
	}
	return strings.TrimSuffix(kind, "-sse")
}

func fleetURL(kind, addr string) string {
	switch {
	case strings.HasSuffix(kind, "-sse"):
		return "http://" + addr + "/sse/items"
	case kind == "easy-batch":
		return "ws://" + addr + "/ws/items?batch=1"
	}
	return "ws://" + addr + "/ws/items"
}

// deliveryResult is what b or c measured for one server.
type deliveryResult struct {
	kind       string
	writes     int     // measured writes, the warm-up not counted
	postErrors int     // POSTs that failed or did not answer 201
	rate       float64 // writes a second achieved (c)
	// events received a second by all subscribers (c), from the first
	// write until the last event arrived or the wait for it ended
	deliveredRate float64
	serverCPU     float64 // processors the server used while measured
	loadCPU       float64 // processors wsload used meanwhile
	acct          account // over every event, the warm-up included
	lat           latencies
}

// startFollowed starts a server of kind, connects cfg.clients subscribers
// that record every event's latency from epoch, and makes the poster of
// its writes. Stop the server when done.
func startFollowed(ctx context.Context, cfg config, kind string) (srv *child, f *fleet, p *loadkit.Poster, epoch time.Time, err error) {
	srv, err = startChild(cfg, kind, 0)
	if err != nil {
		return nil, nil, nil, epoch, err
	}
	epoch = time.Now()
	f, err = dialFleet(ctx, fleetURL(kind, srv.addr), cfg.clients, epoch, true, cfg.fault)
	if err != nil {
		srv.stop()
		return nil, nil, nil, epoch, err
	}
	return srv, f, loadkit.NewPoster(srv.addr, posterIdle), epoch, nil
}

// measureOneWrite runs b: writes one at a time, each waited for until
// every subscriber has it. Write 0 warms up and is not measured.
func measureOneWrite(ctx context.Context, cfg config, kind string) (deliveryResult, error) {
	res := deliveryResult{kind: kind, writes: cfg.writes}
	srv, f, p, epoch, err := startFollowed(ctx, cfg, kind)
	if err != nil {
		return res, err
	}
	defer srv.stop()
	sent := make([]int64, cfg.writes+1)
	var cpu cpuMeter
	for i := range sent {
		if i == 1 {
			cpu = startCPU(srv)
		}
		if ctx.Err() != nil {
			break
		}
		sent[i] = time.Since(epoch).Nanoseconds()
		if err := p.Post(writeName(i)); err != nil {
			res.postErrors++
			continue
		}
		// A lost event makes this wait time out; the account shows it.
		f.await(int64(cfg.clients*(i+1)), 5*time.Second)
		time.Sleep(10 * time.Millisecond) // let the server go idle again
	}
	res.serverCPU, res.loadCPU = cpu.stop()
	f.close()
	res.acct, res.lat = settle(f, sent, 1)
	return res, ctx.Err()
}

// measureSteady runs c: after a warm-up write (number 0) that every
// subscriber must have, cfg.rate writes a second for cfg.dur, handed out
// on schedule to 16 posters. A server that answers slower than that falls
// behind the schedule, which the achieved writes/s shows; latency counts
// from when a POST is sent.
func measureSteady(ctx context.Context, cfg config, kind string) (deliveryResult, error) {
	n := int(cfg.rate * cfg.dur.Seconds())
	res := deliveryResult{kind: kind, writes: n}
	srv, f, p, epoch, err := startFollowed(ctx, cfg, kind)
	if err != nil {
		return res, err
	}
	defer srv.stop()
	sent := make([]int64, n+1)
	sent[0] = time.Since(epoch).Nanoseconds()
	if err := p.Post(writeName(0)); err != nil {
		f.close()
		return res, fmt.Errorf("warm-up write: %w", err)
	}
	if !f.await(int64(cfg.clients), 10*time.Second) {
		f.close()
		return res, errors.New("the warm-up write did not reach every subscriber in 10s")
	}

	jobs := make(chan int, n)
	var mu sync.Mutex
	var posters sync.WaitGroup
	for range 16 {
		posters.Add(1)
		// The posters end when jobs is closed and drained.
		go func() {
			defer posters.Done()
			for i := range jobs {
				sent[i] = time.Since(epoch).Nanoseconds()
				if err := p.Post(writeName(i)); err != nil {
					mu.Lock()
					res.postErrors++
					mu.Unlock()
				}
			}
		}()
	}
	interval := time.Duration(float64(time.Second) / cfg.rate)
	cpu := startCPU(srv)
	start := time.Now()
	for i := 1; i <= n && ctx.Err() == nil; i++ {
		time.Sleep(time.Until(start.Add(time.Duration(i-1) * interval)))
		jobs <- i
	}
	close(jobs)
	posters.Wait()
	res.rate = float64(n) / time.Since(start).Seconds()
	f.await(int64(cfg.clients*(n+1)), 15*time.Second)
	res.deliveredRate = float64(f.got.Load()-int64(cfg.clients)) / time.Since(start).Seconds()
	res.serverCPU, res.loadCPU = cpu.stop()
	f.close()
	res.acct, res.lat = settle(f, sent, 1)
	return res, ctx.Err()
}

// idleResult is what d measured for one server.
type idleResult struct {
	kind                     string
	conns                    int
	rssBefore, rss, rssAfter int64        // before, with the connections open, and after a GC
	before, with, afterGC    runtimeStats // the same moments
	profile                  string
}

// measureIdle runs d on a fresh server: warmed up by one write and ten
// connections opened and closed, then measured before and with cfg.idle
// idle connections.
func measureIdle(ctx context.Context, cfg config, kind string) (idleResult, error) {
	res := idleResult{kind: kind, conns: cfg.idle}
	memRate := 0
	if cfg.heapDir != "" {
		memRate = 4096
	}
	srv, err := startChild(cfg, kind, memRate)
	if err != nil {
		return res, err
	}
	defer srv.stop()
	url := fleetURL(kind, srv.addr)
	if err := loadkit.NewPoster(srv.addr, posterIdle).Post(writeName(0)); err != nil {
		return res, err
	}
	warm, err := dialFleet(ctx, url, 10, time.Now(), false, fault{})
	if err != nil {
		return res, err
	}
	warm.close()
	time.Sleep(500 * time.Millisecond)
	if res.before, err = srv.stats(); err != nil {
		return res, err
	}
	if res.rssBefore, err = loadkit.RSS(srv.cmd.Process.Pid); err != nil {
		return res, err
	}

	f, err := dialFleet(ctx, url, cfg.idle, time.Now(), false, fault{})
	if err != nil {
		return res, err
	}
	defer f.close()
	// The server's side of a connection may still be starting after the
	// client's Dial returns: wait until its goroutines stop changing.
	for last, i := -1, 0; i < 50; i++ {
		time.Sleep(200 * time.Millisecond)
		if res.with, err = srv.stats(); err != nil {
			return res, err
		}
		if res.with.Goroutines == last {
			break
		}
		last = res.with.Goroutines
	}
	if res.rss, err = loadkit.RSS(srv.cmd.Process.Pid); err != nil {
		return res, err
	}
	if _, err := srv.do("gc"); err != nil {
		return res, err
	}
	if res.rssAfter, err = loadkit.RSS(srv.cmd.Process.Pid); err != nil {
		return res, err
	}
	if res.afterGC, err = srv.stats(); err != nil {
		return res, err
	}
	if cfg.heapDir != "" {
		res.profile = filepath.Join(cfg.heapDir, "heap-"+kind+".pprof")
		if _, err := srv.do("heap " + res.profile); err != nil {
			return res, err
		}
	}
	return res, ctx.Err()
}
