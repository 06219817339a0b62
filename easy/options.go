package easy

import (
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/go-chi/cors"
	"gorm.io/gorm"
)

// Option configures an App; see New.
type Option interface{ applyApp(*config) }

// OperationOption configures a typed operation; see Get.
type OperationOption interface{ applyOperation(*operation) }

// GroupOption configures a Group: every operation of the group and every
// route of the routers it includes. A GroupOption is an OperationOption
// too, for one operation alone: easy.Tags("admin") tags a group given to
// App.Group and an operation given to Get.
type GroupOption interface {
	OperationOption
	applyGroup(*Group)
}

// SharedOption is an option of every level: given to New it applies to
// every operation of the App, to App.Group to those of the group, to Get
// and the like to one operation; the narrowest level that sets it wins.
type SharedOption interface {
	Option
	GroupOption
}

// DocOption documents the App, given to New (the document's info), or one
// operation, given to Get and the like.
type DocOption interface {
	Option
	OperationOption
}

// appOption, operationOption, groupOption, sharedOption and docOption
// are the options of each level: each says what it sets at every level
// it applies to.
type (
	appOption       func(*config)
	operationOption func(*operation)
	groupOption     struct {
		group func(*Group)
		op    func(*operation)
	}
	sharedOption struct {
		groupOption
		app func(*config)
	}
	docOption struct {
		app func(*config)
		op  func(*operation)
	}
)

func (f appOption) applyApp(c *config)                { f(c) }
func (f operationOption) applyOperation(o *operation) { f(o) }
func (o groupOption) applyGroup(g *Group)             { o.group(g) }
func (o groupOption) applyOperation(op *operation)    { o.op(op) }
func (o sharedOption) applyApp(c *config)             { o.app(c) }
func (o docOption) applyApp(c *config)                { o.app(c) }
func (o docOption) applyOperation(op *operation)      { o.op(op) }

type config struct {
	db              *gorm.DB
	logger          *slog.Logger
	bodyLimit       int64
	cors            *cors.Options
	openAPIPath     string
	docsPath        string
	asyncAPIPath    string
	title           string
	version         string
	description     string
	servers         []string
	shutdownTimeout time.Duration
	migrate         bool
	schema          schemaConfig // versioned migrations (schema.go)
	forbidUnknown   bool
	observe         observeConfig // metrics, probes, traces, pprof (observe.go)

	// What Run and Serve allow a client (server.go, deadlines.go).
	headerTimeout time.Duration
	idleTimeout   time.Duration
	writeTimeout  time.Duration
	bodyRate      int64 // bytes a second
	bodyGrace     time.Duration
	hosts         *hostList // nil: any host, or loopback names when Serve listens on loopback (hosts.go)
	maxConns      int       // 0: no bound
}

func defaultConfig() config {
	return config{
		bodyLimit:       1 << 20,
		openAPIPath:     "/openapi.json",
		docsPath:        "/docs",
		asyncAPIPath:    "/asyncapi.json",
		title:           "easy",
		version:         "0.1.0",
		shutdownTimeout: 10 * time.Second,
		migrate:         true,
		headerTimeout:   10 * time.Second,
		idleTimeout:     120 * time.Second,
		writeTimeout:    60 * time.Second,
		bodyRate:        1 << 10,
		bodyGrace:       10 * time.Second,
		maxConns:        20000,
	}
}

// DB sets the database. Without it the App opens DATABASE_URL, or the
// SQLite file easy.db. The App does not close a database given this way.
func DB(db *gorm.DB) Option { return appOption(func(c *config) { c.db = db }) }

// Logger sets the logger of requests, errors and panics; slog.Default
// when not set.
func Logger(l *slog.Logger) Option { return appOption(func(c *config) { c.logger = l }) }

// BodyLimit sets the largest request body accepted, in bytes; larger
// bodies get 413. The default is 1 MiB.
func BodyLimit(n int64) Option { return appOption(func(c *config) { c.bodyLimit = n }) }

// CORS answers cross-origin requests from the given origins ("*" for
// any) with the usual methods and headers.
func CORS(origins ...string) Option {
	return appOption(func(c *config) {
		c.cors = &cors.Options{
			AllowedOrigins:   origins,
			AllowedMethods:   []string{"GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"},
			AllowedHeaders:   []string{"*"},
			ExposedHeaders:   []string{"X-Total-Count", "X-Request-Id", "ETag", "Link", "X-Next-Cursor"},
			AllowCredentials: len(origins) > 0 && origins[0] != "*",
			MaxAge:           600,
		}
	})
}

