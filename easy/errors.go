package easy

import (
	"fmt"
	"net/http"

	"github.com/fastapi-easy/easy-go/easy/problem"
)

// The error model (HTTPError, ValidationError, FieldError, ErrUnavailable)
// is package easy/problem, which every package of easy writes its errors
// with. These are its shorthands for handlers.

// NewHTTPError returns a *problem.HTTPError with status and detail, which
// is usually a string but may be any JSON value.
func NewHTTPError(status int, detail any) *problem.HTTPError {
	return problem.New(status, detail)
}

// NotFound returns a 404 *problem.HTTPError whose detail is the formatted
// message: easy.NotFound("Item %d not found", id).
func NotFound(format string, args ...any) *problem.HTTPError {
	return statusError(http.StatusNotFound, format, args)
}

// BadRequest returns a 400 *problem.HTTPError; see NotFound.
func BadRequest(format string, args ...any) *problem.HTTPError {
	return statusError(http.StatusBadRequest, format, args)
}

// Unauthorized returns a 401 *problem.HTTPError; see NotFound.
func Unauthorized(format string, args ...any) *problem.HTTPError {
	return statusError(http.StatusUnauthorized, format, args)
}

// Forbidden returns a 403 *problem.HTTPError; see NotFound.
func Forbidden(format string, args ...any) *problem.HTTPError {
	return statusError(http.StatusForbidden, format, args)
}

// Conflict returns a 409 *problem.HTTPError; see NotFound.
func Conflict(format string, args ...any) *problem.HTTPError {
	return statusError(http.StatusConflict, format, args)
}

func statusError(status int, format string, args []any) *problem.HTTPError {
	if len(args) == 0 {
		return problem.New(status, format)
	}
	return problem.New(status, fmt.Sprintf(format, args...))
}
