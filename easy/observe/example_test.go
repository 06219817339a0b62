package observe_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
	"gorm.io/driver/sqlite"
	"gorm.io/gorm"

	"github.com/fastapi-easy/easy-go/easy"
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
