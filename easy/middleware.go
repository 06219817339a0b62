package easy

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"net/http"
	"os"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/go-chi/chi/v5/middleware"

	"github.com/fastapi-easy/easy-go/easy/observe"
	"github.com/fastapi-easy/easy-go/easy/problem"
)

// requestID gives every request an ID and returns it in the X-Request-Id
// header: the client's own when it sends a plausible one (see
// clientRequestID), else prefix and a counter of the App's. It is kept in
// the request's context where chi's middleware.GetReqID finds it.
func requestID(prefix string) func(http.Handler) http.Handler {
	header := http.CanonicalHeaderKey(middleware.RequestIDHeader)
	var n atomic.Uint64
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			id := r.Header.Get(header)
			if !clientRequestID(id) {
				var buf [64]byte
				id = string(strconv.AppendUint(append(buf[:0], prefix...), n.Add(1), 10))
			}
			if rc, _ := r.Context().Value(requestContextKey{}).(*requestContext); rc != nil {
				rc.id, rc.idHdr[0] = id, id // in the context the App made for the request: no copy of it
				w.Header()[header] = rc.idHdr[:]
				next.ServeHTTP(w, r)
				return
			}
			w.Header()[header] = []string{id}
			next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), middleware.RequestIDKey, id)))
		})
	}
}

// clientRequestID reports whether id, sent by a client, is taken as the
// request's ID: at most 128 letters, digits and "-_.:/". Anything else is
// replaced, so that a client cannot fill the logs with what it likes.
func clientRequestID(id string) bool {
	if id == "" || len(id) > 128 {
		return false
	}
	for _, c := range []byte(id) {
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case c == '-', c == '_', c == '.', c == ':', c == '/':
		default:
			return false
		}
	}
	return true
}

// newIDPrefix returns "host/random-", which sets the request IDs of one
// App apart from those of another process or App.
func newIDPrefix() string {
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = "localhost"
	}
	var b [5]byte
	rand.Read(b[:])
	return host + "/" + hex.EncodeToString(b[:]) + "-"
}

// recoverer turns a panic into one JSON 500, logged with its stack; the
// server goes on.
func recoverer(log *slog.Logger) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			defer func() {
				v := recover()
				if v == nil {
					return
				}
				if v == http.ErrAbortHandler {
					panic(v)
				}
				problem.Panic(w, r, log, v)
			}()
			next.ServeHTTP(w, r)
		})
	}
}

// requestLogger logs each request once it is answered.
func requestLogger(log *slog.Logger) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if !log.Enabled(r.Context(), slog.LevelInfo) {
				next.ServeHTTP(w, r)
				return
			}
			start := time.Now()
			ww := observe.Recorder(w, r)
			defer func() {
				log.LogAttrs(r.Context(), slog.LevelInfo, "request",
					slog.String("method", r.Method),
					slog.String("path", r.URL.Path),
					slog.Int("status", observe.Status(ww)),
					slog.Int("bytes", ww.BytesWritten()),
					slog.Duration("duration", time.Since(start)),
					slog.String("request_id", middleware.GetReqID(r.Context())),
				)
			}()
			next.ServeHTTP(ww, r)
		})
	}
}

// bodyLimit answers 413 to a body declared larger than n and stops reading
// one that turns out larger.
func bodyLimit(n int64) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.ContentLength > n {
				problem.Text(w, http.StatusRequestEntityTooLarge, "Request body is too large")
				return
			}
			if r.Body != nil && r.Body != http.NoBody {
				r.Body = http.MaxBytesReader(w, r.Body, n)
			}
			next.ServeHTTP(w, r)
		})
	}
}
