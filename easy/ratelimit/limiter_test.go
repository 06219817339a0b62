package ratelimit

import (
	"strconv"
	"testing"
	"time"
)

// However many keys come, the limiter holds at most Keys buckets.
func TestBucketsBounded(t *testing.T) {
	l := newLimiter(Rate{Requests: 1, Per: time.Hour, Keys: 100})
	for i := range 10_000 {
		_ = l.take(strconv.Itoa(i))
	}
	if n := len(l.buckets); n != 100 {
		t.Errorf("%d buckets, want 100", n)
	}
	if n := l.order.Len(); n != 100 {
		t.Errorf("%d buckets in the order, want 100", n)
	}
}
