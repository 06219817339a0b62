// Package review_test holds reproductions of defects found by a review of
// whether the OpenAPI document tells the truth about what the server does
// and whether bad input gets a clear 4xx. Each TestRepro... fails now.
package review_test

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
