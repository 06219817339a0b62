package easy

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"sync"

	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"
	"github.com/go-chi/cors"
	"gorm.io/gorm"

	"github.com/fastapi-easy/easy-go/easy/openapi"
	"github.com/fastapi-easy/easy-go/easy/route"
)

// App is an easy application: a chi router with the API's operations, its
// OpenAPI document and its database. It is an http.Handler.
type App struct {
	cfg    config
	mux    *chi.Mux
	routes sync.Pool // chi's routing contexts, reused; see route
	spec   *openapi.Spec
	async  *openapi.AsyncAPI // the realtime API's document (asyncapi.go)
	logger *slog.Logger

	builtins    sync.Once // adds the document and docs routes before the first request
	hostRefused sync.Once // logs the first request refused for its Host

	dbOnce  sync.Once
	db      *gorm.DB
	dbErr   error
	ownsDB  bool
	dialect gorm.Dialector

	schema schemaState // migrations: what Include and Run do to the schema (schema.go)

	obs observability // metrics, probes, tracer (observe.go)

	mu       sync.Mutex
	startup  []func(context.Context) error
	shutdown []func(context.Context) error
	running  bool
}

// New returns an App configured by opts. A malformed DATABASE_URL is
// reported by Run (and by DB, which panics with it).
func New(opts ...Option) *App {
	cfg := defaultConfig()
	for _, o := range opts {
		o.applyApp(&cfg)
	}
	a := &App{cfg: cfg, mux: chi.NewRouter(), logger: cfg.logger}
	if a.logger == nil {
		a.logger = slog.Default()
	}
	info := openapi.Info{Title: cfg.title, Version: cfg.version, Description: cfg.description, Servers: cfg.servers}
	a.spec = openapi.New(info)
	a.async = openapi.NewAsyncAPI(a.spec, info)
	a.setupObserve()
	if cfg.db != nil {
		a.db = cfg.db
		a.dbOnce.Do(func() { a.dbErr = a.observeDB(a.db) })
	} else {
		a.dialect, a.dbErr = dialectorFromEnv()
	}

	a.mux.Use(requestID(newIDPrefix()), requestLogger(a.logger), recoverer(a.logger), a.guard, middleware.GetHead)
	a.mux.Use(a.observeRoutes)
	a.mux.Use(a.schemaReady)
	if cfg.cors != nil {
		a.mux.Use(cors.Handler(*cfg.cors))
	}
	a.mux.Use(bodyLimit(cfg.bodyLimit))
	a.mux.NotFound(notFound)
	a.mux.MethodNotAllowed(a.methodNotAllowed)
	return a
}

// ServeHTTP serves a request.
func (a *App) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	a.builtins.Do(a.addBuiltins)
	a.route(w, r)
}

func (a *App) addBuiltins() {
	a.addAsyncAPI()
	if a.cfg.openAPIPath == "" {
		return
	}
	a.mux.Method(http.MethodGet, a.cfg.openAPIPath, a.spec.JSONHandler())
	a.mux.Method(http.MethodGet, strings.TrimSuffix(a.cfg.openAPIPath, ".json")+".yaml", a.spec.YAMLHandler())
	if d := strings.TrimSuffix(a.cfg.docsPath, "/"); d != "" {
		docs := jsonErrors(openapi.Docs(a.cfg.title, a.cfg.openAPIPath, d))
		a.mux.Method(http.MethodGet, d, docs)
		a.mux.Method(http.MethodGet, d+"/*", docs)
	}
}

// Use appends middleware to every route. As with chi, all middleware
// must be added before the first route.
func (a *App) Use(mw ...func(http.Handler) http.Handler) { a.mux.Use(mw...) }

// Handle routes pattern to h, outside the OpenAPI document: for WebSocket
// endpoints, static files and the like. The pattern is chi's, for any
// method, or for one when it starts with it, as in "GET /static/*". A
// ChannelHandler (a ws.Manager.Handler endpoint) is added to the AsyncAPI
// document as a channel at the pattern's path.
func (a *App) Handle(pattern string, h http.Handler) {
	a.handleChannel(pattern, h)
	a.mux.Handle(pattern, h)
}

// HandleFunc is Handle for a function.
func (a *App) HandleFunc(pattern string, h http.HandlerFunc) { a.mux.HandleFunc(pattern, h) }

// Logger returns the App's logger, for handlers and the packages that
// serve beside the App (easy/ws) to log where the App does.
func (a *App) Logger() *slog.Logger { return a.logger }

// DB returns the App's database, opening it on first use. It panics when
// the database cannot be opened: that is a mistake found at start-up.
func (a *App) DB() *gorm.DB {
	db, err := a.Database()
	if err != nil {
		panic(err.Error())
	}
	return db
}

// Database returns the App's database, opening it on first use, or why it
// cannot be opened.
func (a *App) Database() (*gorm.DB, error) {
	a.dbOnce.Do(func() {
		if a.dbErr != nil {
			return
		}
		a.db, a.dbErr = openDatabase(a.dialect)
		a.ownsDB = a.dbErr == nil
		if a.dbErr == nil {
			a.dbErr = a.observeDB(a.db)
		}
	})
	return a.db, a.dbErr
}

// Include mounts routers on the App, such as CRUDRouter's. Unless
// NoMigrate was given, it first migrates the models of routers that
// have them, under the migration lock, so that instances starting at
// once do not race to create a table; with versioned migrations it does
// so when the App starts instead (see Migrations). A failure to migrate
// is Run's and Serve's error, and every request's 503. A router that
// cannot be mounted panics, as it is found at start-up.
func (a *App) Include(routers ...route.Mounter) { a.site().include(routers) }

// OnStartup adds a function that Run calls before it serves; an error
// stops Run.
func (a *App) OnStartup(fn func(context.Context) error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.startup = append(a.startup, fn)
}

// OnShutdown adds a function that Run calls when it stops, while in-flight
// requests finish. Its context ends when the shutdown timeout does.
func (a *App) OnShutdown(fn func(context.Context) error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.shutdown = append(a.shutdown, fn)
}

// Close runs the shutdown hooks and closes the database the App opened.
// Run and Serve call it; call it yourself when you serve the App another way.
func (a *App) Close(ctx context.Context) error {
	a.drain()
	return errors.Join(a.closeHooks(ctx), a.closeDB())
}
