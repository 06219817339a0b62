package security

import (
	"errors"
	"net/http"

	"github.com/fastapi-easy/easy-go/easy"
	"github.com/fastapi-easy/easy-go/easy/problem"
)

// ErrInvalidCredentials is what a verify function returns (or wraps) for
// credentials that are wrong, expired or malformed: the scheme answers
// 401 with its challenge. Any other error of a verify function is the
// response as it is: an *problem.HTTPError with its status, anything else a
// 500.
var ErrInvalidCredentials = errors.New("security: invalid credentials")

// The details of the errors the schemes answer with, as FastAPI's.
const (
	detailNotAuthenticated = "Not authenticated"
	detailMalformed        = "Invalid authentication credentials"
	detailInvalid          = "Could not validate credentials"
	detailBadPassword      = "Incorrect username or password"
	detailForbidden        = "Not enough permissions"
)

// unauthorized is a 401 with the challenge in WWW-Authenticate; cause is
// kept for errors.Is and never shown.
func unauthorized(detail, challenge string, cause error) *problem.HTTPError {
	e := easy.NewHTTPError(http.StatusUnauthorized, detail)
	e.Headers = http.Header{"Www-Authenticate": {challenge}}
	e.Err = cause
	return e
}

// verified turns the error of a verify function into the response.
func verified[T any](v T, err error, detail, challenge string) (T, error) {
	if err == nil {
		return v, nil
	}
	var zero T
	if errors.Is(err, ErrInvalidCredentials) {
		return zero, unauthorized(detail, challenge, err)
	}
	return zero, err
}
