package main

import (
	"context"
	"time"

	"github.com/fastapi-easy/easy-go/bench/internal/loadkit"
)

// idleResult is the memory one idle WebSocket connection costs a server.
type idleResult struct {
	kind              string
	conns             int
	before, with      int64   // VmRSS before the connections and with them open
	kibPerConn        float64 // (with - before) / conns, in KiB
	goroutinesPerConn float64
}

// idleMemory starts a fresh server, warms it up with a write and ten
// connections opened and closed, then opens cfg.idle connections that
// do nothing and measures what they cost in resident memory.
func idleMemory(ctx context.Context, cfg config, kind string) (idleResult, error) {
	res := idleResult{kind: kind, conns: cfg.idle}
	s, err := start(cfg, kind)
	if err != nil {
		return res, err
	}
	defer s.stop()
	if err := loadkit.NewPoster(s.addr, posterIdle).Post("warm-up"); err != nil {
		return res, err
	}
	url := "ws://" + s.addr + "/ws/items"
	warm, err := dial(ctx, url, 10)
	if err != nil {
		return res, err
	}
	warm.close()
	time.Sleep(500 * time.Millisecond)
	if err := freeMemory(s); err != nil {
		return res, err
	}
	st0, err := s.stats()
	if err != nil {
		return res, err
	}
	if res.before, err = loadkit.RSS(s.cmd.Process.Pid); err != nil {
		return res, err
	}
	f, err := dial(ctx, url, cfg.idle)
	if err != nil {
		return res, err
	}
	defer f.close()
	// The server's side of a connection may still be starting after the
	// client's Dial returns: wait until its goroutines stop changing.
	st1 := st0
	for last, i := uint64(0), 0; i < 50; i++ {
		time.Sleep(200 * time.Millisecond)
		if st1, err = s.stats(); err != nil {
			return res, err
		}
		if st1.Goroutines == last {
			break
		}
		last = st1.Goroutines
	}
	if err := freeMemory(s); err != nil {
		return res, err
	}
	if res.with, err = loadkit.RSS(s.cmd.Process.Pid); err != nil {
		return res, err
	}
	res.kibPerConn = float64(res.with-res.before) / 1024 / float64(cfg.idle)
	res.goroutinesPerConn = float64(st1.Goroutines-st0.Goroutines) / float64(cfg.idle)
	return res, ctx.Err()
}

// freeMemory has the server collect garbage and return what it can to
// the OS, so that RSS counts what it holds.
func freeMemory(s *server) error {
	res, err := probeClient.Get("http://" + s.probe + "/gc")
	if err != nil {
		return err
	}
	return res.Body.Close()
}
