package easy_test

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"testing"

	"github.com/fastapi-easy/easy-go/easy"
	"github.com/fastapi-easy/easy-go/internal/testkit"
	"github.com/fastapi-easy/easy-go/internal/thirdparty/spectest"
)

// The types and the app below are those of easy/operation_test.go.

type Item struct {
	ID    int      `json:"id"`
	Name  string   `json:"name" required:"true" minLength:"1" maxLength:"20"`
	Price float64  `json:"price" minimum:"0"`
	Kind  string   `json:"kind,omitempty" enum:"fruit,tool"`
	Code  string   `json:"code,omitempty" pattern:"^[A-Z]{3}$"`
	Email string   `json:"email,omitempty" format:"email"`
	Tags  []string `json:"tags,omitempty" maxItems:"2"`
	Count int      `json:"count,omitempty" exclusiveMinimum:"0" maximum:"10"`
}

type ParamsIn struct {
	ID      int      `path:"id" minimum:"1"`
	Verbose bool     `query:"verbose"`
	Limit   int      `query:"limit" default:"10" maximum:"100"`
	Tags    []string `query:"tag"`
	After   *int     `query:"after"`
	Kind    string   `query:"kind" enum:"fruit,tool"`
	Token   string   `header:"X-Token"`
	Session string   `cookie:"session"`
}

type ParamsOut struct {
	ID      int      `json:"id"`
	Verbose bool     `json:"verbose"`
	Limit   int      `json:"limit"`
	Tags    []string `json:"tags"`
	After   *int     `json:"after"`
	Kind    string   `json:"kind"`
	Token   string   `json:"token"`
	Session string   `json:"session"`
}

type CreateIn struct {
	Item
	Trace string `header:"X-Trace"`
}

type Created struct {
	Item
	Location string `header:"Location" json:"-"`
}

func operationsApp() *easy.App {
	app := easy.New(easy.Logger(slog.New(slog.DiscardHandler)))
	easy.Get(app, "/params/{id}", func(ctx context.Context, in *ParamsIn) (*ParamsOut, error) {
		return &ParamsOut{in.ID, in.Verbose, in.Limit, in.Tags, in.After, in.Kind, in.Token, in.Session}, nil
	})
	easy.Post(app, "/items", func(ctx context.Context, in *CreateIn) (*Created, error) {
		if in.Name == "taken" {
			return nil, easy.Conflict("Item %q exists", in.Name)
		}
		in.ID = 1
		return &Created{Item: in.Item, Location: "/items/1"}, nil
	}, easy.Status(http.StatusCreated), easy.Errors(http.StatusConflict))
	easy.Get(app, "/items/{id}", func(ctx context.Context, in *struct {
		ID int `path:"id"`
	}) (*Item, error) {
		switch in.ID {
		case 7:
			panic("boom")
		case 8:
			return nil, fmt.Errorf("database password=secret is wrong")
		case 1:
			return &Item{ID: 1, Name: "apple", Price: 1.5}, nil
		}
		return nil, easy.NotFound("Item not found")
	}, easy.Errors(http.StatusNotFound))
	easy.Delete(app, "/items/{id}", func(ctx context.Context, in *struct {
		ID int `path:"id"`
	}) (*easy.NoContent, error) {
		return nil, nil
	})
	easy.Get(app, "/health", func(ctx context.Context, _ *easy.NoInput) (*map[string]string, error) {
		return &map[string]string{"status": "ok"}, nil
	})
	return app
}

// The document of the typed operations is valid OpenAPI 3.1, and the
// answers of each kind (success, 404, 409, 422 of a parameter and of a
// body, no content) are what it promises.
func TestOperationsMatchTheirSpec(t *testing.T) {
	srv := testkit.Serve(t, operationsApp())
	v, _ := spectest.Fetch(t, srv.URL+"/openapi.json")
	for _, c := range []struct{ method, path, body string }{
		{"GET", "/params/3?tag=a", ""},
		{"GET", "/params/x", ""},
		{"POST", "/items", `{"name":"apple","price":1}`},
		{"POST", "/items", `{"name":""}`},
		{"POST", "/items", `{"name":"taken"}`},
		{"GET", "/items/1", ""},
		{"GET", "/items/2", ""},
		{"DELETE", "/items/1", ""},
	} {
		r := testkit.Do(t, srv, c.method, c.path, c.body)
		v.Response(t, r.Request, r.HTTP, []byte(r.Body))
	}
}
