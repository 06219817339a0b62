package easy_test

import (
	"context"
	"log/slog"
	"net/http"
	"strings"
	"testing"

	"github.com/fastapi-easy/easy-go/easy"
	"github.com/fastapi-easy/easy-go/internal/testkit"
	"github.com/fastapi-easy/easy-go/internal/thirdparty/spectest"
)

// The types and the app below are those of easy/depends_test.go.

type depUser struct {
	Name string `json:"name"`
}

type tokenIn struct {
	Token string `header:"X-Token" required:"true" description:"The caller's token."`
}

type pageIn struct {
	Skip  int `query:"skip" minimum:"0" default:"0"`
	Limit int `query:"limit" minimum:"1" maximum:"50" default:"10"`
}

type page struct{ Skip, Limit int }

type whoami struct {
	User  string `json:"user"`
	Admin bool   `json:"admin"`
	Skip  int    `json:"skip"`
	Limit int    `json:"limit"`
}

func depFixture() *easy.App {
	currentUser := easy.Depends(func(ctx context.Context, in *tokenIn) (*depUser, error) {
		name, ok := strings.CutPrefix(in.Token, "token-")
		if !ok {
			return nil, easy.NewHTTPError(http.StatusUnauthorized, "Invalid token")
		}
		return &depUser{Name: name}, nil
	})
	isAdmin := easy.Depends(func(ctx context.Context, _ *easy.NoInput) (bool, error) {
		return currentUser.From(ctx).Name == "root", nil
	}, currentUser)
	pagination := easy.Depends(func(ctx context.Context, in *pageIn) (page, error) {
		return page{in.Skip, in.Limit}, nil
	})

	app := easy.New(easy.Logger(slog.New(slog.DiscardHandler)))
	easy.Get(app, "/me", func(ctx context.Context, _ *easy.NoInput) (*whoami, error) {
		p := pagination.From(ctx)
		return &whoami{User: currentUser.From(ctx).Name, Admin: isAdmin.From(ctx), Skip: p.Skip, Limit: p.Limit}, nil
	}, easy.Uses(currentUser, isAdmin, pagination))
	easy.Get(app, "/public", func(ctx context.Context, _ *easy.NoInput) (*page, error) {
		p := pagination.From(ctx)
		return &p, nil
	}, easy.Uses(pagination))
	admin := app.Group("/admin", easy.Uses(isAdmin))
	easy.Get(admin, "/check", func(ctx context.Context, _ *easy.NoInput) (*whoami, error) {
		if !isAdmin.From(ctx) {
			return nil, easy.Forbidden("Admins only")
		}
		return &whoami{User: currentUser.From(ctx).Name, Admin: true}, nil
	})
	easy.Get(app, "/forgotten", func(ctx context.Context, _ *easy.NoInput) (*whoami, error) {
		return &whoami{User: currentUser.From(ctx).Name}, nil
	})
	return app
}

// The parameters that dependencies add to operations, their own and those
// of the dependencies they need, make a valid document.
func TestDependencySpecIsValid(t *testing.T) {
	srv := testkit.Serve(t, depFixture())
	spectest.Fetch(t, srv.URL+"/openapi.json")
}