// CORSOptions answers cross-origin requests as opts says.
func CORSOptions(opts cors.Options) Option { return appOption(func(c *config) { c.cors = &opts }) }

// OpenAPI moves the OpenAPI document (default /openapi.json; the YAML
// form is served beside it with .yaml). An empty path turns both it and
// the docs off.
func OpenAPI(path string) Option { return appOption(func(c *config) { c.openAPIPath = path }) }

// Docs moves Swagger UI (default /docs); an empty path turns it off.
func Docs(path string) Option { return appOption(func(c *config) { c.docsPath = path }) }

// AsyncAPI moves the AsyncAPI document of the realtime API (default
// /asyncapi.json; the YAML form is served beside it with .yaml, and its
// page at the path without .json, /asyncapi). An App serves them only
// once it has a realtime channel (ws.Watch, a ws.Manager.Handler given
// to Handle, AddChannel). An empty path turns all three off.
func AsyncAPI(path string) Option {
	if path != "" && (!strings.HasPrefix(path, "/") || !strings.HasSuffix(path, ".json")) {
		panic(fmt.Sprintf("easy: AsyncAPI(%q): want a path like /asyncapi.json", path))
	}
	return appOption(func(c *config) { c.asyncAPIPath = path })
}

// Title sets the API's title and version in the OpenAPI document.
func Title(title, version string) Option {
	return appOption(func(c *config) { c.title, c.version = title, version })
}

// Servers lists the API's base URLs in the OpenAPI document.
func Servers(urls ...string) Option { return appOption(func(c *config) { c.servers = urls }) }

// ShutdownTimeout bounds how long Run waits for in-flight requests when
// it stops; 10 s by default.
func ShutdownTimeout(d time.Duration) Option {
	return appOption(func(c *config) { c.shutdownTimeout = d })
}

// HeaderTimeout bounds the time a client has to send a request's line
// and headers, from its first byte; past it Serve closes the connection.
// 10 s by default.
func HeaderTimeout(d time.Duration) Option {
	positive("HeaderTimeout", d)
	return appOption(func(c *config) { c.headerTimeout = d })
}

// MinBodyRate sets how fast a request body must arrive: while a handler
// reads it, the time spent waiting for its bytes may not pass grace plus
// one second for each bytesPerSecond bytes received. A body that falls
// behind is answered 408 {"detail":"Request Timeout"} and its connection
// closed. An upload that keeps the pace is never cut, however long it
// takes; one that trickles is cut after about grace. 1 KiB/s after 10 s
// by default.
func MinBodyRate(bytesPerSecond int64, grace time.Duration) Option {
	if bytesPerSecond <= 0 {
		panic(fmt.Sprintf("easy: MinBodyRate needs a positive rate, not %d bytes a second", bytesPerSecond))
	}
	positive("MinBodyRate's grace", grace)
	return appOption(func(c *config) { c.bodyRate, c.bodyGrace = bytesPerSecond, grace })
}

// WriteTimeout bounds the time from the end of a request (its headers,
// and its body once read to the end) to the end of writing its response;
// past it Serve closes the connection. 60 s by default. A handler that
// streams a long response extends its own deadline with
// http.NewResponseController(w).SetWriteDeadline. WebSocket connections,
// which are hijacked, are not bound by it.
func WriteTimeout(d time.Duration) Option {
	positive("WriteTimeout", d)
	return appOption(func(c *config) { c.writeTimeout = d })
}

// IdleTimeout bounds how long Serve keeps a connection open between two
// requests. 120 s by default: longer than the 60 s idle timeout of the
// usual load balancers, so that they, not the App, close idle
// connections.
func IdleTimeout(d time.Duration) Option {
	positive("IdleTimeout", d)
	return appOption(func(c *config) { c.idleTimeout = d })
}

