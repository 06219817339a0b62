// Package observe makes an easy App visible to the systems that watch it:
// Prometheus metrics, health and readiness checks, OpenTelemetry traces
// and pprof. An App turns each on with an option of package easy, which
// builds on this package:
//
//	app := easy.New(
//		easy.Metrics(),      // GET /metrics: Prometheus text format and OpenMetrics
//		easy.Health(),       // GET /healthz and /readyz
//		easy.Tracing(tp),    // a server span per request, spans for SQL statements
//		easy.Pprof("127.0.0.1:6060"),
//	)
//
// Metrics live on one prometheus.Registry per App (app.Metrics().Registry()),
// on which an application registers its own collectors too. The framework's
// own metrics use the OpenTelemetry semantic conventions' names for HTTP
// (http_server_request_duration_seconds and the like) and the prefix easy_
// for everything else (easy_ws_connections, ...); docs/observability.md
// lists them all.
//
// The package holds no global state: each App has its own registry,
// checks and tracer provider.
package observe
