// Package problem is easy's error model: the errors an operation returns
// to a client, and how they are written, in FastAPI's shape:
//
//	{"detail": "Item not found"}
//	{"detail": [{"type": "missing", "loc": ["body", "name"], "msg": "Field required", "input": {}}]}
//
// A handler returns an *HTTPError for a client error with a status of its
// own, a *ValidationError for a 422, or an error wrapping ErrUnavailable for
// a 503; any other error is a 500 that shows nothing internal. Package easy
// has shorthands (easy.NotFound, easy.NewHTTPError); every package of easy
// writes its errors through Write, so every error body has one shape.
package problem

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"runtime/debug"
)

// HTTPError is an error with an HTTP status and a detail for the client,
// written as {"detail": Detail}.
type HTTPError struct {
	// Status is the response's HTTP status.
	Status int
	// Detail is the body's "detail": usually a string, any JSON value.
	Detail any
	// Headers are added to the response (WWW-Authenticate, Retry-After, ...).
	Headers http.Header
	// Err is the cause, kept for logs and errors.Is; it is never shown to the client.
	Err error
}

// New returns an HTTPError with the given status and detail.
func New(status int, detail any) *HTTPError {
	return &HTTPError{Status: status, Detail: detail}
}

func (e *HTTPError) Error() string {
	if s, ok := e.Detail.(string); ok {
		return fmt.Sprintf("%d %s", e.Status, s)
	}
	return fmt.Sprintf("%d %v", e.Status, e.Detail)
}

// Unwrap returns the cause.
func (e *HTTPError) Unwrap() error { return e.Err }

// FieldError is one entry of a 422 response, as pydantic reports it.
type FieldError struct {
	// Type names the kind of problem: "missing", "int_parsing",
	// "greater_than_equal", ... (pydantic's error types where one fits).
	Type string `json:"type"`
	// Loc locates the input: "path", "query", "header", "cookie" or "body",
	// then parameter or field names and list indexes.
	Loc []any `json:"loc"`
	// Msg says what is wrong, for a person.
	Msg string `json:"msg"`
	// Input is the value that was refused.
	Input any `json:"input"`
	// Ctx holds the constraint that failed ({"ge": 0}), when there is one.
	Ctx map[string]any `json:"ctx,omitempty"`
}

// ValidationError is a request that failed validation: status 422 with
// every problem found, not only the first, as {"detail": Errors}.
type ValidationError struct {
	Errors []FieldError
}

func (e *ValidationError) Error() string {
	if len(e.Errors) == 0 {
		return "validation failed"
	}
	f := e.Errors[0]
	msg := fmt.Sprintf("validation failed: %v: %s", f.Loc, f.Msg)
	if n := len(e.Errors) - 1; n > 0 {
		msg += fmt.Sprintf(" (and %d more)", n)
	}
	return msg
}

// Add appends a field error.
func (e *ValidationError) Add(typ string, loc []any, msg string, input any) {
	e.Errors = append(e.Errors, FieldError{Type: typ, Loc: loc, Msg: msg, Input: input})
}

// Full reports whether e holds as many errors as a 422 lists, so that
// whoever collects them can stop looking for more.
func (e *ValidationError) Full() bool {
	return len(e.Errors) >= MaxErrors
}

// Err returns e when it holds errors, else nil.
func (e *ValidationError) Err() error {
	if e == nil || len(e.Errors) == 0 {
		return nil
	}
	return e
}

// wire returns the errors as the 422 body lists them: never null, each
// loc a list, as the OpenAPI document promises, at most MaxErrors of
// them, and each input cut as Echo cuts it, whoever built the error.
func (e *ValidationError) wire() []FieldError {
	errs := e.Errors[:min(len(e.Errors), MaxErrors)]
	out := make([]FieldError, len(errs))
	for i, f := range errs {
		if f.Loc == nil {
			f.Loc = []any{}
		}
		f.Input = Echo(f.Input)
		out[i] = f
	}
	return out
}

// Invalid returns a ValidationError with a single entry.
func Invalid(typ string, loc []any, msg string, input any) *ValidationError {
	return &ValidationError{Errors: []FieldError{{Type: typ, Loc: loc, Msg: msg, Input: input}}}
}

// ErrUnavailable marks an error caused by a database or service that
// cannot be reached; it is written as 503.
var ErrUnavailable = errors.New("problem: service unavailable")

// Write writes err to w as a JSON error response. An *HTTPError keeps its
// status and detail, a *ValidationError is a 422, an error wrapping
// ErrUnavailable is a 503, and anything else is logged and written as a
// 500 that shows nothing internal.
func Write(w http.ResponseWriter, r *http.Request, log *slog.Logger, err error) {
	var he *HTTPError
	var ve *ValidationError
	switch {
	case errors.As(err, &ve):
		writeJSON(w, http.StatusUnprocessableEntity, detail{ve.wire()})
	case errors.As(err, &he):
		for k, v := range he.Headers {
			w.Header()[k] = v
		}
		if he.Status >= 500 && he.Err != nil {
			logError(r, log, he.Err)
		}
		writeJSON(w, he.Status, detail{he.Detail})
	case errors.Is(err, ErrUnavailable):
		logError(r, log, err)
		w.Header().Set("Retry-After", "1")
		writeJSON(w, http.StatusServiceUnavailable, detail{"Service Unavailable"})
	default:
		logError(r, log, err)
		writeJSON(w, http.StatusInternalServerError, detail{"Internal Server Error"})
	}
}

// Status returns the HTTP status Write would use for err.
func Status(err error) int {
	var he *HTTPError
	var ve *ValidationError
	switch {
	case errors.As(err, &ve):
		return http.StatusUnprocessableEntity
	case errors.As(err, &he):
		return he.Status
	case errors.Is(err, ErrUnavailable):
		return http.StatusServiceUnavailable
	}
	return http.StatusInternalServerError
}

// Text writes a plain HTTP error with the given status as {"detail": text}.
func Text(w http.ResponseWriter, status int, text string) {
	writeJSON(w, status, detail{text})
}

// Panic logs a recovered panic with its stack and writes a 500.
func Panic(w http.ResponseWriter, r *http.Request, log *slog.Logger, v any) {
	if log == nil {
		log = slog.Default()
	}
	log.ErrorContext(r.Context(), "panic serving request",
		"method", r.Method, "path", r.URL.Path, "panic", fmt.Sprint(v), "stack", string(debug.Stack()))
	writeJSON(w, http.StatusInternalServerError, detail{"Internal Server Error"})
}

type detail struct {
	Detail any `json:"detail"`
}

func logError(r *http.Request, log *slog.Logger, err error) {
	if log == nil {
		log = slog.Default()
	}
	log.ErrorContext(r.Context(), "request failed", "method", r.Method, "path", r.URL.Path, "error", err)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		b = []byte(`{"detail":"Internal Server Error"}`)
		status = http.StatusInternalServerError
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Del("Content-Length")
	w.WriteHeader(status)
	w.Write(b)
}
