package security

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// JWTConfig says how JWT verifies tokens.
type JWTConfig struct {
	// Key checks signatures: a []byte secret for HS256, HS384 and HS512,
	// an *rsa.PublicKey for RS256 and its kin, an *ecdsa.PublicKey for
	// ES256 and its kin, an ed25519.PublicKey for EdDSA.
	Key any
	// Keyfunc picks the key for each token instead of Key: for keys that
	// rotate, or a key set.
	Keyfunc jwt.Keyfunc
	// Methods are the algorithms accepted ("HS256", "RS256", ...); by
	// default those that fit Key's type. A token signed with another one
	// is refused, so an RSA public key is never taken as an HMAC secret.
	Methods []string
	// Issuer and Audience, when set, must be the token's iss and be in its aud.
	Issuer   string
	Audience string
	// Leeway is the clock skew allowed when exp and nbf are checked.
	Leeway time.Duration
	// NoExpiry accepts tokens without exp. By default a token must expire.
	NoExpiry bool
	// Now is the clock; time.Now when nil.
	Now func() time.Time
}

// JWT returns a verify function for HTTPBearer and OAuth2Password that
// parses a JSON Web Token into a new C, checks its signature with cfg's
// key and its exp, nbf (and iss and aud when configured), and returns it.
// A token that fails any check is ErrInvalidCredentials (wrapping why).
// C is the claims type, such as Claims or a struct that embeds
// jwt.RegisteredClaims. A mistake in cfg panics, as it is found at
// start-up.
func JWT[C any, PC interface {
	*C
	jwt.Claims
}](cfg JWTConfig) func(ctx context.Context, token string) (PC, error) {
	keyfunc := cfg.Keyfunc
	if keyfunc == nil {
		if cfg.Key == nil {
			panic("security: JWT: a Key or a Keyfunc is required")
		}
		key := cfg.Key
		keyfunc = func(*jwt.Token) (any, error) { return key, nil }
	}
	methods := cfg.Methods
	if len(methods) == 0 {
		methods = methodsFor(cfg.Key)
		if len(methods) == 0 {
			panic(fmt.Sprintf("security: JWT: no algorithm fits a key of type %T; set Methods", cfg.Key))
		}
	}
	opts := []jwt.ParserOption{jwt.WithValidMethods(methods), jwt.WithLeeway(cfg.Leeway)}
	if !cfg.NoExpiry {
		opts = append(opts, jwt.WithExpirationRequired())
	}
	if cfg.Issuer != "" {
		opts = append(opts, jwt.WithIssuer(cfg.Issuer))
	}
	if cfg.Audience != "" {
		opts = append(opts, jwt.WithAudience(cfg.Audience))
	}
	if cfg.Now != nil {
		opts = append(opts, jwt.WithTimeFunc(cfg.Now))
	}
	parser := jwt.NewParser(opts...)
	return func(ctx context.Context, token string) (PC, error) {
		claims := PC(new(C))
		if _, err := parser.ParseWithClaims(token, claims, keyfunc); err != nil {
			return nil, fmt.Errorf("%w: %w", ErrInvalidCredentials, err)
		}
		return claims, nil
	}
}

// methodsFor returns the algorithms that fit a key's type.
func methodsFor(key any) []string {
	switch key.(type) {
	case []byte:
		return []string{"HS256", "HS384", "HS512"}
	case *rsa.PublicKey:
		return []string{"RS256", "RS384", "RS512", "PS256", "PS384", "PS512"}
	case *ecdsa.PublicKey:
		return []string{"ES256", "ES384", "ES512"}
	case ed25519.PublicKey:
		return []string{"EdDSA"}
	}
	return nil
}

// Claims are the claims of a token that most APIs need: the registered
// ones (sub, exp, ...), OAuth2's space-separated scope, and roles.
type Claims struct {
	jwt.RegisteredClaims
	Scope string   `json:"scope,omitempty"`
	Roles []string `json:"roles,omitempty"`
}

// HasScope reports whether the token grants scope.
func (c *Claims) HasScope(scope string) bool {
	return slices.Contains(strings.Fields(c.Scope), scope)
}

// HasRole reports whether the token's subject has role.
func (c *Claims) HasRole(role string) bool { return slices.Contains(c.Roles, role) }

// Expiry is when the token expires (the zero time if never): a realtime
// connection authenticated with it is closed with 1008 then.
func (c *Claims) Expiry() time.Time {
	if c.ExpiresAt == nil {
		return time.Time{}
	}
	return c.ExpiresAt.Time
}
