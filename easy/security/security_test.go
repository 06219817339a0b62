package security_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/subtle"
	"crypto/x509"
	"encoding/json"
	"log/slog"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/fastapi-easy/easy-go/easy"
	"github.com/fastapi-easy/easy-go/easy/security"
	"github.com/fastapi-easy/easy-go/internal/testkit"
)

// keys are the signing keys of the tests, made once.
var keys = sync.OnceValue(func() (k struct {
	secret, otherSecret []byte
	rsa, otherRSA       *rsa.PrivateKey
	ec, otherEC         *ecdsa.PrivateKey
}) {
	k.secret, k.otherSecret = []byte("0123456789abcdef0123456789abcdef"), []byte("fedcba9876543210fedcba9876543210")
	var err error
	if k.rsa, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
		panic(err)
	}
	if k.otherRSA, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
		panic(err)
	}
	if k.ec, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader); err != nil {
		panic(err)
	}
	if k.otherEC, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader); err != nil {
		panic(err)
	}
	return k
})

func sign(t testing.TB, method jwt.SigningMethod, key any, c security.Claims) string {
	t.Helper()
	s, err := jwt.NewWithClaims(method, c).SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// claims are valid for an hour unless changed.
func claims(sub string, change ...func(*security.Claims)) security.Claims {
	c := security.Claims{RegisteredClaims: jwt.RegisteredClaims{
		Subject:   sub,
		ExpiresAt: jwt.NewNumericDate(time.Now().Add(time.Hour)),
	}}
	for _, f := range change {
		f(&c)
	}
	return c
}

type me struct {
	Sub string `json:"sub"`
}

type apiUser struct{ Name string }

// fixture is an app with one route per scheme, scope and role checks,
// and the token route of the password flow. It logs at debug level.
func fixture(t testing.TB) (*httptest.Server, *testkit.Log) {
	t.Helper()
	k := keys()
	logger, logs := testkit.Logger(slog.LevelDebug)
	app := easy.New(easy.Logger(logger))

	hs := security.HTTPBearer(security.JWT[security.Claims](security.JWTConfig{Key: k.secret}),
		security.BearerFormat("JWT"))
	rs := security.OAuth2Password("/token", security.JWT[security.Claims](security.JWTConfig{Key: &k.rsa.PublicKey}),
		security.Scopes(map[string]string{"items:read": "Read items.", "items:write": "Change items."}))
	es := security.HTTPBearer(security.JWT[security.Claims](security.JWTConfig{Key: &k.ec.PublicKey}), security.Name("ES256Bearer"))
	checkKey := func(ctx context.Context, key string) (*apiUser, error) {
		if subtle.ConstantTimeCompare([]byte(key), []byte("s3cret-key")) != 1 {
			return nil, security.ErrInvalidCredentials
		}
		return &apiUser{"service"}, nil
	}
	keyHeader := security.APIKeyHeader("X-API-Key", checkKey)
	keyQuery := security.APIKeyQuery("api_key", checkKey)
	keyCookie := security.APIKeyCookie("session", checkKey)
	basic := security.HTTPBasic(func(ctx context.Context, user, pass string) (*apiUser, error) {
		okUser := subtle.ConstantTimeCompare([]byte(user), []byte("alice"))
		okPass := subtle.ConstantTimeCompare([]byte(pass), []byte("wonderland"))
		if okUser&okPass != 1 {
			return nil, security.ErrInvalidCredentials
		}
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
		if f.Username != "alice" || f.Password != "wonderland" {
			return nil, security.ErrInvalidCredentials
		}
		tok, err := jwt.NewWithClaims(jwt.SigningMethodRS256, claims("alice", func(c *security.Claims) {
			c.Scope = f.Scope
		})).SignedString(k.rsa)
		if err != nil {
			return nil, err
		}
		return &security.Token{AccessToken: tok, ExpiresIn: 3600}, nil
	}))
	return testkit.Serve(t, app), logs
}

type result struct {
	status    int
	challenge string
	body      string
}

// do sends a request without a body and keeps what the tests compare: the
// status, the challenge and the body.
func do(t testing.TB, srv *httptest.Server, method, path string, header ...string) result {
	t.Helper()
	return outcome(testkit.Do(t, srv, method, path, "", header...))
}

func outcome(r testkit.Response) result {
	return result{r.Status, r.Header.Get("WWW-Authenticate"), r.Body}
}

