package observe_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/go-chi/chi/v5"
	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/otel/trace/noop"
	"gorm.io/driver/sqlite"
	"gorm.io/gorm"

	"github.com/fastapi-easy/easy-go/easy"
	"github.com/fastapi-easy/easy-go/easy/observe"
)

// An application registers its own metrics on the App's registry, and
// /metrics serves them with the framework's.
func Example_ownMetrics() {
	app := easy.New(easy.Metrics(), easy.Logger(slog.New(slog.DiscardHandler)))
	orders := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "shop_orders_total",
		Help: "Orders placed, by payment method.",
	}, []string{"payment"})
	app.Metrics().Registry().MustRegister(orders)
	orders.WithLabelValues("card").Add(2)

	w := httptest.NewRecorder()
	app.ServeHTTP(w, httptest.NewRequest("GET", "/metrics", nil))
	for sc := bufio.NewScanner(w.Body); sc.Scan(); {
		if strings.HasPrefix(sc.Text(), "shop_orders_total") {
			fmt.Println(sc.Text())
		}
	}
	// Output:
	// shop_orders_total{payment="card"} 2
}

// The probes: /healthz while the process serves, /readyz while what the
// App depends on answers.
func Example_probes() {
	db, err := gorm.Open(sqlite.Open("file::memory:"), &gorm.Config{})
	if err != nil {
		panic(err)
	}
	app := easy.New(easy.DB(db), easy.Health(), easy.Logger(slog.New(slog.DiscardHandler)))
	app.ReadyCheck("payments", func(ctx context.Context) error { return errors.New("connection refused") })
	for _, path := range []string{"/healthz", "/readyz"} {
		w := httptest.NewRecorder()
		app.ServeHTTP(w, httptest.NewRequest("GET", path, nil))
		fmt.Print(w.Code, " ", w.Body)
		fmt.Println()
	}
	// Output:
	// 200 {"status":"ok"}
	//
	// 503 {"detail":"Not ready: payments"}
}

// Metrics and spans for a chi router of one's own: one middleware
// observes each request for both, labelled by the route's template.
func ExampleMiddleware() {
	metrics := observe.NewMetrics()
	tracer := observe.NewTracer(noop.NewTracerProvider()) // an SDK's TracerProvider in a real program
	r := chi.NewRouter()
	r.Use(observe.Middleware(metrics, tracer))
	r.Get("/things/{id}", func(w http.ResponseWriter, r *http.Request) { w.Write([]byte(`{"id":7}`)) })
	r.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/things/7", nil))

	w := httptest.NewRecorder()
	metrics.Handler().ServeHTTP(w, httptest.NewRequest("GET", "/metrics", nil))
	for sc := bufio.NewScanner(w.Body); sc.Scan(); {
		if strings.HasPrefix(sc.Text(), "http_server_request_duration_seconds_count") {
			fmt.Println(sc.Text())
		}
	}
	// Output:
	// http_server_request_duration_seconds_count{http_request_method="GET",http_response_status_code="200",http_route="/things/{id}"} 1
}
