// Command observedserver is the easy side of bench/outside -vs observe:
// the card's program (package cardapp) with easy.Metrics and easy.Tracing
// as a production sets them up: one request in a hundred sampled (and the
// rest of its trace with it), the spans exported in batches, here to an
// exporter that drops them, since no collector runs beside the benchmark.
package main

import (
	"context"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/fastapi-easy/easy-go/bench/outside/cardapp"
	"github.com/fastapi-easy/easy-go/easy"
)

func main() {
	tp := sdktrace.NewTracerProvider(
		sdktrace.WithSampler(sdktrace.ParentBased(sdktrace.TraceIDRatioBased(0.01))),
		sdktrace.WithBatcher(tracetest.NewNoopExporter()))
	defer tp.Shutdown(context.Background())
	cardapp.Main(easy.Metrics(), easy.Tracing(tp))
}
