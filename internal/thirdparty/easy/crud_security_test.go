package easy_test

import (
	"context"
	"log/slog"
	"testing"

	"github.com/fastapi-easy/easy-go/easy"
	"github.com/fastapi-easy/easy-go/easy/crud"
	"github.com/fastapi-easy/easy-go/easy/query"
	"github.com/fastapi-easy/easy-go/easy/security"
	"github.com/fastapi-easy/easy-go/internal/testkit"
	"github.com/fastapi-easy/easy-go/internal/thirdparty/spectest"
)

// The types and the app below are those of easy/crud_security_test.go.

type Note struct {
	ID    uint   `json:"id" gorm:"primaryKey"`
	Owner string `json:"owner" easy:"readonly"`
	Text  string `json:"text" required:"true" minLength:"1"`
}

type Post struct {
	ID    uint   `json:"id" gorm:"primaryKey"`
	Title string `json:"title" required:"true"`
}

type member struct {
	Name  string
	Admin bool
}

func (m *member) HasRole(role string) bool { return role == "admin" && m.Admin }

// The CRUD routes with security schemes, a row scope and per-route rules
// make a valid document.
func TestCRUDSecuritySpecIsValid(t *testing.T) {
	user := security.APIKeyHeader("X-User", func(ctx context.Context, key string) (*member, error) {
		switch key {
		case "alice", "bob":
			return &member{Name: key}, nil
		case "root":
			return &member{Name: key, Admin: true}, nil
		}
		return nil, security.ErrInvalidCredentials
	})
	admin := security.RequireRoles(user, "admin")
	app := easy.New(easy.DB(testkit.SQLite(t, nil)), easy.Logger(slog.New(slog.DiscardHandler)))
	app.Include(
		easy.CRUDRouter[Note](crud.DeleteAll(), crud.Uses(user), crud.Policy(query.Rows("owner", func(ctx context.Context) (any, error) {
			if u := user.From(ctx); !u.Admin {
				return u.Name, nil
			}
			return nil, nil
		}))),
		easy.CRUDRouter[Post](
			crud.RouteUses(crud.CreateRoute, user), crud.RouteUses(crud.ReplaceRoute, user), crud.RouteUses(crud.UpdateRoute, user),
			crud.RouteUses(crud.DeleteRoute, admin)),
	)
	srv := testkit.Serve(t, app)
	spectest.Fetch(t, srv.URL+"/openapi.json")
}
