package easy

import (
	"log/slog"
	"time"

	"github.com/go-chi/cors"
	"gorm.io/gorm"
)

// Option configures an App.
type Option func(*config)

type config struct {
	db              *gorm.DB
	logger          *slog.Logger
	bodyLimit       int64
	cors            *cors.Options
	openAPIPath     string
	docsPath        string
	title           string
	version         string
	description     string
	servers         []string
	shutdownTimeout time.Duration
	migrate         bool
	forbidUnknown   bool
}

func defaultConfig() config {
	return config{
		bodyLimit:       1 << 20,
		openAPIPath:     "/openapi.json",
		docsPath:        "/docs",
		title:           "easy",
		version:         "0.1.0",
		shutdownTimeout: 10 * time.Second,
		migrate:         true,
	}
}

// WithDB sets the database. Without it the App opens DATABASE_URL, or the
// SQLite file easy.db. The App does not close a database given this way.
func WithDB(db *gorm.DB) Option { return func(c *config) { c.db = db } }

// WithLogger sets the logger of requests, errors and panics; slog.Default
// when not set.
func WithLogger(l *slog.Logger) Option { return func(c *config) { c.logger = l } }

// WithBodyLimit sets the largest request body accepted, in bytes; larger
// bodies get 413. The default is 1 MiB.
func WithBodyLimit(n int64) Option { return func(c *config) { c.bodyLimit = n } }

// WithCORS answers cross-origin requests from the given origins ("*" for
// any) with the usual methods and headers.
func WithCORS(origins ...string) Option {
	return func(c *config) {
		c.cors = &cors.Options{
			AllowedOrigins:   origins,
			AllowedMethods:   []string{"GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"},
			AllowedHeaders:   []string{"*"},
			ExposedHeaders:   []string{"X-Total-Count", "X-Request-Id"},
			AllowCredentials: len(origins) > 0 && origins[0] != "*",
			MaxAge:           600,
		}
	}
}

// WithCORSOptions answers cross-origin requests as opts says.
func WithCORSOptions(opts cors.Options) Option { return func(c *config) { c.cors = &opts } }

// WithOpenAPI moves the OpenAPI document (default /openapi.json; the YAML
// form is served beside it with .yaml). An empty path turns both it and
// the docs off.
func WithOpenAPI(path string) Option { return func(c *config) { c.openAPIPath = path } }

// WithDocs moves Swagger UI (default /docs); an empty path turns it off.
func WithDocs(path string) Option { return func(c *config) { c.docsPath = path } }

// WithTitle sets the API's title and version in the OpenAPI document.
func WithTitle(title, version string) Option {
	return func(c *config) { c.title, c.version = title, version }
}

// WithDescription sets the API's description in the OpenAPI document.
func WithDescription(d string) Option { return func(c *config) { c.description = d } }

// WithServers lists the API's base URLs in the OpenAPI document.
func WithServers(urls ...string) Option { return func(c *config) { c.servers = urls } }

// WithShutdownTimeout bounds how long Run waits for in-flight requests
// when it stops; 10 s by default.
func WithShutdownTimeout(d time.Duration) Option { return func(c *config) { c.shutdownTimeout = d } }

// WithoutMigrate stops Include from migrating the models of the routers
// it mounts.
func WithoutMigrate() Option { return func(c *config) { c.migrate = false } }

// WithForbidUnknownFields rejects request bodies with properties the
// input does not declare (422 extra_forbidden); they are ignored by default.
func WithForbidUnknownFields() Option { return func(c *config) { c.forbidUnknown = true } }
