package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/coder/websocket"
)

// counts tallies what the abusers were answered: HTTP statuses, close
// codes, and how long slow bodies were held.
type counts struct {
	mu      sync.Mutex
	answers map[string]int
	held    []time.Duration // how long each slow body was held open
}

func newCounts() *counts { return &counts{answers: map[string]int{}} }

func (c *counts) add(what string) {
	c.mu.Lock()
	c.answers[what]++
	c.mu.Unlock()
}

func (c *counts) hold(d time.Duration) {
	c.mu.Lock()
	c.held = append(c.held, d)
	c.mu.Unlock()
}

// serverErrors is how many abusive requests got a 5xx.
func (c *counts) serverErrors() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for k, v := range c.answers {
		if strings.Contains(k, " 5") {
			n += v
		}
	}
	return n
}

func (c *counts) String() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	keys := make([]string, 0, len(c.answers))
	for k := range c.answers {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var b strings.Builder
	for _, k := range keys {
		fmt.Fprintf(&b, "%s ×%d; ", k, c.answers[k])
	}
	if len(c.held) > 0 {
		slices.Sort(c.held)
		fmt.Fprintf(&b, "slow bodies held at most %v", c.held[len(c.held)-1].Round(time.Second))
	}
	return b.String()
}

// abuse starts every abuser; they stop when ctx ends, and the channel
// closes once all have.
func abuse(ctx context.Context, addr string, cfg config, c *counts) <-chan struct{} {
	var wg sync.WaitGroup
	spawn := func(n int, fn func(context.Context, string, *counts)) {
		for range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for ctx.Err() == nil {
					fn(ctx, addr, c)
				}
			}()
		}
	}
	spawn(cfg.floods, subscribeFlood)
	spawn(cfg.slow, slowBody)
	spawn(cfg.queries, hugeQuery)
	spawn(cfg.frames, bigFrame)
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	return done
}

// subscribeFlood connects to /ws/items, sends subscribe 19 times a second
// (under the default message rate) and never reads, until the server
// closes the connection or ctx ends.
func subscribeFlood(ctx context.Context, addr string, c *counts) {
	conn, res, err := websocket.Dial(ctx, "ws://"+addr+"/ws/items", nil)
	if err != nil {
		c.add(refusal("flood dial", res, err))
		pause(ctx)
		return
	}
	defer conn.CloseNow()
	tick := time.NewTicker(time.Second / 19)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		wctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		err := conn.Write(wctx, websocket.MessageText, []byte(`{"type":"subscribe"}`))
		cancel()
		if err != nil {
			if ctx.Err() == nil {
				c.add(fmt.Sprintf("flood closed %d", websocket.CloseStatus(closeErr(conn, err))))
			}
			return
		}
	}
}

// closeErr reads what the server said when it closed conn: a write after
// the close fails without the status, a read returns it.
func closeErr(conn *websocket.Conn, werr error) error {
	rctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	for {
		if _, _, err := conn.Read(rctx); err != nil {
			if websocket.CloseStatus(err) != -1 {
				return err
			}
			return werr
		}
	}
}

// slowBody declares a body of a megabyte and sends it a byte a second,
// until the server gives up on it or ctx ends.
func slowBody(ctx context.Context, addr string, c *counts) {
	conn, err := (&net.Dialer{}).DialContext(ctx, "tcp", addr)
	if err != nil {
		c.add("slow dial error")
		pause(ctx)
		return
	}
	defer conn.Close()
	start := time.Now()
	fmt.Fprintf(conn, "POST /items HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\nContent-Length: 1000000\r\n\r\n{", addr)
	closed := make(chan struct{})
	go func() {
		// The server's answer, if any, or the close.
		b, _ := io.ReadAll(conn)
		status := "no answer"
		if f := bytes.Fields(b); len(f) > 1 {
			status = string(f[1])
		}
		c.add("slow body " + status)
		close(closed)
	}()
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-closed:
			c.hold(time.Since(start))
			return
		case <-tick.C:
			if _, err := conn.Write([]byte(" ")); err != nil {
				<-closed
				c.hold(time.Since(start))
				return
			}
		}
	}
}

// hugeQueries are a query of 1,001 parameters and one of 1,000
// conditions, made once: the load generator shares the server's cores,
// and what it spends is not the server's.
var hugeQueries = []string{strings.Repeat("price__gte=0&", 1000) + "limit=1", names()}

// bigMessage is the 1 MiB a frame abuser sends, made once.
var bigMessage = bytes.Repeat([]byte("x"), 1<<20)

// hugeQuery lists items with 1,001 parameters, then with 1,000
// conditions.
func hugeQuery(ctx context.Context, addr string, c *counts) {
	for _, q := range hugeQueries {
		req, _ := http.NewRequestWithContext(ctx, "GET", "http://"+addr+"/items?"+q, nil)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			if ctx.Err() == nil {
				c.add("query error")
			}
			return
		}
		io.Copy(io.Discard, res.Body)
		res.Body.Close()
		c.add(fmt.Sprintf("query %d", res.StatusCode))
	}
}

func names() string {
	var b strings.Builder
	for i := range 1000 {
		fmt.Fprintf(&b, "name__ne=a%d&", i)
	}
	return strings.TrimSuffix(b.String(), "&")
}

// bigFrame sends a 1 MiB message, past the default read limit.
func bigFrame(ctx context.Context, addr string, c *counts) {
	conn, res, err := websocket.Dial(ctx, "ws://"+addr+"/ws/items", nil)
	if err != nil {
		c.add(refusal("frame dial", res, err))
		pause(ctx)
		return
	}
	defer conn.CloseNow()
	wctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	err = closeErr(conn, conn.Write(wctx, websocket.MessageText, bigMessage))
	if ctx.Err() == nil {
		c.add(fmt.Sprintf("frame closed %d", websocket.CloseStatus(err)))
	}
}

func refusal(what string, res *http.Response, err error) string {
	if res != nil {
		return fmt.Sprintf("%s %d", what, res.StatusCode)
	}
	return what + " error"
}

func pause(ctx context.Context) {
	select {
	case <-ctx.Done():
	case <-time.After(200 * time.Millisecond):
	}
}