const (
	notAuthenticated = `{"detail":"Not authenticated"}`
	malformed        = `{"detail":"Invalid authentication credentials"}`
	invalid          = `{"detail":"Could not validate credentials"}`
	forbidden        = `{"detail":"Not enough permissions"}`
	invalidToken     = `Bearer error="invalid_token"`
)

func TestBearerJWT(t *testing.T) {
	srv, _ := fixture(t)
	k := keys()
	hs := jwt.SigningMethodHS256
	rs := jwt.SigningMethodRS256
	es := jwt.SigningMethodES256
	expired := func(c *security.Claims) { c.ExpiresAt = jwt.NewNumericDate(time.Now().Add(-time.Minute)) }
	notYet := func(c *security.Claims) { c.NotBefore = jwt.NewNumericDate(time.Now().Add(time.Hour)) }
	noExp := func(c *security.Claims) { c.ExpiresAt = nil }
	rsaPub, err := x509.MarshalPKIXPublicKey(&k.rsa.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name, path, auth string
		want             result
	}{
		{"HS256 missing", "/hs", "", result{401, "Bearer", notAuthenticated}},
		{"HS256 other scheme", "/hs", "Basic YWxpY2U6eA==", result{401, "Bearer", malformed}},
		{"HS256 empty token", "/hs", "Bearer ", result{401, "Bearer", malformed}},
		{"HS256 garbage", "/hs", "Bearer not.a.jwt", result{401, invalidToken, invalid}},
		{"HS256 expired", "/hs", "Bearer " + sign(t, hs, k.secret, claims("alice", expired)), result{401, invalidToken, invalid}},
		{"HS256 not yet valid", "/hs", "Bearer " + sign(t, hs, k.secret, claims("alice", notYet)), result{401, invalidToken, invalid}},
		{"HS256 without exp", "/hs", "Bearer " + sign(t, hs, k.secret, claims("alice", noExp)), result{401, invalidToken, invalid}},
		{"HS256 wrong signature", "/hs", "Bearer " + sign(t, hs, k.otherSecret, claims("alice")), result{401, invalidToken, invalid}},
		{"HS256 alg none", "/hs", "Bearer " + sign(t, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, claims("alice")), result{401, invalidToken, invalid}},
		{"HS256 valid", "/hs", "Bearer " + sign(t, hs, k.secret, claims("alice")), result{200, "", `{"sub":"alice"}`}},
		{"HS256 scheme in lower case", "/hs", "bearer " + sign(t, hs, k.secret, claims("alice")), result{200, "", `{"sub":"alice"}`}},
		{"RS256 missing", "/rs", "", result{401, "Bearer", notAuthenticated}},
		{"RS256 expired", "/rs", "Bearer " + sign(t, rs, k.rsa, claims("bob", expired)), result{401, invalidToken, invalid}},
		{"RS256 wrong signature", "/rs", "Bearer " + sign(t, rs, k.otherRSA, claims("bob")), result{401, invalidToken, invalid}},
		{"RS256 key as HMAC secret", "/rs", "Bearer " + sign(t, hs, rsaPub, claims("bob")), result{401, invalidToken, invalid}},
		{"RS256 valid", "/rs", "Bearer " + sign(t, rs, k.rsa, claims("bob")), result{200, "", `{"sub":"bob"}`}},
		{"ES256 missing", "/es", "", result{401, "Bearer", notAuthenticated}},
		{"ES256 expired", "/es", "Bearer " + sign(t, es, k.ec, claims("carol", expired)), result{401, invalidToken, invalid}},
		{"ES256 wrong signature", "/es", "Bearer " + sign(t, es, k.otherEC, claims("carol")), result{401, invalidToken, invalid}},
		{"ES256 valid", "/es", "Bearer " + sign(t, es, k.ec, claims("carol")), result{200, "", `{"sub":"carol"}`}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var h []string
			if c.auth != "" {
				h = []string{"Authorization", c.auth}
			}
			if got := do(t, srv, "GET", c.path, h...); got != c.want {
				t.Errorf("got %+v, want %+v", got, c.want)
			}
		})
	}
}

