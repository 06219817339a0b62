// Package cardapp is the program bench/outside measures as easy: the
// card's (easy.New, CRUDRouter[Item], ws.Setup) on the SQLite file
// DATABASE_URL names, with request logging below the logger's level, as
// the hand-written server has none. easyserver runs it as it is, and
// internal/thirdparty/observe/observedserver with metrics and traces,
// whose SDK the library's module does not require. See bench/outside for
// why it is not examples/items itself.
package cardapp

import (
	"context"
	"log/slog"
	"net"
	"os"

	"github.com/fastapi-easy/easy-go/bench/outside/probe"
	"github.com/fastapi-easy/easy-go/easy"
	"github.com/fastapi-easy/easy-go/easy/ws"
)

// Item is the items example's model, with its constraints.
type Item struct {
	ID    uint    `json:"id" gorm:"primaryKey"`
	Name  string  `json:"name" required:"true" minLength:"1" maxLength:"100"`
	Price float64 `json:"price" minimum:"0"`
}

// Main serves the program, with opts added to its App's, until the probe
// tells it to stop.
func Main(opts ...easy.Option) {
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	app := easy.New(append([]easy.Option{easy.Logger(logger)}, opts...)...)
	app.Include(easy.CRUDRouter[Item]())
	if os.Getenv("EASYSERVER_NO_OUTBOX") != "" { // bench/outside -vs nooutbox
		ws.NewManager(ws.NoOutbox()).Watch(app, Item{})
	} else {
		ws.Setup(app, Item{})
	}
	probe.Main(func(ctx context.Context, ln net.Listener) error { return app.Serve(ctx, ln) })
}