// MaxConnections bounds the connections Serve holds at once. Past n it
// stops accepting: a connection that comes meanwhile waits, unanswered, in
// the kernel's listen backlog until one closes. To make room the one idle
// longest between two requests is closed once it has been idle a second,
// and, while a connection waits, responses say Connection: close. A connection counts from its
// accept to its close, a WebSocket's and a server-sent event stream's too,
// so n must exceed ws.MaxConnections by the plain connections to serve
// beside them, or a WebSocket past n waits instead of getting the
// Manager's 503. Over TLS (a tls.Listener given to Serve) a hijacked
// connection, a WebSocket's, counts only until its hijack: net/http hands
// over the *tls.Conn itself, whose close the App cannot see. Zero means no
// bound. 20,000 by default: ws.MaxConnections' default of 10,000, and as
// many again.
func MaxConnections(n int) Option {
	if n < 0 {
		panic(fmt.Sprintf("easy: MaxConnections(%d): negative", n))
	}
	return appOption(func(c *config) { c.maxConns = n })
}

func positive(name string, d time.Duration) {
	if d <= 0 {
		panic(fmt.Sprintf("easy: %s must be positive, not %s", name, d))
	}
}

// NoMigrate stops the App from auto-migrating models, those of the
// routers Include mounts and those given to App.AutoMigrate: for a
// schema that versioned migrations (Migrations) or migrations of one's
// own manage. The migrate command's plan still shows what AutoMigrate
// would run.
func NoMigrate() Option { return appOption(func(c *config) { c.migrate = false }) }

// Description sets the API's description in the OpenAPI document, given
// to New, or an operation's, given to Get and the like (Markdown both).
func Description(text string) DocOption {
	return docOption{
		app: func(c *config) { c.description = text },
		op:  func(o *operation) { o.op.Description = text },
	}
}

// ForbidUnknownFields rejects request bodies with properties the input
// does not declare (422 extra_forbidden), which are ignored by default:
// for every operation and CRUD route of the App, of a Group, or for one
// operation.
func ForbidUnknownFields() SharedOption { return unknownFields(true) }

// AllowUnknownFields ignores request bodies' properties the input does
// not declare, as by default: for a Group or an operation of an App (or a
// Group) that forbids them.
func AllowUnknownFields() SharedOption { return unknownFields(false) }

func unknownFields(forbid bool) SharedOption {
	return sharedOption{
		app: func(c *config) { c.forbidUnknown = forbid },
		groupOption: groupOption{
			group: func(g *Group) { g.forbidUnknown = &forbid },
			op:    func(o *operation) { o.forbidUnknown = &forbid },
		},
	}
}

// Summary sets the operation's summary in the OpenAPI document.
func Summary(s string) OperationOption {
	return operationOption(func(o *operation) { o.op.Summary = s })
}

// OperationID sets the operation's ID; by default it is made from the
// method and path (get_items_id for GET /items/{id}).
func OperationID(id string) OperationOption {
	return operationOption(func(o *operation) { o.op.ID = id })
}

// Deprecated marks the operation deprecated.
func Deprecated() OperationOption {
	return operationOption(func(o *operation) { o.op.Deprecated = true })
}

// Status sets the success status (201 for a create, say).
func Status(code int) OperationOption {
	return operationOption(func(o *operation) { o.op.Status = code })
}

// Errors documents error statuses the handler returns (404, 409, ...).
// 422 is documented by itself for operations that take input.
func Errors(codes ...int) OperationOption {
	return operationOption(func(o *operation) { o.op.Errors = append(o.op.Errors, codes...) })
}

// Tags adds tags that group operations in the docs: those of a Group
// come before an operation's own.
func Tags(tags ...string) GroupOption {
	return groupOption{
		group: func(g *Group) { g.tags = append(g.tags, tags...) },
		op:    func(o *operation) { o.op.Tags = append(o.op.Tags, tags...) },
	}
}

// Middleware wraps a Group's operations (and the routes of the routers
// it includes), or one operation, in mw. A Group's middleware runs
// before its operations' own.
func Middleware(mw ...func(http.Handler) http.Handler) GroupOption {
	return groupOption{
		group: func(g *Group) { g.middleware = append(g.middleware, mw...) },
		op:    func(o *operation) { o.middleware = append(o.middleware, mw...) },
	}
}

// Uses makes a Group's operations (and the routes of the routers it
// includes), or one operation, resolve deps, in order, before the
// handler, and documents their parameters, security and errors with
// them. A Group's dependencies are resolved before an operation's own.
func Uses(deps ...Dep) GroupOption {
	return groupOption{
		group: func(g *Group) { g.uses = append(g.uses, deps...) },
		op:    func(o *operation) { o.uses = append(o.uses, deps...) },
	}
}
