package ratelimit_test

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/go-chi/chi/v5/middleware"

	"github.com/fastapi-easy/easy-go/easy"
	"github.com/fastapi-easy/easy-go/easy/ratelimit"
	"github.com/fastapi-easy/easy-go/easy/security"
	"github.com/fastapi-easy/easy-go/internal/testkit"
	"github.com/fastapi-easy/easy-go/internal/thirdparty/spectest"
)

type ok struct {
	OK bool `json:"ok"`
}

func handler(ctx context.Context, _ *easy.NoInput) (*ok, error) { return &ok{true}, nil }

// The routes of easy/ratelimit's tests, limited per IP and per user, with
// their 429, make a valid document.
func TestLimitSpecIsValid(t *testing.T) {
	app := easy.New(easy.Logger(slog.New(slog.DiscardHandler)))
	app.Use(middleware.ClientIPFromHeader("X-Real-IP", "127.0.0.0/8", "::1/128"))
	perMinute := ratelimit.Rate{Requests: 3, Per: time.Minute}
	easy.Get(app, "/ip", handler, easy.Uses(ratelimit.ByIP(perMinute)))
	user := security.APIKeyHeader("X-User", func(ctx context.Context, key string) (string, error) { return key, nil })
	easy.Get(app, "/user", handler, easy.Uses(ratelimit.By(user, func(u string) string { return u }, perMinute)))
	easy.Get(app, "/free", handler)
	srv := testkit.Serve(t, app)
	spectest.Fetch(t, srv.URL+"/openapi.json")
}
