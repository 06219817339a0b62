// Command items is the README's app: a validated API over a table of
// items, with its OpenAPI document and Swagger UI.
//
//	go run ./examples/items            # http://127.0.0.1:8000/docs
//	go run ./examples/items -addr :9000
//
// HOST and PORT in the environment also choose the address; DATABASE_URL
// chooses the database (the SQLite file easy.db by default).
package main

import (
	"context"
	"errors"
	"flag"
	"log"
	"net"
	"os"

	"gorm.io/gorm"

	"github.com/fastapi-easy/easy-go/easy"
)

// Item is a thing for sale.
type Item struct {
	ID    uint    `json:"id" gorm:"primaryKey"`
	Name  string  `json:"name" required:"true" minLength:"1" maxLength:"100"`
	Price float64 `json:"price" minimum:"0"`
}

// ItemIn is the body of a create.
type ItemIn struct {
	Name  string  `json:"name" required:"true" minLength:"1" maxLength:"100"`
	Price float64 `json:"price" minimum:"0"`
}

// ItemID is the path of one item.
type ItemID struct {
	ID uint `path:"id" minimum:"1"`
}

func main() {
	addr := flag.String("addr", defaultAddr(), "address to listen on")
	flag.Parse()

	app, err := newApp()
	if err != nil {
		log.Fatal(err)
	}
	if err := app.Run(*addr); err != nil {
		log.Fatal(err)
	}
}

// newApp builds the app; the tests build it with their own options.
func newApp(opts ...easy.Option) (*easy.App, error) {
	app := easy.New(append([]easy.Option{easy.WithTitle("Items", "1.0.0")}, opts...)...)
	db, err := app.Database()
	if err != nil {
		return nil, err
	}
	if err := db.AutoMigrate(&Item{}); err != nil {
		return nil, err
	}
	items := app.Group("/items", easy.GroupTags("items"))
	easy.Get(items, "", func(ctx context.Context, _ *easy.NoInput) (*[]Item, error) {
		var out []Item
		err := app.DB().WithContext(ctx).Order("id").Find(&out).Error
		return &out, err
	}, easy.Summary("List items"), easy.OperationID("list_items"))
	easy.Post(items, "", func(ctx context.Context, in *ItemIn) (*Item, error) {
		item := Item{Name: in.Name, Price: in.Price}
		err := app.DB().WithContext(ctx).Create(&item).Error
		return &item, err
	}, easy.Summary("Create an item"), easy.OperationID("create_item"), easy.Status(201))
	easy.Get(items, "/{id}", func(ctx context.Context, in *ItemID) (*Item, error) {
		var item Item
		err := app.DB().WithContext(ctx).First(&item, in.ID).Error
		if errors.Is(err, gorm.ErrRecordNotFound) {
			return nil, easy.NotFound("Item not found")
		}
		return &item, err
	}, easy.Summary("Read an item"), easy.OperationID("get_item"), easy.Errors(404))
	return app, nil
}

// defaultAddr is 127.0.0.1:8000, or what HOST and PORT say.
func defaultAddr() string {
	host, port := os.Getenv("HOST"), os.Getenv("PORT")
	if host == "" {
		host = "127.0.0.1"
	}
	if port == "" {
		port = "8000"
	}
	return net.JoinHostPort(host, port)
}
