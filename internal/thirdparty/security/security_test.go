package security_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"log/slog"
	"testing"

	"github.com/fastapi-easy/easy-go/easy"
	"github.com/fastapi-easy/easy-go/easy/security"
	"github.com/fastapi-easy/easy-go/internal/testkit"
	"github.com/fastapi-easy/easy-go/internal/thirdparty/spectest"
)

type me struct {
	Sub string `json:"sub"`
}

type apiUser struct{ Name string }

// Every security scheme, scope and role check, and the token route of the
// password flow, declared as easy/security's test fixture declares them,
// make a valid document. The document depends on the declarations only,
// so the handlers here answer without checking anything.
func TestSecuritySchemesSpecIsValid(t *testing.T) {
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	ecKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	app := easy.New(easy.Logger(slog.New(slog.DiscardHandler)))

	hs := security.HTTPBearer(security.JWT[security.Claims](security.JWTConfig{Key: []byte("0123456789abcdef0123456789abcdef")}),
		security.BearerFormat("JWT"))
	rs := security.OAuth2Password("/token", security.JWT[security.Claims](security.JWTConfig{Key: &rsaKey.PublicKey}),
		security.Scopes(map[string]string{"items:read": "Read items.", "items:write": "Change items."}))
	es := security.HTTPBearer(security.JWT[security.Claims](security.JWTConfig{Key: &ecKey.PublicKey}), security.Name("ES256Bearer"))
	checkKey := func(ctx context.Context, key string) (*apiUser, error) { return &apiUser{"service"}, nil }
	keyHeader := security.APIKeyHeader("X-API-Key", checkKey)
	keyQuery := security.APIKeyQuery("api_key", checkKey)
	keyCookie := security.APIKeyCookie("session", checkKey)
	basic := security.HTTPBasic(func(ctx context.Context, user, pass string) (*apiUser, error) {
		return &apiUser{user}, nil
	}, security.Realm("easy"))

	claimsRoute := func(dep easy.Dependency[*security.Claims]) easy.Handler[easy.NoInput, me] {
		return func(ctx context.Context, _ *easy.NoInput) (*me, error) { return &me{dep.From(ctx).Subject}, nil }
	}
	userRoute := func(dep easy.Dependency[*apiUser]) easy.Handler[easy.NoInput, me] {
		return func(ctx context.Context, _ *easy.NoInput) (*me, error) { return &me{dep.From(ctx).Name}, nil }
	}
	easy.Get(app, "/public", func(ctx context.Context, _ *easy.NoInput) (*me, error) { return &me{"anyone"}, nil })
	easy.Get(app, "/hs", claimsRoute(hs), easy.Uses(hs))
	easy.Get(app, "/rs", claimsRoute(rs), easy.Uses(rs))
	easy.Get(app, "/es", claimsRoute(es), easy.Uses(es))
	write := security.RequireScopes(rs, "items:write")
	easy.Post(app, "/rs/write", claimsRoute(write), easy.Uses(write))
	admin := security.RequireRoles(hs, "admin")
	easy.Delete(app, "/hs/admin", claimsRoute(admin), easy.Uses(admin))
	easy.Get(app, "/key/header", userRoute(keyHeader), easy.Uses(keyHeader))
	easy.Get(app, "/key/query", userRoute(keyQuery), easy.Uses(keyQuery))
	easy.Get(app, "/key/cookie", userRoute(keyCookie), easy.Uses(keyCookie))
	easy.Get(app, "/basic", userRoute(basic), easy.Uses(basic))
	easy.Get(app, "/both", claimsRoute(hs), easy.Uses(hs, keyHeader))
	app.Include(security.TokenRoute("/token", func(ctx context.Context, f *security.PasswordForm) (*security.Token, error) {
		return nil, security.ErrInvalidCredentials
	}))

	srv := testkit.Serve(t, app)
	spectest.Fetch(t, srv.URL+"/openapi.json")
}
