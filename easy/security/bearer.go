package security

import (
	"context"
	"fmt"
	"net/http"
	"reflect"
	"strings"

	"github.com/swaggest/openapi-go/openapi31"

	"github.com/fastapi-easy/easy-go/easy"
	"github.com/fastapi-easy/easy-go/easy/openapi"
	"github.com/fastapi-easy/easy-go/internal/binding"
)

// HTTPBearer is the HTTP Bearer scheme: the token in "Authorization:
// Bearer <token>" (or where TokenQuery and TokenCookie say), checked by
// verify, which returns the principal. JWT makes a verify function for
// JSON Web Tokens.
//
// A request without a token is a 401 "Not authenticated", one with
// another scheme or an empty token a 401 "Invalid authentication
// credentials", and one whose token verify refuses with
// ErrInvalidCredentials a 401 "Could not validate credentials", each with
// "WWW-Authenticate: Bearer".
func HTTPBearer[T any](verify func(ctx context.Context, token string) (T, error), opts ...BearerOption) easy.Dependency[T] {
	s := newScheme("HTTPBearer", opts, BearerOption.applyBearer)
	doc := openapi31.SecurityScheme{HTTPBearer: &openapi31.SecuritySchemeHTTPBearer{Scheme: "bearer"}}
	if s.bearerFormat != "" {
		doc.HTTPBearer.BearerFormat = &s.bearerFormat
	}
	return bearer(s, doc, verify)
}

// OAuth2Password is the OAuth2 password flow, as FastAPI's
// OAuth2PasswordBearer: the client gets a token from tokenURL (see
// TokenRoute) with a username and password, then sends it as a bearer
// token, which verify checks. It answers as HTTPBearer does; the document
// describes the flow, so Swagger UI's Authorize dialog asks for a
// username and password.
func OAuth2Password[T any](tokenURL string, verify func(ctx context.Context, token string) (T, error), opts ...OAuth2Option) easy.Dependency[T] {
	s := newScheme("OAuth2PasswordBearer", opts, OAuth2Option.applyOAuth2)
	scopes := s.scopes
	if scopes == nil {
		scopes = map[string]string{}
	}
	doc := openapi31.SecurityScheme{Oauth2: &openapi31.SecuritySchemeOauth2{Flows: openapi31.OauthFlows{
		Password: &openapi31.OauthFlowsDefsPassword{TokenURL: tokenURL, Scopes: scopes},
	}}}
	return bearer(s, doc, verify)
}

func bearer[T any](s *scheme, doc openapi31.SecurityScheme, verify func(context.Context, string) (T, error)) easy.Dependency[T] {
	if s.description != "" {
		doc.WithDescription(s.description)
	}
	const challenge = "Bearer"
	return easy.DependsRequest(func(r *http.Request) (T, error) {
		var zero T
		token, present := bearerToken(r, s)
		if !present {
			if s.optional {
				return zero, nil
			}
			return zero, unauthorized(detailNotAuthenticated, challenge, nil)
		}
		if token == "" {
			return zero, unauthorized(detailMalformed, challenge, nil)
		}
		v, err := verify(r.Context(), token)
		return verified(v, err, detailInvalid, `Bearer error="invalid_token"`)
	}, easy.Doc{
		Params:   queryCredential(s.query, "The access token, for a client that cannot send the Authorization header (a browser's WebSocket)."),
		Security: []openapi.Security{{Name: s.name}},
		Schemes:  map[string]openapi31.SecurityScheme{s.name: doc},
		Errors:   []int{http.StatusUnauthorized},
	})
}

// queryCredential documents a query parameter that carries a credential,
// or is nil without one. It is a parameter of every route the scheme
// covers, so that such a route (a CRUD list, which refuses parameters it
// does not know) takes it as the scheme's, and never echoes it.
func queryCredential(name, description string) any {
	if name == "" {
		return nil
	}
	t := reflect.StructOf([]reflect.StructField{{Name: "Credential", Type: reflect.TypeFor[string](),
		Tag: reflect.StructTag(fmt.Sprintf(`query:%q description:%q`, name, description))}})
	return reflect.New(t).Interface()
}

// bearerToken finds the token of a request: the Authorization header's,
// else the query parameter's or the cookie's when the scheme allows them.
// present is false when the request carries none; a header of another
// scheme gives an empty token.
func bearerToken(r *http.Request, s *scheme) (token string, present bool) {
	if h := r.Header.Get("Authorization"); h != "" {
		kind, tok, _ := strings.Cut(h, " ")
		if !strings.EqualFold(kind, "bearer") {
			return "", true
		}
		return strings.TrimSpace(tok), true
	}
	if s.query != "" {
		if q, err := binding.Query(r); err == nil {
			if tok := binding.QueryValue(q, s.query); tok != "" {
				return tok, true
			}
		}
	}
	if s.cookie != "" {
		if tok, _ := binding.CookieValue(r, s.cookie); tok != "" {
			return tok, true
		}
	}
	return "", false
}
