package crud

import (
	"fmt"
	"net/http"
	"strings"

	"github.com/fastapi-easy/easy-go/easy/query"
)

// Route names one route of a Router, for the options that pick or
// configure routes.
type Route string

// The routes of a Router.
const (
	ListRoute      Route = "list"       // GET    /items
	CreateRoute    Route = "create"     // POST   /items
	GetRoute       Route = "get"        // GET    /items/{id}
	ReplaceRoute   Route = "replace"    // PUT    /items/{id}
	UpdateRoute    Route = "update"     // PATCH  /items/{id}
	DeleteRoute    Route = "delete"     // DELETE /items/{id}
	DeleteAllRoute Route = "delete_all" // DELETE /items, only with DeleteAll()
	BatchRoute     Route = "batch"      // POST   /items/batch, only with Batch()
)

// routes lists every route in the order they are mounted.
var routes = [...]Route{ListRoute, CreateRoute, GetRoute, ReplaceRoute, UpdateRoute, DeleteRoute, DeleteAllRoute, BatchRoute}

func (r Route) valid() bool {
	for _, x := range routes {
		if r == x {
			return true
		}
	}
	return false
}

// Option configures a Router. It is one type for every model: what
// depends on the model, the hooks and the custom inputs, is set with
// methods of Router[T] instead, so that the compiler checks it.
type Option func(*config)

type config struct {
	prefix    *string
	tags      []string
	exclude   map[Route]bool
	only      map[Route]bool
	mw        []func(http.Handler) http.Handler
	routeMW   map[Route][]func(http.Handler) http.Handler
	pageSize  int
	maxPage   int
	maxIn     int
	maxConds  int      // 0: query.DefaultMaxConditions
	maxValues int      // 0: query.DefaultMaxValues
	filter    []string // nil: every field that can be filtered
	sort      []string // nil: every field that can be sorted
	deleteAll bool
	batch     bool
	maxBatch  int
	deleted   bool
	ids       map[Route]string
	singular  string
	plural    string
	schema    string
	errors    []int
	forbid    *bool // nil: as the App says
	uses      []Requirement
	routeUses map[Route][]Requirement
	policy    *query.Policy
	create    *input
	update    *input
	cursorKey []byte   // nil: query.DefaultCursorKey of the table
	problems  []string // option mistakes, reported by New
}

func defaultConfig() config {
	return config{pageSize: query.DefaultLimit, maxPage: query.DefaultMaxLimit, maxIn: query.DefaultMaxIn, maxBatch: DefaultMaxBatch}
}

// Prefix mounts the routes under prefix instead of "/" + the table name.
func Prefix(prefix string) Option {
	return func(c *config) {
		p := "/" + strings.Trim(prefix, "/")
		if p == "/" {
			p = ""
		}
		c.prefix = &p
	}
}

// Tags sets the tags that group the routes in the docs; the table name by
// default.
func Tags(tags ...string) Option {
	return func(c *config) { c.tags = append(c.tags, tags...) }
}

// Exclude leaves routes out: they are neither served nor documented.
func Exclude(routes ...Route) Option {
	return func(c *config) {
		if c.exclude == nil {
			c.exclude = map[Route]bool{}
		}
		for _, r := range routes {
			c.check(r, "Exclude")
			c.exclude[r] = true
		}
	}
}

// Only mounts the given routes and no others.
func Only(routes ...Route) Option {
	return func(c *config) {
		if c.only == nil {
			c.only = map[Route]bool{}
		}
		for _, r := range routes {
			c.check(r, "Only")
			c.only[r] = true
		}
	}
}

// Middleware wraps every route in mw (chi middleware), outside the
// middleware of RouteMiddleware.
func Middleware(mw ...func(http.Handler) http.Handler) Option {
	return func(c *config) { c.mw = append(c.mw, mw...) }
}

// RouteMiddleware wraps one route in mw: authentication on the writes
// alone, say.
func RouteMiddleware(route Route, mw ...func(http.Handler) http.Handler) Option {
	return func(c *config) {
		c.check(route, "RouteMiddleware")
		if c.routeMW == nil {
			c.routeMW = map[Route][]func(http.Handler) http.Handler{}
		}
		c.routeMW[route] = append(c.routeMW[route], mw...)
	}
}

// PageSize sets the number of rows a list returns when the request has no
// limit (100 by default) and the largest limit it accepts (1000).
func PageSize(def, max int) Option {
	return func(c *config) {
		if def < 0 || max < 1 || def > max {
			c.problems = append(c.problems, fmt.Sprintf("PageSize(%d, %d): want 0 <= default <= max and max >= 1", def, max))
			return
		}
		c.pageSize, c.maxPage = def, max
	}
}

// MaxInValues sets how many values a filter with the in operator takes;
// 500 by default.
func MaxInValues(n int) Option {
	return count("MaxInValues", n, func(c *config) *int { return &c.maxIn })
}

// MaxConditions sets how many filter conditions a list may have (100 by
// default), and MaxValues how many values they may compare with in all,
// each value of an in filter counted (1,000 by default): past them a list
// is a 422 naming the limit, where the database would refuse the SQL.
func MaxConditions(n int) Option {
	return count("MaxConditions", n, func(c *config) *int { return &c.maxConds })
}

