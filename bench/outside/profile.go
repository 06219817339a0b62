package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// profile runs each server, one after the other, under cfg.profileAt for
// cfg.profileDur plus a few seconds, and saves into cfg.profileDir, as
// KIND-NAME: the server's binary (for go tool pprof), a CPU profile
// (cpu.pprof), the allocations before and after it (allocs0.pprof,
// allocs1.pprof: compare with -base), mutex and block profiles, a
// goroutine dump, and a 2-second execution trace (trace.out).
func profile(ctx context.Context, cfg config) error {
	if err := os.MkdirAll(cfg.profileDir, 0o755); err != nil {
		return err
	}
	cfg.fanDur = cfg.profileDur + 6*time.Second // cfg is profile's copy
	fmt.Fprintf(cfg.out, "\n== profiles under %s for %s, into %s\n", cfg.profileAt, cfg.profileDur, cfg.profileDir)
	for _, kind := range kinds {
		// Contention profiles cost a little; only this run turns them on.
		s, err := start(cfg, kind, "PROBE_CONTENTION=1")
		if err != nil {
			return err
		}
		if err := copyFile(binary(cfg, kind), filepath.Join(cfg.profileDir, kind+"server")); err != nil {
			s.stop()
			return err
		}
		fetched := make(chan error, 1)
		// The fetcher ends after its last fetch, within the fan-out run.
		go func() {
			time.Sleep(2 * time.Second) // the subscribers connect, the warm-up write
			name := func(n string) string { return filepath.Join(cfg.profileDir, kind+"-"+n) }
			var err error
			for _, f := range []struct{ path, file string }{
				{"/debug/pprof/allocs", "allocs0.pprof"},
				{fmt.Sprintf("/debug/pprof/profile?seconds=%d", int(cfg.profileDur.Seconds())), "cpu.pprof"},
				{"/debug/pprof/allocs", "allocs1.pprof"},
				{"/debug/pprof/mutex", "mutex.pprof"},
				{"/debug/pprof/block", "block.pprof"},
				{"/debug/pprof/goroutine?debug=1", "goroutines.txt"},
				{"/debug/pprof/trace?seconds=2", "trace.out"},
			} {
				if err == nil {
					err = s.fetch(f.path, name(f.file))
				}
			}
			fetched <- err
		}()
		f, err := fanOut(ctx, cfg, s, cfg.profileAt.subs, cfg.profileAt.rate)
		ferr := <-fetched
		s.stop()
		if err != nil {
			return fmt.Errorf("profile %s: %w", kind, err)
		}
		if ferr != nil {
			return fmt.Errorf("profile %s: %w", kind, ferr)
		}
		printFan(cfg.out, fmt.Sprintf("profiled  %-9s", cfg.profileAt), f)
	}
	fmt.Fprintf(cfg.out, "go tool pprof -top %s %s\n", filepath.Join(cfg.profileDir, "easyserver"), filepath.Join(cfg.profileDir, "easy-cpu.pprof"))
	return nil
}

func copyFile(from, to string) error {
	b, err := os.ReadFile(from)
	if err != nil {
		return err
	}
	return os.WriteFile(to, b, 0o755)
}
