package security_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http/httptest"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/fastapi-easy/easy-go/easy"
	"github.com/fastapi-easy/easy-go/easy/security"
)

// A bearer scheme verifying HS256 JSON Web Tokens, and a route only
// admins may call; the handler reads the typed claims.
func ExampleHTTPBearer() {
	secret := []byte("0123456789abcdef0123456789abcdef")
	user := security.HTTPBearer(security.JWT[security.Claims](security.JWTConfig{Key: secret}))
	admin := security.RequireRoles(user, "admin")

	app := easy.New(easy.Logger(slog.New(slog.NewTextHandler(io.Discard, nil))))
	easy.Delete(app, "/cache", func(ctx context.Context, _ *easy.NoInput) (*easy.NoContent, error) {
		fmt.Println("cleared by", admin.From(ctx).Subject)
		return nil, nil
	}, easy.Uses(admin))

	token := func(roles ...string) string {
		s, _ := jwt.NewWithClaims(jwt.SigningMethodHS256, security.Claims{
			RegisteredClaims: jwt.RegisteredClaims{Subject: "ann", ExpiresAt: jwt.NewNumericDate(time.Now().Add(time.Hour))},
			Roles:            roles,
		}).SignedString(secret)
		return s
	}
	for _, auth := range []string{"", "Bearer " + token(), "Bearer " + token("admin")} {
		req := httptest.NewRequest("DELETE", "/cache", nil)
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		w := httptest.NewRecorder()
		app.ServeHTTP(w, req)
		fmt.Println(w.Code, w.Header().Get("WWW-Authenticate"), w.Body.String())
	}
	// Output:
	// 401 Bearer {"detail":"Not authenticated"}
	// 403  {"detail":"Not enough permissions"}
	// cleared by ann
	// 204
}
