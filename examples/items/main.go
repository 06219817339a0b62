// Command items is the README's app: a validated CRUD API over a table of
// items, its OpenAPI document and Swagger UI, realtime change events over
// WebSocket, a live dashboard, Prometheus metrics at /metrics and the
// probes /healthz and /readyz.
//
//	go run ./examples/items            # http://127.0.0.1:8000/ (docs at /docs)
//	go run ./examples/items -addr 127.0.0.1:9000
//	go run ./examples/items -auth          # with logins: each user sees their own items
//	go run ./examples/items migrate status # the migrations; also up, down, create NAME, plan
//
// HOST and PORT in the environment also choose the address; DATABASE_URL
// chooses the database (the SQLite file easy.db by default); with -auth,
// ITEMS_SECRET is the key that signs access tokens. The app applies its
// pending migrations (migrations.go) when it starts; see
// docs/migrations.md for the migrate command.
package main

import (
	"flag"
	"log"
	"net"
	"os"

	"github.com/fastapi-easy/easy-go/easy"
	"github.com/fastapi-easy/easy-go/easy/migrate"
	"github.com/fastapi-easy/easy-go/easy/ws"
)

// Item is a thing for sale.
type Item struct {
	ID    uint    `json:"id" gorm:"primaryKey" example:"1"`
	Name  string  `json:"name" required:"true" minLength:"1" maxLength:"100" example:"apple"`
	Price float64 `json:"price" minimum:"0" example:"10.5"`
}

func main() {
	addr := flag.String("addr", defaultAddr(), "address to listen on")
	auth := flag.Bool("auth", false, "require a login; each user sees only their own items")
	flag.Parse()

	build := newApp
	if *auth {
		build = func(opts ...easy.Option) (*easy.App, error) { return newAuthApp(tokenSecret(), opts...) }
	}
	app, err := build()
	if err != nil {
		log.Fatal(err)
	}
	if migrate.Main(app, flag.Args()) {
		return
	}
	if err := app.Run(*addr); err != nil {
		log.Fatal(err)
	}
}

// newApp builds the app; the tests build it with their own options.
func newApp(opts ...easy.Option) (*easy.App, error) {
	app := easy.New(append(baseOptions(), opts...)...)
	if _, err := app.Database(); err != nil {
		return nil, err
	}
	app.Include(easy.CRUDRouter[Item]()) // /items: list, create, read, replace, patch, delete
	ws.Setup(app, Item{})                // /ws/items: every committed write, pushed as JSON
	mountDashboard(app)                  // the live dashboard at /
	return app, nil
}

// baseOptions are the options of both builds of the app: its title, its
// migrations, metrics at /metrics and the probes /healthz and /readyz
// (docs/observability.md), which the dashboard and a load balancer read.
func baseOptions() []easy.Option {
	return append([]easy.Option{easy.Title("Items", "1.0.0"), easy.Metrics(), easy.Health()}, migrations()...)
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
