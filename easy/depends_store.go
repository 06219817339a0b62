package easy

import (
	"context"
	"errors"
	"net/http"
)

// storeKey is the context key of a request's resolved dependencies.
type storeKey struct{}

// store holds the dependencies resolved for one request, so that each is
// resolved at most once however many others need it. A request resolves
// its dependencies one after another, before its handler, so the store
// needs no lock; the handler and the goroutines it starts only read it.
type store struct {
	results  []result
	releases []release
}

type result struct {
	d   *dependency
	v   any
	err error
}

type release struct {
	fn  Release
	ctx context.Context
}

// withStore returns r with a store in its context, the one it has if any.
func withStore(r *http.Request) (*http.Request, *store) {
	if st, ok := r.Context().Value(storeKey{}).(*store); ok {
		return r, st
	}
	st := &store{}
	return r.WithContext(context.WithValue(r.Context(), storeKey{}, st)), st
}

func (st *store) get(d *dependency) (result, bool) {
	for _, res := range st.results {
		if res.d == d {
			return res, true
		}
	}
	return result{}, false
}

// resolve returns d's value for r, resolving what d needs first. A
// failure is kept too: a dependency that failed is not tried again.
func (st *store) resolve(r *http.Request, d *dependency) (any, error) {
	if res, ok := st.get(d); ok {
		return res.v, res.err
	}
	for _, n := range d.needs {
		if _, err := st.resolve(r, n); err != nil {
			st.results = append(st.results, result{d: d, err: err})
			return nil, err
		}
	}
	v, rel, err := d.resolve(r)
	st.results = append(st.results, result{d: d, v: v, err: err})
	if rel != nil && err == nil {
		st.releases = append(st.releases, release{rel, r.Context()})
	}
	return v, err
}

// finish runs the releases from index from on, the last first, and
// forgets them; it returns their errors joined.
func (st *store) finish(_ context.Context, from int, failed bool) error {
	var errs []error
	for i := len(st.releases) - 1; i >= from; i-- {
		rel := st.releases[i]
		if err := rel.fn(rel.ctx, failed); err != nil {
			errs = append(errs, err)
			failed = true
		}
	}
	st.releases = st.releases[:from]
	return errors.Join(errs...)
}

// heldResponse keeps a response until the releases of the request's
// dependencies have run.
type heldResponse struct {
	header http.Header
	code   int
	body   []byte
}

func (h *heldResponse) Header() http.Header { return h.header }

func (h *heldResponse) WriteHeader(code int) {
	if h.code == 0 {
		h.code = code
	}
}

func (h *heldResponse) Write(b []byte) (int, error) {
	if h.code == 0 {
		h.code = http.StatusOK
	}
	h.body = append(h.body, b...)
	return len(b), nil
}

func (h *heldResponse) status() int {
	if h.code == 0 {
		return http.StatusOK
	}
	return h.code
}

// send writes the held response to w.
func (h *heldResponse) send(w http.ResponseWriter) {
	dst := w.Header()
	for k, v := range h.header {
		dst[k] = v
	}
	w.WriteHeader(h.status())
	w.Write(h.body)
}
