package observe

import (
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/fastapi-easy/easy-go/internal/testkit"
)

// Requests recorded at once, on routes and statuses seen for the first
// time, each land in their own series, counted once.
func TestSeriesMadeAtOnceCountEveryRequest(t *testing.T) {
	m := NewMetrics()
	const workers, routes = 8, 50
	statuses := []int{200, 201, 404, 422, 500}
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range routes * len(statuses) {
				route := "/r" + strconv.Itoa((i+w)%routes) + "/{id}"
				method := methodLabel(w % 3)
				m.begin(method)
				m.end(method, route, statuses[i/routes], time.Millisecond, 10)
			}
		}()
	}
	wg.Wait()
	families, err := m.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	served := testkit.Samples(families, "http_server_request_duration_seconds")
	var count uint64
	for _, s := range served {
		count += uint64(s.Value)
	}
	for _, s := range testkit.Samples(families, "http_server_active_requests") {
		if s.Value != 0 {
			t.Errorf("in flight %v: %v, want 0", s.Labels, s.Value)
		}
	}
	if want := uint64(workers * routes * len(statuses)); count != want {
		t.Errorf("%d requests counted, want %d", count, want)
	}
	if want := 3 * routes * len(statuses); len(served) != want {
		t.Errorf("%d series, want %d (three methods, %d routes, %d statuses)", len(served), want, routes, len(statuses))
	}
}
