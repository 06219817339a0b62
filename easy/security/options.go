package security

// BearerOption configures HTTPBearer.
type BearerOption interface{ applyBearer(*scheme) }

// OAuth2Option configures OAuth2Password.
type OAuth2Option interface{ applyOAuth2(*scheme) }

// BasicOption configures HTTPBasic.
type BasicOption interface{ applyBasic(*scheme) }

// TokenOption configures the schemes whose credential is a bearer token:
// HTTPBearer and OAuth2Password.
type TokenOption interface {
	BearerOption
	OAuth2Option
}

// Option configures any scheme: HTTPBearer, OAuth2Password, HTTPBasic and
// the API keys.
type Option interface {
	TokenOption
	BasicOption
	applyAPIKey(*scheme)
}

// option is every option; the type each function returns says which
// schemes take it.
type option func(*scheme)

func (o option) applyBearer(s *scheme) { o(s) }
func (o option) applyOAuth2(s *scheme) { o(s) }
func (o option) applyBasic(s *scheme)  { o(s) }
func (o option) applyAPIKey(s *scheme) { o(s) }

// scheme is what the options of a scheme set.
type scheme struct {
	name         string // the key in components.securitySchemes
	description  string
	bearerFormat string
	realm        string
	query        string // a query parameter that may carry the token
	cookie       string // a cookie that may carry the token
	optional     bool
	scopes       map[string]string
}

func newScheme[O any](name string, opts []O, apply func(O, *scheme)) *scheme {
	s := &scheme{name: name}
	for _, o := range opts {
		apply(o, s)
	}
	return s
}

// Name sets the scheme's name in components.securitySchemes; each
// scheme has a default (HTTPBearer, OAuth2PasswordBearer, APIKeyHeader,
// APIKeyQuery, APIKeyCookie, HTTPBasic), so two schemes of one kind in
// one app need names of their own.
func Name(name string) Option { return option(func(s *scheme) { s.name = name }) }

// Description sets the scheme's description in the document.
func Description(text string) Option { return option(func(s *scheme) { s.description = text }) }

// Optional makes missing credentials no error: the dependency is then
// the zero value, as FastAPI's auto_error=False. Wrong credentials are
// still a 401.
func Optional() Option { return option(func(s *scheme) { s.optional = true }) }

// TokenQuery lets a bearer token come in the query parameter param when
// the request has no Authorization header: browsers cannot set headers
// on a WebSocket, so the realtime endpoints take ?access_token=. The
// header is still the documented way.
func TokenQuery(param string) TokenOption { return option(func(s *scheme) { s.query = param }) }

// TokenCookie lets a bearer token come in the cookie name when the
// request has no Authorization header (nor the TokenQuery parameter).
func TokenCookie(name string) TokenOption { return option(func(s *scheme) { s.cookie = name }) }

// BearerFormat documents the format of a bearer token ("JWT", say).
func BearerFormat(format string) BearerOption {
	return option(func(s *scheme) { s.bearerFormat = format })
}

// Scopes documents the OAuth2 scopes a token may carry, by name, with
// their descriptions, for Swagger UI's Authorize dialog.
func Scopes(scopes map[string]string) OAuth2Option {
	return option(func(s *scheme) { s.scopes = scopes })
}

// Realm sets the realm of HTTP Basic's challenge.
func Realm(realm string) BasicOption { return option(func(s *scheme) { s.realm = realm }) }
