package security

import (
	"context"
	"net/http"
	"strconv"

	"github.com/swaggest/openapi-go/openapi31"

	"github.com/fastapi-easy/easy-go/easy"
	"github.com/fastapi-easy/easy-go/easy/openapi"
)

// HTTPBasic is HTTP Basic authentication: verify checks the username and
// password and returns the principal. Compare passwords in constant time
// (crypto/subtle, or bcrypt's compare). A request without credentials is
// a 401 "Not authenticated", malformed ones a 401 "Invalid authentication
// credentials", ones verify refuses with ErrInvalidCredentials a 401
// "Incorrect username or password"; each with "WWW-Authenticate: Basic"
// (and the Realm when one is set).
func HTTPBasic[T any](verify func(ctx context.Context, username, password string) (T, error), opts ...BasicOption) easy.Dependency[T] {
	s := newScheme("HTTPBasic", opts, BasicOption.applyBasic)
	doc := openapi31.SecurityScheme{HTTP: &openapi31.SecuritySchemeHTTP{Scheme: "basic"}}
	if s.description != "" {
		doc.WithDescription(s.description)
	}
	challenge := "Basic"
	if s.realm != "" {
		challenge += " realm=" + strconv.Quote(s.realm)
	}
	return easy.DependsRequest(func(r *http.Request) (T, error) {
		var zero T
		if r.Header.Get("Authorization") == "" {
			if s.optional {
				return zero, nil
			}
			return zero, unauthorized(detailNotAuthenticated, challenge, nil)
		}
		user, pass, ok := r.BasicAuth()
		if !ok {
			return zero, unauthorized(detailMalformed, challenge, nil)
		}
		v, err := verify(r.Context(), user, pass)
		return verified(v, err, detailBadPassword, challenge)
	}, easy.Doc{
		Security: []openapi.Security{{Name: s.name}},
		Schemes:  map[string]openapi31.SecurityScheme{s.name: doc},
		Errors:   []int{http.StatusUnauthorized},
	})
}