func TestScopesAndRoles(t *testing.T) {
	srv, _ := fixture(t)
	k := keys()
	withScope := func(s string) func(*security.Claims) { return func(c *security.Claims) { c.Scope = s } }
	withRoles := func(r ...string) func(*security.Claims) { return func(c *security.Claims) { c.Roles = r } }
	cases := []struct {
		name, method, path, auth string
		want                     result
	}{
		{"scope missing", "POST", "/rs/write", sign(t, jwt.SigningMethodRS256, k.rsa, claims("bob", withScope("items:read"))), result{403, "", forbidden}},
		{"scope held", "POST", "/rs/write", sign(t, jwt.SigningMethodRS256, k.rsa, claims("bob", withScope("items:read items:write"))), result{200, "", `{"sub":"bob"}`}},
		{"scope check after authentication", "POST", "/rs/write", "", result{401, "Bearer", notAuthenticated}},
		{"role missing", "DELETE", "/hs/admin", sign(t, jwt.SigningMethodHS256, k.secret, claims("ann", withRoles("editor"))), result{403, "", forbidden}},
		{"role held", "DELETE", "/hs/admin", sign(t, jwt.SigningMethodHS256, k.secret, claims("root", withRoles("editor", "admin"))), result{200, "", `{"sub":"root"}`}},
		{"role check of an expired token", "DELETE", "/hs/admin", sign(t, jwt.SigningMethodHS256, k.secret, claims("root", withRoles("admin"), func(c *security.Claims) {
			c.ExpiresAt = jwt.NewNumericDate(time.Now().Add(-time.Second))
		})), result{401, invalidToken, invalid}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var h []string
			if c.auth != "" {
				h = []string{"Authorization", "Bearer " + c.auth}
			}
			if got := do(t, srv, c.method, c.path, h...); got != c.want {
				t.Errorf("got %+v, want %+v", got, c.want)
			}
		})
	}
}

func TestAPIKeysAndBasic(t *testing.T) {
	srv, _ := fixture(t)
	ok := `{"sub":"service"}`
	cases := []struct {
		name, path string
		header     []string
		want       result
	}{
		{"header missing", "/key/header", nil, result{401, "APIKey", notAuthenticated}},
		{"header wrong", "/key/header", []string{"X-API-Key", "guess"}, result{401, "APIKey", invalid}},
		{"header valid", "/key/header", []string{"X-API-Key", "s3cret-key"}, result{200, "", ok}},
		{"query missing", "/key/query", nil, result{401, "APIKey", notAuthenticated}},
		{"query wrong", "/key/query?api_key=guess", nil, result{401, "APIKey", invalid}},
		{"query valid", "/key/query?api_key=s3cret-key", nil, result{200, "", ok}},
		// Given twice, the key is the last, as FastAPI and an operation's
		// own query parameters read it.
		{"query given twice, the last valid", "/key/query?api_key=guess&api_key=s3cret-key", nil, result{200, "", ok}},
		{"query given twice, the last wrong", "/key/query?api_key=s3cret-key&api_key=guess", nil, result{401, "APIKey", invalid}},
		{"query key in a header is not taken", "/key/query", []string{"X-API-Key", "s3cret-key"}, result{401, "APIKey", notAuthenticated}},
		{"cookie missing", "/key/cookie", nil, result{401, "APIKey", notAuthenticated}},
		{"cookie wrong", "/key/cookie", []string{"Cookie", "session=guess"}, result{401, "APIKey", invalid}},
		{"cookie valid", "/key/cookie", []string{"Cookie", "session=s3cret-key"}, result{200, "", ok}},
		// Given twice, the cookie is the last, as Starlette and an
		// operation's own cookie parameters read it.
		{"cookie given twice, the last valid", "/key/cookie", []string{"Cookie", "session=guess; session=s3cret-key"}, result{200, "", ok}},
		{"cookie given twice, the last wrong", "/key/cookie", []string{"Cookie", "session=s3cret-key; session=guess"}, result{401, "APIKey", invalid}},
		{"basic missing", "/basic", nil, result{401, `Basic realm="easy"`, notAuthenticated}},
		{"basic malformed", "/basic", []string{"Authorization", "Basic !!notbase64"}, result{401, `Basic realm="easy"`, malformed}},
		{"basic without colon", "/basic", []string{"Authorization", "Basic YWxpY2U="}, result{401, `Basic realm="easy"`, malformed}},
		{"basic wrong password", "/basic", []string{"Authorization", "Basic YWxpY2U6eA=="}, result{401, `Basic realm="easy"`, `{"detail":"Incorrect username or password"}`}},
		{"basic valid", "/basic", []string{"Authorization", "Basic YWxpY2U6d29uZGVybGFuZA=="}, result{200, "", `{"sub":"alice"}`}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := do(t, srv, "GET", c.path, c.header...); got != c.want {
				t.Errorf("got %+v, want %+v", got, c.want)
			}
		})
	}
}

