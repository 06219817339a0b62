package easy

import (
	"fmt"
	"net/http"

	"github.com/fastapi-easy/easy-go/internal/problem"
)

// HTTPError is an error with an HTTP status and a detail for the client.
// Return one from a handler to answer with that status and
// {"detail": detail}; any other error is a 500 that shows nothing internal.
type HTTPError = problem.HTTPError

// ValidationError is a 422: every problem found with a request, in
// FastAPI's shape.
type ValidationError = problem.ValidationError

// FieldError is one entry of a ValidationError.
type FieldError = problem.FieldError

// ErrUnavailable marks an error that a database or service could not be
// reached; wrap it (fmt.Errorf("...: %w", easy.ErrUnavailable)) to answer 503.
var ErrUnavailable = problem.ErrUnavailable

// NewHTTPError returns an HTTPError with status and detail, which is
// usually a string but may be any JSON value.
func NewHTTPError(status int, detail any) *HTTPError {
	return problem.New(status, detail)
}

// NotFound returns a 404 HTTPError. With no arguments the detail is "Not
// Found"; otherwise the arguments are formatted with fmt.Sprintf.
func NotFound(format ...any) *HTTPError { return statusError(http.StatusNotFound, format) }

// BadRequest returns a 400 HTTPError; see NotFound for the detail.
func BadRequest(format ...any) *HTTPError { return statusError(http.StatusBadRequest, format) }

// Unauthorized returns a 401 HTTPError; see NotFound for the detail.
func Unauthorized(format ...any) *HTTPError { return statusError(http.StatusUnauthorized, format) }

// Forbidden returns a 403 HTTPError; see NotFound for the detail.
func Forbidden(format ...any) *HTTPError { return statusError(http.StatusForbidden, format) }

// Conflict returns a 409 HTTPError; see NotFound for the detail.
func Conflict(format ...any) *HTTPError { return statusError(http.StatusConflict, format) }

func statusError(status int, format []any) *HTTPError {
	if len(format) == 0 {
		return problem.New(status, http.StatusText(status))
	}
	f, ok := format[0].(string)
	if !ok {
		return problem.New(status, fmt.Sprint(format...))
	}
	return problem.New(status, fmt.Sprintf(f, format[1:]...))
}
