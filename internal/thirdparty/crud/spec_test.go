package crud_test

import (
	"log/slog"
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/fastapi-easy/easy-go/easy"
	"github.com/fastapi-easy/easy-go/easy/crud"
	"github.com/fastapi-easy/easy-go/internal/testkit"
	"github.com/fastapi-easy/easy-go/internal/thirdparty/spectest"
)

// Item and Task are the models of easy/crud's tests: one with a unique
// name and a nullable field, one with timestamps and soft deletion.

type Item struct {
	ID     uint    `json:"id" gorm:"primaryKey"`
	Name   string  `json:"name" required:"true" minLength:"1" maxLength:"50" gorm:"uniqueIndex"`
	Price  float64 `json:"price" minimum:"0"`
	Stock  int     `json:"stock"`
	Active bool    `json:"active"`
	Note   *string `json:"note"`
}

type Task struct {
	ID        uint           `json:"id" gorm:"primaryKey"`
	Title     string         `json:"title" required:"true" minLength:"1"`
	Done      bool           `json:"done"`
	Owner     string         `json:"owner" easy:"readonly"`
	CreatedAt time.Time      `json:"created_at"`
	UpdatedAt time.Time      `json:"updated_at"`
	DeletedAt gorm.DeletedAt `json:"deleted_at"`
}

// TestResponsesMatchSpec checks the document with a third-party validator,
// then every kind of answer of every route against it.
func TestResponsesMatchSpec(t *testing.T) {
	testkit.Each(t, nil, func(t *testing.T, db *gorm.DB) {
		app := easy.New(easy.DB(db), easy.Logger(slog.New(slog.DiscardHandler)))
		app.Include(easy.CRUDRouter[Item](crud.DeleteAll()), easy.CRUDRouter[Task](crud.IncludeDeleted()))
		srv := testkit.Serve(t, app)
		v, _ := spectest.Fetch(t, srv.URL+"/openapi.json")
		requests := []struct{ method, path, body string }{
			{"POST", "/items", `{"name":"apple","price":1.5,"note":"x"}`},
			{"POST", "/items", `{"name":"apple"}`},
			{"POST", "/items", `{"name":""}`},
			{"POST", "/items", `{"name":`},
			{"GET", "/items", ""},
			{"GET", "/items?price__gt=1&sort=-name&limit=5", ""},
			{"GET", "/items?price__gt=x", ""},
			{"GET", "/items/1", ""},
			{"GET", "/items/9", ""},
			{"GET", "/items/x", ""},
			{"PUT", "/items/1", `{"name":"pear"}`},
			{"PUT", "/items/9", `{"name":"pear"}`},
			{"PATCH", "/items/1", `{"stock":2}`},
			{"PATCH", "/items/1", `{"stock":"2"}`},
			{"DELETE", "/items/1", ""},
			{"DELETE", "/items/1", ""},
			{"DELETE", "/items", ""},
			{"POST", "/tasks", `{"title":"t"}`},
			{"DELETE", "/tasks/1", ""},
			{"GET", "/tasks?include_deleted=true", ""},
			{"GET", "/tasks/1?include_deleted=true", ""},
		}
		for _, r := range requests {
			res := testkit.Do(t, srv, r.method, r.path, r.body)
			v.Response(t, res.Request, res.HTTP, []byte(res.Body))
		}
	})
}
