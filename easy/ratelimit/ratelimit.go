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
// proxy's addresses), else the host of the request's RemoteAddr. The
// addresses of one IPv6 /64 network, which one host usually has whole,
// share a bucket.
package ratelimit

import (
	"container/list"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/go-chi/chi/v5/middleware"
	"golang.org/x/time/rate"

	"github.com/fastapi-easy/easy-go/easy"
	"github.com/fastapi-easy/easy-go/internal/clientaddr"
)

// Rate is how many requests a key may make: Requests per Per on average,
// and up to Burst at once (Requests when zero). Keys is how many keys'
// buckets are held at most (DefaultKeys when zero): past it, the bucket
// seen longest ago is forgotten, so a client with many keys (or many
// clients at once) cannot grow the memory a limit holds without bound.
type Rate struct {
	Requests int
	Per      time.Duration
	Burst    int
	Keys     int
}

// DefaultKeys is how many keys' buckets a limit holds when Rate.Keys is
// zero: some 30 MB at most.
const DefaultKeys = 100_000

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

// limiter holds a token bucket per key, at most maxKeys of them. Buckets
// are kept in order of last use, so that the one seen longest ago is the
// one forgotten when a new key needs room, and so that buckets idle long
// enough to be full again are forgotten from the back of the order
// without a walk over all of them.
type limiter struct {
	limit   rate.Limit
	burst   int
	idle    time.Duration // how long a bucket takes to fill up again
	maxKeys int

	mu      sync.Mutex
	buckets map[string]*list.Element // of *bucket
	order   list.List                // most recently seen first
}

type bucket struct {
	key  string
	lim  *rate.Limiter
	seen time.Time
}

func newLimiter(r Rate) *limiter {
	if r.Requests < 1 || r.Per <= 0 || r.Keys < 0 {
		panic(fmt.Sprintf("ratelimit: Rate%+v: want Requests >= 1, Per > 0 and Keys >= 0", r))
	}
	if r.Burst == 0 {
		r.Burst = r.Requests
	}
	if r.Keys == 0 {
		r.Keys = DefaultKeys
	}
	limit := rate.Limit(float64(r.Requests) / r.Per.Seconds())
	return &limiter{
		limit:   limit,
		burst:   r.Burst,
		idle:    time.Duration(float64(r.Burst) / float64(limit) * float64(time.Second)),
		maxKeys: r.Keys,
		buckets: map[string]*list.Element{},
	}
}

// take spends one request of key's budget, or returns the 429.
func (l *limiter) take(key string) error {
	l.mu.Lock()
	now := time.Now() // under the lock, so that the buckets stay in order of use
	b := l.bucket(key, now)
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

// bucket returns key's bucket, marked seen at now, making one if need be.
// It forgets the buckets full again (a new one would be the same), and
// the one seen longest ago when there is no room. l.mu is held.
func (l *limiter) bucket(key string, now time.Time) *bucket {
	for e := l.order.Back(); e != nil && now.Sub(e.Value.(*bucket).seen) > l.idle; e = l.order.Back() {
		l.forget(e)
	}
	if e := l.buckets[key]; e != nil {
		l.order.MoveToFront(e)
		b := e.Value.(*bucket)
		b.seen = now
		return b
	}
	if l.order.Len() >= l.maxKeys {
		l.forget(l.order.Back())
	}
	b := &bucket{key: key, lim: rate.NewLimiter(l.limit, l.burst), seen: now}
	l.buckets[key] = l.order.PushFront(b)
	return b
}

func (l *limiter) forget(e *list.Element) {
	l.order.Remove(e)
	delete(l.buckets, e.Value.(*bucket).key)
}

// clientIP names the client for ByIP: the IP chi's ClientIPFrom*
// middleware set, else the host of the request's RemoteAddr; an IPv6
// address by its /64 network.
func clientIP(r *http.Request) string {
	addr := middleware.GetClientIP(r.Context())
	if addr == "" {
		addr = r.RemoteAddr
	}
	if ip, ok := clientaddr.Parse(addr); ok {
		return clientaddr.Key(ip)
	}
	return addr
}
