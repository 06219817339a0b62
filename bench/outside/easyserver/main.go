// Command easyserver is the easy side of bench/outside: the card's
// program (easy.New, CRUDRouter[Item], ws.Setup) on the SQLite file
// DATABASE_URL names, with request logging below the logger's level, as
// the hand-written server has none. See bench/outside for why it is not
// examples/items itself.
package main

import (
	"context"
	"log/slog"
	"net"
	"os"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

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

func main() {
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	opts := []easy.Option{easy.Logger(logger)}
	if os.Getenv("EASYSERVER_OBSERVE") != "" { // bench/outside -vs observe
		tp := observed()
		defer tp.Shutdown(context.Background())
		opts = append(opts, easy.Metrics(), easy.Tracing(tp))
	}
	app := easy.New(opts...)
	app.Include(easy.CRUDRouter[Item]())
	if os.Getenv("EASYSERVER_NO_OUTBOX") != "" { // bench/outside -vs nooutbox
		ws.NewManager(ws.NoOutbox()).Watch(app, Item{})
	} else {
		ws.Setup(app, Item{})
	}
	probe.Main(func(ctx context.Context, ln net.Listener) error { return app.Serve(ctx, ln) })
}

// observed is the TracerProvider of a production's set-up: one request
// in a hundred sampled (and the rest of its trace with it), its spans
// exported in batches, here to an exporter that drops them, since no
// collector runs beside the benchmark.
func observed() *sdktrace.TracerProvider {
	return sdktrace.NewTracerProvider(
		sdktrace.WithSampler(sdktrace.ParentBased(sdktrace.TraceIDRatioBased(0.01))),
		sdktrace.WithBatcher(tracetest.NewNoopExporter()))
}
