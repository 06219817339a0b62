package loadkit

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"time"
)

// DialAll runs dial for subscribers 0 to n-1, 32 at a time, each with 30
// seconds to connect, and returns the error of the lowest-numbered one
// that failed. hc does not keep connections alive, so each subscriber
// has a connection of its own.
func DialAll(ctx context.Context, n int, dial func(ctx context.Context, hc *http.Client, i int) error) error {
	hc := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	errs := make([]error, n)
	sem := make(chan struct{}, 32)
	var dialers sync.WaitGroup
	for i := range n {
		sem <- struct{}{}
		dialers.Add(1)
		// Each dialer ends with its dial.
		go func() {
			defer func() { <-sem; dialers.Done() }()
			dctx, cancel := context.WithTimeout(ctx, 30*time.Second)
			defer cancel()
			if err := dial(dctx, hc, i); err != nil {
				errs[i] = fmt.Errorf("dial subscriber %d: %w", i, err)
			}
		}()
	}
	dialers.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}