// MaxValues sets how many values a list's filters may compare with in
// all; see MaxConditions.
func MaxValues(n int) Option {
	return count("MaxValues", n, func(c *config) *int { return &c.maxValues })
}

// count is an option that sets the bound field returns to n, at least 1.
func count(name string, n int, field func(*config) *int) Option {
	return func(c *config) {
		if n < 1 {
			c.problems = append(c.problems, fmt.Sprintf("%s(%d): want at least 1", name, n))
			return
		}
		*field(c) = n
	}
}

// CursorKey sets the key that signs the cursors of keyset pages
// (?cursor=), so that a changed or forged cursor is a 422. Every instance
// must have the same key. By default the key is derived from the table:
// the same everywhere with no configuration, and enough to catch a
// changed cursor, but anyone who reads the docs can make one (which can
// only choose where a page starts).
func CursorKey(key []byte) Option {
	return func(c *config) {
		if len(key) == 0 {
			c.problems = append(c.problems, "CursorKey: empty key")
			return
		}
		c.cursorKey = append([]byte(nil), key...)
	}
}

// Filterable limits the fields a list can be filtered by to those named
// (JSON names). By default every column of a scalar type can be.
func Filterable(fields ...string) Option {
	return func(c *config) { c.filter = append(make([]string, 0, len(fields)), fields...) }
}

// Sortable limits the fields a list can be sorted by to those named (JSON
// names). By default every column of a scalar type can be.
func Sortable(fields ...string) Option {
	return func(c *config) { c.sort = append(make([]string, 0, len(fields)), fields...) }
}

// DeleteAll mounts DELETE on the collection, which deletes every row (soft
// deleting when the model has gorm.DeletedAt). It is off by default, as
// one request would empty the table.
func DeleteAll() Option { return func(c *config) { c.deleteAll = true } }

// Batch mounts POST on /items/batch, which runs a list of creates,
// replaces, updates and deletes in one transaction: all or nothing. It is
// off by default. A batch takes the operations whose single routes are
// mounted, and asks for what every one of them could need: the
// dependencies (RouteUses) and middleware (RouteMiddleware) of each write
// route, then its own.
func Batch() Option { return func(c *config) { c.batch = true } }

// DefaultMaxBatch is how many operations a batch takes unless MaxBatch
// says otherwise.
const DefaultMaxBatch = 1000

// MaxBatch sets how many operations a batch takes (1,000 by default);
// past it a batch is a 422. The App's body limit (1 MiB by default) bounds
// its size in bytes too.
func MaxBatch(n int) Option {
	return count("MaxBatch", n, func(c *config) *int { return &c.maxBatch })
}

// IncludeDeleted lets a list or read of a soft-deleted model ask for
// deleted rows too, with include_deleted=true. It is off by default, so
// that deleted rows stay gone unless the router says otherwise.
func IncludeDeleted() Option { return func(c *config) { c.deleted = true } }

// OperationID overrides the operation ID of a route (list_items,
// create_item, ...).
func OperationID(route Route, id string) Option {
	return func(c *config) {
		c.check(route, "OperationID")
		if c.ids == nil {
			c.ids = map[Route]string{}
		}
		c.ids[route] = id
	}
}

// Name sets the singular and plural names the operation IDs are made of:
// Name("product", "products") gives list_products, create_product, and so
// on. By default they come from the model's type name and its table.
// Two routers over one model need different names.
func Name(singular, plural string) Option {
	return func(c *config) { c.singular, c.plural = singular, plural }
}

// SchemaName sets the name the derived schemas start with (ItemCreate,
// ItemUpdate, ItemPatch); the model's type name by default.
func SchemaName(name string) Option { return func(c *config) { c.schema = name } }

// Errors documents more error statuses on every route: those a hook or a
// middleware returns, such as 401 or 403.
func Errors(codes ...int) Option {
	return func(c *config) { c.errors = append(c.errors, codes...) }
}

// ForbidUnknownFields rejects request bodies with properties the input
// does not take, read-only fields among them, with 422 (extra_forbidden)
// instead of ignoring them. By default the router follows its App
// (easy.ForbidUnknownFields).
func ForbidUnknownFields() Option {
	return func(c *config) { c.forbid = new(true) }
}

// AllowUnknownFields ignores body properties the input does not take,
// even when the App forbids them: for a router whose clients send more
// than it reads.
func AllowUnknownFields() Option {
	return func(c *config) { c.forbid = new(false) }
}

func (c *config) check(r Route, option string) {
	if !r.valid() {
		c.problems = append(c.problems, fmt.Sprintf("%s: unknown route %q", option, r))
	}
}

// enabled reports whether route r is mounted.
func (c *config) enabled(r Route) bool {
	if r == DeleteAllRoute && !c.deleteAll || r == BatchRoute && !c.batch {
		return false
	}
	if c.only != nil && !c.only[r] {
		return false
	}
	return !c.exclude[r]
}