// A bearer token may come in the cookie TokenCookie names, or the query
// parameter TokenQuery names, when there is no Authorization header. Given
// twice, it is the last, as an operation's own parameters read it.
func TestBearerTokenInACookieOrTheQuery(t *testing.T) {
	k := keys()
	logger, _ := testkit.Logger(slog.LevelError)
	app := easy.New(easy.Logger(logger))
	bearer := security.HTTPBearer(security.JWT[security.Claims](security.JWTConfig{Key: k.secret}),
		security.TokenQuery("access_token"), security.TokenCookie("access_token"))
	easy.Get(app, "/me", func(ctx context.Context, _ *easy.NoInput) (*me, error) {
		return &me{bearer.From(ctx).Subject}, nil
	}, easy.Uses(bearer))
	srv := testkit.Serve(t, app)
	alice := sign(t, jwt.SigningMethodHS256, k.secret, claims("alice"))
	bob := sign(t, jwt.SigningMethodHS256, k.secret, claims("bob"))
	cases := []struct {
		name, path string
		header     []string
		want       result
	}{
		{"cookie", "/me", []string{"Cookie", "access_token=" + alice}, result{200, "", `{"sub":"alice"}`}},
		{"cookie given twice, the last", "/me", []string{"Cookie", "access_token=" + bob + "; access_token=" + alice}, result{200, "", `{"sub":"alice"}`}},
		{"cookie given twice, the last forged", "/me", []string{"Cookie", "access_token=" + alice + "; access_token=" + alice + "x"}, result{401, invalidToken, invalid}},
		{"query given twice, the last", "/me?access_token=" + bob + "&access_token=" + alice, nil, result{200, "", `{"sub":"alice"}`}},
		{"the header before the cookie", "/me", []string{"Authorization", "Bearer " + bob, "Cookie", "access_token=" + alice}, result{200, "", `{"sub":"bob"}`}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := do(t, srv, "GET", c.path, c.header...); got != c.want {
				t.Errorf("got %+v, want %+v", got, c.want)
			}
		})
	}
}

func postForm(t testing.TB, srv *httptest.Server, form url.Values) result {
	t.Helper()
	return outcome(testkit.Do(t, srv, "POST", "/token", form.Encode(), "Content-Type", "application/x-www-form-urlencoded"))
}

// The password flow as Swagger UI's Authorize dialog runs it: post the
// form to the token route, then call a protected route with the token.
func TestPasswordFlowTokenRoute(t *testing.T) {
	srv, _ := fixture(t)
	got := postForm(t, srv, url.Values{"username": {"alice"}, "password": {"nope"}})
	if want := (result{401, "Bearer", `{"detail":"Incorrect username or password"}`}); got != want {
		t.Errorf("wrong password: got %+v, want %+v", got, want)
	}
	got = postForm(t, srv, url.Values{"username": {"alice"}})
	if want := (result{422, "", `{"detail":[{"type":"missing","loc":["body","password"],"msg":"Field required","input":null}]}`}); got != want {
		t.Errorf("no password: got %+v, want %+v", got, want)
	}
	if got := do(t, srv, "POST", "/token", "Content-Type", "application/json"); got.status != 415 {
		t.Errorf("JSON body: got %+v, want 415", got)
	}
	got = postForm(t, srv, url.Values{"grant_type": {"password"}, "username": {"alice"}, "password": {"wonderland"}, "scope": {"items:read items:write"}})
	var tok security.Token
	if err := json.Unmarshal([]byte(got.body), &tok); err != nil || got.status != 200 || tok.TokenType != "bearer" || tok.ExpiresIn != 3600 {
		t.Fatalf("login: got %+v (%v)", got, err)
	}
	if got := do(t, srv, "POST", "/rs/write", "Authorization", "Bearer "+tok.AccessToken); got != (result{200, "", `{"sub":"alice"}`}) {
		t.Errorf("protected route with the issued token: got %+v", got)
	}
}

