package security

// Option configures a security scheme.
type Option func(*scheme)

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

func newScheme(name string, opts []Option) *scheme {
	s := &scheme{name: name}
	for _, o := range opts {
		o(s)
	}
	return s
}

// Name sets the scheme's name in components.securitySchemes; each
// scheme has a default (HTTPBearer, OAuth2PasswordBearer, APIKeyHeader,
// APIKeyQuery, APIKeyCookie, HTTPBasic), so two schemes of one kind in
// one app need names of their own.
func Name(name string) Option { return func(s *scheme) { s.name = name } }

// Description sets the scheme's description in the document.
func Description(text string) Option { return func(s *scheme) { s.description = text } }

// BearerFormat documents the format of a bearer token ("JWT", say).
func BearerFormat(format string) Option { return func(s *scheme) { s.bearerFormat = format } }

// Realm sets the realm of HTTP Basic's challenge.
func Realm(realm string) Option { return func(s *scheme) { s.realm = realm } }

// TokenQuery lets a bearer token come in the query parameter param when
// the request has no Authorization header: browsers cannot set headers
// on a WebSocket, so the realtime endpoints take ?access_token=. The
// header is still the documented way.
func TokenQuery(param string) Option { return func(s *scheme) { s.query = param } }

// TokenCookie lets a bearer token come in the cookie name when the
// request has no Authorization header (nor the TokenQuery parameter).
func TokenCookie(name string) Option { return func(s *scheme) { s.cookie = name } }

// Optional makes missing credentials no error: the dependency is then
// the zero value, as FastAPI's auto_error=False. Wrong credentials are
// still a 401.
func Optional() Option { return func(s *scheme) { s.optional = true } }

// Scopes documents the OAuth2 scopes a token may carry, by name, with
// their descriptions, for Swagger UI's Authorize dialog.
func Scopes(scopes map[string]string) Option { return func(s *scheme) { s.scopes = scopes } }
