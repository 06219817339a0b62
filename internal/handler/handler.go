// Package handler turns a typed function into an http.Handler: it binds
// and validates the input, calls the function, and writes its result or
// its error. The typed operations of package easy and the CRUD routes of
// easy/crud are both built on it.
package handler

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"reflect"
	"strings"

	"github.com/go-chi/chi/v5"

	"github.com/fastapi-easy/easy-go/easy/problem"
	"github.com/fastapi-easy/easy-go/internal/binding"
)

// Config adjusts a typed handler.
type Config struct {
	// Status is the success status; 200 when zero.
	Status int
	// Logger receives the errors written as 500; slog.Default when nil.
	Logger *slog.Logger
	// Body adjusts how the JSON body is decoded.
	Body binding.ObjectOptions
}

// Typed returns the handler of fn together with the binding of its input,
// which says what the operation takes (for its documentation).
func Typed[I, O any](fn func(context.Context, *I) (*O, error), cfg Config) (http.Handler, *binding.Plan, error) {
	plan, err := binding.Compile(reflect.TypeFor[I](), binding.Options{ObjectOptions: cfg.Body, PathValue: PathValue})
	if err != nil {
		return nil, nil, err
	}
	out, err := NewWriter[O](cfg.Status)
	if err != nil {
		return nil, nil, err
	}
	log := cfg.Logger
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		in := new(I)
		if err := plan.Bind(r, in); err != nil {
			problem.Write(w, r, log, err)
			return
		}
		res, err := fn(r.Context(), in)
		if err != nil {
			problem.Write(w, r, log, err)
			return
		}
		out.Write(w, r, log, res)
	})
	return h, plan, nil
}

// PathValue returns a path parameter of a request routed by chi,
// unescaped: chi routes on the escaped path when there is one (a %2F in a
// segment, say), and then leaves its parameters escaped.
func PathValue(r *http.Request, name string) string {
	v := chi.URLParam(r, name)
	if r.URL.RawPath != "" && strings.IndexByte(v, '%') >= 0 {
		if u, err := url.PathUnescape(v); err == nil {
			return u
		}
	}
	return v
}

// Writer writes a typed result: the fields tagged header as response
// headers, the value as the JSON body, or no body for an empty struct.
type Writer[O any] struct {
	status  int
	headers []outHeader
	noBody  bool
}

type outHeader struct {
	name  string
	index []int
}

// NewWriter prepares the writing of results of type O with the given
// success status (200 when zero).
func NewWriter[O any](status int) (*Writer[O], error) {
	if status == 0 {
		status = http.StatusOK
	}
	w := &Writer[O]{status: status}
	t := reflect.TypeFor[O]()
	if t.Kind() == reflect.Struct {
		w.noBody = t.NumField() == 0
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			name, ok := f.Tag.Lookup("header")
			if !ok || !f.IsExported() {
				continue
			}
			if f.Type.Kind() != reflect.String {
				return nil, fmt.Errorf("handler: response header field %s of %s must be a string", f.Name, t)
			}
			w.headers = append(w.headers, outHeader{name: name, index: f.Index})
		}
	}
	if w.status == http.StatusNoContent {
		w.noBody = true
	}
	return w, nil
}

// Write writes res.
func (wr *Writer[O]) Write(w http.ResponseWriter, r *http.Request, log *slog.Logger, res *O) {
	if res != nil && len(wr.headers) > 0 {
		v := reflect.ValueOf(res).Elem()
		for _, h := range wr.headers {
			if s := v.FieldByIndex(h.index).String(); s != "" {
				w.Header().Set(h.name, s)
			}
		}
	}
	if wr.noBody {
		w.WriteHeader(wr.status)
		return
	}
	b, err := json.Marshal(res)
	if err != nil {
		problem.Write(w, r, log, fmt.Errorf("encode response: %w", err))
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(wr.status)
	w.Write(b)
}