// The document has every scheme in components.securitySchemes and each
// operation names the schemes (and scopes) it enforces.
// (internal/thirdparty validates the document.)
func TestSecuritySchemesInTheSpec(t *testing.T) {
	srv, _ := fixture(t)
	raw := testkit.Get(t, srv, "/openapi.json")
	var doc struct {
		Components struct {
			SecuritySchemes map[string]json.RawMessage `json:"securitySchemes"`
		}
		Paths map[string]map[string]struct {
			Security  []map[string][]string      `json:"security"`
			Responses map[string]json.RawMessage `json:"responses"`
		}
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	wantSchemes := map[string]string{
		"HTTPBearer":           `{"type":"http","scheme":"bearer","bearerFormat":"JWT"}`,
		"OAuth2PasswordBearer": `{"type":"oauth2","flows":{"password":{"tokenUrl":"/token","scopes":{"items:read":"Read items.","items:write":"Change items."}}}}`,
		"ES256Bearer":          `{"type":"http","scheme":"bearer"}`,
		"APIKeyHeader":         `{"type":"apiKey","name":"X-API-Key","in":"header"}`,
		"APIKeyQuery":          `{"type":"apiKey","name":"api_key","in":"query"}`,
		"APIKeyCookie":         `{"type":"apiKey","name":"session","in":"cookie"}`,
		"HTTPBasic":            `{"type":"http","scheme":"basic"}`,
	}
	if len(doc.Components.SecuritySchemes) != len(wantSchemes) {
		t.Errorf("securitySchemes: %d, want %d", len(doc.Components.SecuritySchemes), len(wantSchemes))
	}
	for name, want := range wantSchemes {
		if got := string(doc.Components.SecuritySchemes[name]); got != want {
			t.Errorf("scheme %s:\n got %s\nwant %s", name, got, want)
		}
	}
	wantSec := map[string]string{
		"GET /public":      `null`,
		"GET /hs":          `[{"HTTPBearer":[]}]`,
		"GET /rs":          `[{"OAuth2PasswordBearer":[]}]`,
		"POST /rs/write":   `[{"OAuth2PasswordBearer":["items:write"]}]`,
		"DELETE /hs/admin": `[{"HTTPBearer":[]}]`,
		"GET /key/cookie":  `[{"APIKeyCookie":[]}]`,
		"GET /basic":       `[{"HTTPBasic":[]}]`,
		"POST /token":      `null`,
		"GET /key/header":  `[{"APIKeyHeader":[]}]`,
		"GET /key/query":   `[{"APIKeyQuery":[]}]`,
		"GET /es":          `[{"ES256Bearer":[]}]`,
		"GET /both":        `[{"APIKeyHeader":[],"HTTPBearer":[]}]`,
	}
	for route, want := range wantSec {
		method, path, _ := strings.Cut(route, " ")
		op := doc.Paths[path][strings.ToLower(method)]
		got, _ := json.Marshal(op.Security)
		if string(got) != want {
			t.Errorf("%s security: got %s, want %s", route, got, want)
		}
		_, has401 := op.Responses["401"]
		if want != "null" && !has401 {
			t.Errorf("%s: 401 is not documented", route)
		}
	}
	for _, route := range []string{"post /rs/write", "delete /hs/admin"} {
		method, path, _ := strings.Cut(route, " ")
		if _, ok := doc.Paths[path][method].Responses["403"]; !ok {
			t.Errorf("%s: 403 is not documented", route)
		}
	}
	if !strings.Contains(string(raw), `"application/x-www-form-urlencoded"`) {
		t.Errorf("the token route's form body is not documented")
	}
}

// Credentials never reach the log, whether the request is refused or
// served, at debug level.
func TestCredentialsNeverLogged(t *testing.T) {
	srv, logs := fixture(t)
	k := keys()
	tok := sign(t, jwt.SigningMethodHS256, k.secret, claims("alice"))
	do(t, srv, "GET", "/hs", "Authorization", "Bearer "+tok)
	do(t, srv, "GET", "/hs", "Authorization", "Bearer "+tok+"x")
	do(t, srv, "GET", "/key/header", "X-API-Key", "s3cret-key")
	do(t, srv, "GET", "/key/query?api_key=s3cret-key")
	do(t, srv, "GET", "/key/query?api_key=guess-key-123")
	do(t, srv, "GET", "/key/cookie", "Cookie", "session=s3cret-key")
	do(t, srv, "GET", "/basic", "Authorization", "Basic YWxpY2U6d29uZGVybGFuZA==")
	postForm(t, srv, url.Values{"username": {"alice"}, "password": {"wonderland"}})
	out := logs.String()
	if !strings.Contains(out, "path=/key/query") {
		t.Fatalf("the requests were not logged:\n%s", out)
	}
	for _, secret := range []string{tok[:20], tok[len(tok)-20:], "s3cret-key", "guess-key-123", "YWxpY2U6d29uZGVybGFuZA", "wonderland"} {
		if strings.Contains(out, secret) {
			t.Errorf("the log holds a credential (%s):\n%s", secret, out)
		}
	}
}
