// Package ratelimit limits how often a client may call an API, per client
// IP or per principal, as an easy.Dependency: list it in easy.Uses (or
// easy.Uses, or crud.Uses) of the operations it covers, which then
// document the 429 it answers with. Each key has a token bucket of
// golang.org/x/time/rate; a request over the limit is a 429
// {"detail":"Too Many Requests"} with Retry-After, the seconds until the
// next request is allowed, and uses none of the key's budget.
//
//	limit := ratelimit.ByIP(ratelimit.Rate{Requests: 10, Per: time.Second, Burst: 20})
//	easy.Post(app, "/login", login, easy.Uses(limit))
//
// The client IP is the one chi's ClientIPFrom* middleware found (behind a
// proxy, add middleware.ClientIPFromHeader or ClientIPFromXFF with the
// proxy's addresses), else the host of the request's RemoteAddr.
package ratelimit

import (
	"fmt"
	"math"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/go-chi/chi/v5/middleware"
	"golang.org/x/time/rate"

	"github.com/fastapi-easy/easy-go/easy"
)

// Rate is how many requests a key may make: Requests per Per on average,
// and up to Burst at once (Requests when zero).
type Rate struct {
	Requests int
	Per      time.Duration
	Burst    int
}

// ByIP limits the requests of each client IP address.
func ByIP(r Rate) easy.Dependency[struct{}] {
	l := newLimiter(r)
	return easy.DependsRequest(func(req *http.Request) (struct{}, error) {
		return struct{}{}, l.take(clientIP(req))
	}, doc)
}

// By limits the requests of each principal that dep resolves to, by the
// key it gives: the user's ID, say, so that one user's burst does not
// slow another down. dep is resolved first; its error is the response.
func By[T any](dep easy.Dependency[T], key func(principal T) string, r Rate) easy.Dependency[struct{}] {
	l := newLimiter(r)
	return easy.DependsRequest(func(req *http.Request) (struct{}, error) {
		return struct{}{}, l.take(key(dep.From(req.Context())))
	}, doc, dep)
}

var doc = easy.Doc{Errors: []int{http.StatusTooManyRequests}}

// limiter holds a token bucket per key. Buckets that have been full for a
// while are forgotten, on a sweep at most once per sweepEvery, so memory
// follows the number of active clients.
type limiter struct {
	limit rate.Limit
	burst int
	idle  time.Duration // how long a bucket takes to fill up again

	mu        sync.Mutex
	buckets   map[string]*bucket
	lastSweep time.Time
}

type bucket struct {
	lim  *rate.Limiter
	seen time.Time
}

const sweepEvery = time.Minute

func newLimiter(r Rate) *limiter {
	if r.Requests < 1 || r.Per <= 0 {
		panic(fmt.Sprintf("ratelimit: Rate%+v: want Requests >= 1 and Per > 0", r))
	}
	if r.Burst == 0 {
		r.Burst = r.Requests
	}
	limit := rate.Limit(float64(r.Requests) / r.Per.Seconds())
	return &limiter{
		limit:   limit,
		burst:   r.Burst,
		idle:    time.Duration(float64(r.Burst) / float64(limit) * float64(time.Second)),
		buckets: map[string]*bucket{},
	}
}

// take spends one request of key's budget, or returns the 429.
func (l *limiter) take(key string) error {
	now := time.Now()
	l.mu.Lock()
	if now.Sub(l.lastSweep) > sweepEvery {
		for k, b := range l.buckets {
			if now.Sub(b.seen) > l.idle {
				delete(l.buckets, k)
			}
		}
		l.lastSweep = now
	}
	b := l.buckets[key]
	if b == nil {
		b = &bucket{lim: rate.NewLimiter(l.limit, l.burst)}
		l.buckets[key] = b
	}
	b.seen = now
	res := b.lim.ReserveN(now, 1)
	wait := res.DelayFrom(now)
	if wait > 0 {
		res.CancelAt(now)
	}
	l.mu.Unlock()
	if wait == 0 {
		return nil
	}
	e := easy.NewHTTPError(http.StatusTooManyRequests, "Too Many Requests")
	e.Headers = http.Header{"Retry-After": {strconv.Itoa(int(math.Ceil(wait.Seconds())))}}
	return e
}

// clientIP is the IP chi's ClientIPFrom* middleware set, else the host
// of the request's RemoteAddr.
func clientIP(r *http.Request) string {
	if ip := middleware.GetClientIP(r.Context()); ip != "" {
		return ip
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}
