package security

import (
	"context"
	"net/http"

	"github.com/swaggest/openapi-go/openapi31"

	"github.com/fastapi-easy/easy-go/easy"
	"github.com/fastapi-easy/easy-go/easy/openapi"
	"github.com/fastapi-easy/easy-go/internal/binding"
)

// APIKeyHeader is an API key in the request header name, checked by
// verify, which returns the principal. A request without the key is a 401
// "Not authenticated"; a key verify refuses with ErrInvalidCredentials is
// a 401 "Could not validate credentials"; both with "WWW-Authenticate:
// APIKey".
func APIKeyHeader[T any](name string, verify func(ctx context.Context, key string) (T, error), opts ...Option) easy.Dependency[T] {
	return apiKey(newScheme("APIKeyHeader", opts, Option.applyAPIKey), openapi31.SecuritySchemeAPIKeyInHeader, name,
		func(r *http.Request) string { return r.Header.Get(name) }, verify)
}

// APIKeyQuery is an API key in the query parameter name; see
// APIKeyHeader.
func APIKeyQuery[T any](name string, verify func(ctx context.Context, key string) (T, error), opts ...Option) easy.Dependency[T] {
	return apiKey(newScheme("APIKeyQuery", opts, Option.applyAPIKey), openapi31.SecuritySchemeAPIKeyInQuery, name,
		func(r *http.Request) string {
			q, _ := binding.Query(r) // a malformed query has no key; the operation reports it
			return binding.QueryValue(q, name)
		}, verify)
}

// APIKeyCookie is an API key in the cookie name; see APIKeyHeader.
func APIKeyCookie[T any](name string, verify func(ctx context.Context, key string) (T, error), opts ...Option) easy.Dependency[T] {
	return apiKey(newScheme("APIKeyCookie", opts, Option.applyAPIKey), openapi31.SecuritySchemeAPIKeyInCookie, name,
		func(r *http.Request) string {
			key, _ := binding.CookieValue(r, name)
			return key
		}, verify)
}

func apiKey[T any](s *scheme, in openapi31.SecuritySchemeAPIKeyIn, name string, read func(*http.Request) string,
	verify func(context.Context, string) (T, error)) easy.Dependency[T] {
	doc := openapi31.SecurityScheme{APIKey: &openapi31.SecuritySchemeAPIKey{Name: name, In: in}}
	if s.description != "" {
		doc.WithDescription(s.description)
	}
	const challenge = "APIKey"
	return easy.DependsRequest(func(r *http.Request) (T, error) {
		var zero T
		key := read(r)
		if key == "" {
			if s.optional {
				return zero, nil
			}
			return zero, unauthorized(detailNotAuthenticated, challenge, nil)
		}
		v, err := verify(r.Context(), key)
		return verified(v, err, detailInvalid, challenge)
	}, easy.Doc{
		Params:   queryKey(in, name),
		Security: []openapi.Security{{Name: s.name}},
		Schemes:  map[string]openapi31.SecurityScheme{s.name: doc},
		Errors:   []int{http.StatusUnauthorized},
	})
}

// queryKey documents an API key in the query as a parameter too; see
// queryCredential.
func queryKey(in openapi31.SecuritySchemeAPIKeyIn, name string) any {
	if in != openapi31.SecuritySchemeAPIKeyInQuery {
		return nil
	}
	return queryCredential(name, "The API key.")
}
