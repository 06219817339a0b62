package thirdparty_test

import (
	"context"
	"log/slog"
	"testing"

	"github.com/fastapi-easy/easy-go/easy"
	"github.com/fastapi-easy/easy-go/easy/ws"
	"github.com/fastapi-easy/easy-go/internal/testkit"
	"github.com/fastapi-easy/easy-go/internal/thirdparty/spectest"
)

// Item is the README's model.
type Item struct {
	ID    uint    `json:"id" gorm:"primaryKey"`
	Name  string  `json:"name" required:"true" minLength:"1"`
	Price float64 `json:"price" minimum:"0"`
}

// The README's program (TestTheREADMEProgram in the root's easy_test.go)
// serves a valid OpenAPI 3.1 document, and its answers to the requests of
// that test are what the document promises.
func TestTheREADMEProgramMatchesItsSpec(t *testing.T) {
	t.Setenv("DATABASE_URL", "sqlite:"+t.TempDir()+"/easy.db")
	app := easy.New(easy.Logger(slog.New(slog.DiscardHandler)))
	app.Include(easy.CRUDRouter[Item]())
	ws.Setup(app, Item{})
	t.Cleanup(func() { app.Close(context.Background()) })
	srv := testkit.Serve(t, app)

	v, _ := spectest.Fetch(t, srv.URL+"/openapi.json")
	for _, c := range []struct{ method, path, body string }{
		{"POST", "/items", `{"name":"apple","price":10.5}`},
		{"PATCH", "/items/1", `{"price":12}`},
		{"GET", "/items?name__like=app", ""},
		{"POST", "/items", `{"name":""}`},
		{"DELETE", "/items/1", ""},
	} {
		r := testkit.Do(t, srv, c.method, c.path, c.body)
		v.Response(t, r.Request, r.HTTP, []byte(r.Body))
	}
}
