// Package agreement_test checks that the OpenAPI document tells the truth
// about what the server does: a request the document admits (by
// libopenapi-validator) is served, one it refuses gets a clear 4xx in
// FastAPI's shape, and answers match their schemas.
package agreement_test

import (
	"log/slog"
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/fastapi-easy/easy-go/easy"
	"github.com/fastapi-easy/easy-go/easy/crud"
)

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

func newApp(t testing.TB, db *gorm.DB, opts ...easy.Option) *easy.App {
	app := easy.New(append([]easy.Option{easy.DB(db), easy.Logger(slog.New(slog.DiscardHandler))}, opts...)...)
	app.Include(easy.CRUDRouter[Item](crud.DeleteAll(), crud.Batch()), easy.CRUDRouter[Task](crud.IncludeDeleted()))
	return app
}
