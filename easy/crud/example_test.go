package crud_test

import (
	"context"
	"fmt"
	"io"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"

	"gorm.io/driver/sqlite"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"

	"github.com/fastapi-easy/easy-go/easy"
	"github.com/fastapi-easy/easy-go/easy/crud"
	"github.com/fastapi-easy/easy-go/easy/route"
)

// Fruit is the model of the examples.
type Fruit struct {
	ID    uint    `json:"id" gorm:"primaryKey"`
	Name  string  `json:"name" required:"true" minLength:"1"`
	Price float64 `json:"price" minimum:"0"`
}

// exampleApp is an App on a SQLite file in a temporary directory.
func exampleApp(routers ...route.Mounter) (*httptest.Server, func()) {
	dir, _ := os.MkdirTemp("", "crud-example")
	db, err := gorm.Open(sqlite.Open(filepath.Join(dir, "example.db")), &gorm.Config{Logger: logger.Discard, TranslateError: true})
	if err != nil {
		panic(err)
	}
	app := easy.New(easy.DB(db), easy.Logger(quietLogger()))
	app.Include(routers...)
	srv := httptest.NewServer(app)
	return srv, func() {
		srv.Close()
		if sqlDB, err := db.DB(); err == nil {
			sqlDB.Close()
		}
		os.RemoveAll(dir)
	}
}

func call(srv *httptest.Server, method, path, body string) {
	req := httptest.NewRequest(method, srv.URL+path, strings.NewReader(body))
	req.RequestURI = ""
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := srv.Client().Do(req)
	if err != nil {
		panic(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if total := res.Header.Get("X-Total-Count"); total != "" {
		fmt.Printf("%d (X-Total-Count: %s) %s\n", res.StatusCode, total, b)
		return
	}
	fmt.Println(res.StatusCode, string(b))
}

// The CRUD router of a model, included in an App.
func Example() {
	srv, done := exampleApp(easy.CRUDRouter[Fruit]())
	defer done()

	call(srv, "POST", "/fruits", `{"name":"apple","price":1.5}`)
	call(srv, "POST", "/fruits", `{"name":"cherry","price":10}`)
	call(srv, "GET", "/fruits?price__gt=2&sort=-price", "")
	call(srv, "PATCH", "/fruits/1", `{"price":0}`)
	call(srv, "GET", "/fruits/9", "")
	call(srv, "GET", "/fruits?price__gt=cheap", "")
	// Output:
	// 201 {"id":1,"name":"apple","price":1.5}
	// 201 {"id":2,"name":"cherry","price":10}
	// 200 (X-Total-Count: 1) [{"id":2,"name":"cherry","price":10}]
	// 200 {"id":1,"name":"apple","price":0}
	// 404 {"detail":"Fruit not found"}
	// 422 {"detail":[{"type":"float_parsing","loc":["query","price__gt"],"msg":"Input should be a valid number, unable to parse string as a number","input":"cheap"}]}
}

// Options choose the routes, their paths and names; hooks check and
// change rows around each route.
func ExampleNew() {
	shop := crud.New[Fruit](
		crud.Prefix("/shop/fruits"),
		crud.Exclude(crud.DeleteRoute),
		crud.PageSize(20, 100),
		crud.Sortable("name", "price"),
	).BeforeCreate(func(ctx context.Context, tx *gorm.DB, f *Fruit) error {
		if f.Name == "durian" {
			return easy.Forbidden("No durians in the shop")
		}
		return nil
	})
	srv, done := exampleApp(shop)
	defer done()

	call(srv, "POST", "/shop/fruits", `{"name":"durian"}`)
	call(srv, "POST", "/shop/fruits", `{"name":"fig","price":3}`)
	call(srv, "DELETE", "/shop/fruits/1", "")
	// Output:
	// 403 {"detail":"No durians in the shop"}
	// 201 {"id":1,"name":"fig","price":3}
	// 405 {"detail":"Method Not Allowed"}
}
