package security

import (
	"context"
	"net/http"
	"reflect"

	"github.com/fastapi-easy/easy-go/easy"
	"github.com/fastapi-easy/easy-go/easy/openapi"
)

// Scoped is a principal that holds OAuth2 scopes, such as *Claims.
type Scoped interface {
	HasScope(scope string) bool
}

// Roled is a principal that has roles, such as *Claims.
type Roled interface {
	HasRole(role string) bool
}

// RequireScopes is dep, the principal, required to hold every one of
// scopes: without one the request is a 403 {"detail":"Not enough
// permissions"}. The scopes are added to the operation's security
// requirement in the document.
func RequireScopes[T Scoped](dep easy.Dependency[T], scopes ...string) easy.Dependency[T] {
	return require(dep, scopes, func(_ context.Context, p T) bool {
		for _, s := range scopes {
			if !p.HasScope(s) {
				return false
			}
		}
		return true
	})
}

// RequireRoles is dep, the principal, required to have at least one of
// roles: without one the request is a 403 {"detail":"Not enough
// permissions"}.
func RequireRoles[T Roled](dep easy.Dependency[T], roles ...string) easy.Dependency[T] {
	return require(dep, nil, func(_ context.Context, p T) bool {
		for _, r := range roles {
			if p.HasRole(r) {
				return true
			}
		}
		return false
	})
}

// Require is dep, the principal, required to pass allow: when it does
// not, the request is a 403 {"detail":"Not enough permissions"}.
func Require[T any](dep easy.Dependency[T], allow func(ctx context.Context, principal T) bool) easy.Dependency[T] {
	return require(dep, nil, allow)
}

func require[T any](dep easy.Dependency[T], scopes []string, allow func(context.Context, T) bool) easy.Dependency[T] {
	doc := easy.Doc{Errors: []int{http.StatusForbidden}}
	if len(scopes) > 0 {
		// No name: the scopes go to the schemes dep brings.
		doc.Security = []openapi.Security{{Scopes: scopes}}
	}
	return easy.DependsRequest(func(r *http.Request) (T, error) {
		p := dep.From(r.Context())
		// An Optional scheme without credentials gives the zero principal.
		if reflect.ValueOf(&p).Elem().IsZero() || !allow(r.Context(), p) {
			var zero T
			return zero, easy.NewHTTPError(http.StatusForbidden, detailForbidden)
		}
		return p, nil
	}, doc, dep)
}
