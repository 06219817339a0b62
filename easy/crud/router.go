package crud

import (
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"reflect"
	"strconv"
	"strings"

	"gorm.io/gorm"

	"github.com/fastapi-easy/easy-go/easy/problem"
	"github.com/fastapi-easy/easy-go/easy/query"
	"github.com/fastapi-easy/easy-go/easy/route"
	"github.com/fastapi-easy/easy-go/internal/binding"
	"github.com/fastapi-easy/easy-go/internal/handler"
	"github.com/fastapi-easy/easy-go/internal/model"
)

// Router is the CRUD API of the model T over GORM. Make one with New (or
// easy.CRUDRouter) and include it in an App or a Group, which migrates T
// and mounts the routes.
//
// What depends on T, the hooks and the custom inputs, is set with the
// Router's methods rather than with Options, so that the compiler refuses
// a hook written for another model: an Option has one type for every
// model, as Go would not infer T for crud.Prefix("/x").
type Router[T any] struct {
	core
	hooks hooks[T]
}

// core is what a Router knows once mounted, whatever its T.
type core struct {
	cfg           config
	typ           reflect.Type // T
	mounted       bool
	m             *model.Model
	db            *gorm.DB
	log           *slog.Logger
	parser        *query.Parser
	idType        reflect.Type // struct{ID K `path:"id"`}
	idPlan        *binding.Plan
	fastID        bool         // the key has no constraints to check: bindID parses it itself
	forbid        bool         // bodies with unknown fields are refused
	batchHeadType reflect.Type // the id and if_match of an operation of a batch
	batchHeadPlan *binding.Plan
	resultType    reflect.Type  // batchResult[T]
	create        *binding.Plan // the body of POST: T less its read-only fields, or the CreateInput
	replace       *binding.Plan // the body of PUT
	patch         *binding.Plan // the body of PATCH: any subset of PUT's
	replaceCols   []string      // the columns PUT writes
	names         names
	// queryNames are the query parameters each route but the list
	// documents, its dependencies' among them: the only ones it takes.
	queryNames map[Route][]string
}

// names are the names a Router gives its operations and schemas.
type names struct {
	singular, plural string
	ids              map[Route]string
	schema           string // ItemCreate, ItemUpdate and ItemPatch start with it
}

// New returns the CRUD router of T. A mistake in opts (an unknown route, a
// page size out of range) panics, as it is found at start-up; a mistake
// in T (no primary key, an unknown Filterable field) is an error of
// Mount. Hooks and custom inputs, which depend on T, are set with the
// Router's methods before it is included.
func New[T any](opts ...Option) *Router[T] {
	cfg := defaultConfig()
	for _, o := range opts {
		o(&cfg)
	}
	if len(cfg.problems) > 0 {
		panic("crud: " + strings.Join(cfg.problems, "; "))
	}
	return &Router[T]{core: core{cfg: cfg, typ: reflect.TypeFor[T]()}}
}

// Models returns T, for the App to migrate before it mounts the router.
func (rt *Router[T]) Models() []any { return []any{new(T)} }

// Mount adds the routes to r, an App or a Group, and documents them in its
// OpenAPI document. A Router is mounted once.
func (rt *Router[T]) Mount(r route.Site) error {
	if rt.mounted {
		return errors.New("crud: a Router is mounted once; make another for another prefix")
	}
	if err := rt.setup(r); err != nil {
		return err
	}
	if rt.cfg.enabled(BatchRoute) && len(rt.batchOps()) == 0 {
		return errors.New("crud: Batch: the Router mounts none of the routes a batch does (create, replace, update, delete)")
	}
	rt.resultType = reflect.TypeFor[batchResult[T]]()
	if err := rt.document(r); err != nil {
		return err
	}
	handlers := map[Route]http.HandlerFunc{
		ListRoute: rt.list, CreateRoute: rt.createOne, GetRoute: rt.get, ReplaceRoute: rt.replaceOne,
		UpdateRoute: rt.update, DeleteRoute: rt.deleteOne, DeleteAllRoute: rt.deleteAll, BatchRoute: rt.batch,
	}
	rt.queryNames = map[Route][]string{}
	for _, op := range rt.operations() {
		handler := handlers[op.route]
		if op.route != ListRoute && op.route != GetRoute { // those two read the query
			handler = rt.takingNoQuery(op.route, handler)
		}
		h := r.Require(&op.op, handler, rt.requirements(op.route)...)
		// The parameters of the route's dependencies, its own and its
		// Group's, as documented: the query parameters among them are
		// theirs, not unknown, nor filters of the list.
		added := r.Add(op.op, rt.wrap(op.route, h))
		var deps []string
		for _, p := range added.Params {
			deps = append(deps, binding.ParamNames(p, "query")...)
		}
		switch op.route {
		case ListRoute:
			rt.parser.Accept(deps...)
		case GetRoute:
			// Parser.Deleted says whether a read takes include_deleted.
			rt.queryNames[op.route] = append(binding.ParamNames(added.Input, "query"), append(deps, "include_deleted")...)
		default:
			rt.queryNames[op.route] = append(binding.ParamNames(added.Input, "query"), deps...)
		}
	}
	rt.mounted = true
	return nil
}

// ParseFilter parses filters as the list route does, on the fields it can
// filter by; see the package function ParseFilter. The Router must be
// mounted.
func (rt *Router[T]) ParseFilter(values map[string]string) (*query.Filter, error) {
	if !rt.mounted {
		return nil, errors.New("crud: ParseFilter: the Router is not mounted")
	}
	return rt.parser.Filter(values)
}

// setup reads T's schema with the database's naming strategy and compiles
// the bindings of the routes.
func (c *core) setup(r route.Site) error {
	t := c.typ
	db := r.DB()
	sch, err := model.Parse(t, db)
	if err != nil {
		return fmt.Errorf("crud: %s: %w", t, err)
	}
	m, err := model.New(t, sch, c.cfg.filter, c.cfg.sort)
	if err != nil {
		return fmt.Errorf("crud: %w", err)
	}
	m.Dialect = db.Dialector.Name()
	c.m, c.db, c.log = m, db, r.Logger()
	c.parser, err = query.New(reflect.New(t).Interface(), db, query.Config{
		DefaultLimit: c.cfg.pageSize, MaxLimit: c.cfg.maxPage, MaxIn: c.cfg.maxIn, MaxConditions: c.cfg.maxConds, MaxValues: c.cfg.maxValues,
		Filterable: c.cfg.filter, Sortable: c.cfg.sort, IncludeDeleted: c.cfg.deleted, CursorKey: c.cfg.cursorKey,
	})
	if err != nil {
		return fmt.Errorf("crud: %w", err)
	}
	if pol := c.cfg.policy; pol != nil {
		if err := c.parser.Check(pol); err != nil {
			return fmt.Errorf("crud: Policy: %w", err)
		}
	}

	forbid := r.ForbidsUnknownFields()
	if c.cfg.forbid != nil {
		forbid = *c.cfg.forbid
	}
	c.forbid = forbid
	notCreate := m.Names(func(f *model.Field) bool { return !f.Create })
	notUpdate := m.Names(func(f *model.Field) bool { return !f.Update })
	compile := func(t reflect.Type, exclude []string, optional bool) (*binding.Plan, error) {
		return binding.Compile(t, binding.Options{
			ObjectOptions: binding.ObjectOptions{Exclude: exclude, ForbidUnknown: forbid, Optional: optional},
			PathValue:     handler.PathValue,
		})
	}
	if in := c.cfg.create; in != nil {
		c.create, err = compile(in.typ, nil, false)
	} else {
		c.create, err = compile(t, notCreate, false)
	}
	if err != nil {
		return fmt.Errorf("crud: create body: %w", err)
	}
	if in := c.cfg.update; in != nil {
		c.replace, err = compile(in.typ, nil, false)
	} else {
		c.replace, err = compile(t, notUpdate, false)
	}
	if err != nil {
		return fmt.Errorf("crud: replace body: %w", err)
	}
	if c.patch, err = compile(t, notUpdate, true); err != nil {
		return fmt.Errorf("crud: update body: %w", err)
	}

	c.idType = reflect.StructOf([]reflect.StructField{{
		Name: "ID", Type: m.PK.Type, Tag: idTag(m),
	}})
	if c.idPlan, err = compile(c.idType, nil, false); err != nil {
		return fmt.Errorf("crud: primary key: %w", err)
	}
	c.batchHeadType = c.batchHead()
	if c.batchHeadPlan, err = binding.Compile(c.batchHeadType, binding.Options{}); err != nil {
		return fmt.Errorf("crud: batch: %w", err)
	}
	c.fastID = true
	for _, key := range idConstraints {
		if _, ok := c.idType.Field(0).Tag.Lookup(key); ok {
			c.fastID = false
		}
	}
	if _, ok := m.PK.Tag.Lookup("enum"); ok {
		c.fastID = false
	}
	c.names = c.nameRoutes()
	c.replaceCols = m.Columns(model.Updatable)
	return nil
}

// idConstraints are the constraint tags of a key that the {id} parameter
// keeps.
var idConstraints = []string{"format", "pattern", "minLength", "maxLength", "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"}

// idTag is the tag of the {id} path parameter: the primary key's
// constraints and description, so the path checks what the body would.
// A key in a uuid column is a UUID, format:"uuid" or not: any other text
// is refused before the database is asked, which PostgreSQL would refuse
// and SQLite would look for.
func idTag(m *model.Model) reflect.StructTag {
	tag := `path:"id"`
	for _, key := range append(idConstraints, "description", "example") {
		if v, ok := m.PK.Tag.Lookup(key); ok {
			tag += fmt.Sprintf(" %s:%q", key, v)
		}
	}
	if _, ok := m.PK.Tag.Lookup("format"); !ok && m.PK.UUID() {
		tag += ` format:"uuid"`
	}
	if _, ok := m.PK.Tag.Lookup("description"); !ok {
		tag += fmt.Sprintf(" description:%q", "The "+m.PK.Name+" of the "+strings.ToLower(m.Name)+".")
	}
	return reflect.StructTag(tag)
}

// nameRoutes makes the operation IDs: list_items, create_item, ...
func (c *core) nameRoutes() names {
	n := names{singular: c.cfg.singular, plural: c.cfg.plural, schema: c.cfg.schema}
	if n.singular == "" {
		n.singular = snake(c.m.Name)
	}
	if n.plural == "" {
		n.plural = c.m.Table[strings.LastIndexByte(c.m.Table, '.')+1:]
	}
	if n.schema == "" {
		n.schema = c.m.Name
	}
	n.ids = map[Route]string{
		ListRoute:      "list_" + n.plural,
		CreateRoute:    "create_" + n.singular,
		GetRoute:       "get_" + n.singular,
		ReplaceRoute:   "replace_" + n.singular,
		UpdateRoute:    "update_" + n.singular,
		DeleteRoute:    "delete_" + n.singular,
		DeleteAllRoute: "delete_all_" + n.plural,
		BatchRoute:     "batch_" + n.plural,
	}
	for r, id := range c.cfg.ids {
		n.ids[r] = id
	}
	return n
}

// prefix is the path the routes are under: "/" + the table name by default.
func (c *core) prefix() string {
	if c.cfg.prefix != nil {
		return *c.cfg.prefix
	}
	return "/" + c.names.plural
}

// wrap puts a route's handler in its middleware: the Router's outside the
// route's own. A batch has the middleware of every write route it may do,
// then its own.
func (c *core) wrap(r Route, h http.Handler) http.Handler {
	var mw []func(http.Handler) http.Handler
	for _, br := range c.batchRoutes(r) {
		mw = append(mw, c.cfg.routeMW[br]...)
	}
	mw = append(mw, c.cfg.routeMW[r]...)
	for i := len(mw) - 1; i >= 0; i-- {
		h = mw[i](h)
	}
	for i := len(c.cfg.mw) - 1; i >= 0; i-- {
		h = c.cfg.mw[i](h)
	}
	return h
}

// bindID reads and checks the {id} of a request. A key without
// constraint tags is parsed directly; the binding reports what is wrong.
func (c *core) bindID(r *http.Request) (any, error) {
	if c.fastID {
		s := handler.PathValue(r, "id")
		switch c.m.PK.Kind {
		case model.KindInt:
			if n, err := strconv.ParseInt(s, 10, c.m.PK.Base.Bits()); err == nil {
				return n, nil
			}
		case model.KindUint:
			if n, err := strconv.ParseUint(s, 10, c.m.PK.Base.Bits()); err == nil && n <= math.MaxInt64 {
				return n, nil
			}
		case model.KindString:
			if model.CheckText(s) == nil { // a key in a uuid column has format:"uuid" (idTag): not fastID
				return s, nil
			}
		}
	}
	v := reflect.New(c.idType)
	if err := c.idPlan.Bind(r, v.Interface()); err != nil {
		return nil, err
	}
	id := v.Elem().Field(0)
	switch c.m.PK.Kind {
	case model.KindUint:
		if id.Uint() > math.MaxInt64 {
			// No row has it: databases store keys as signed 64-bit integers.
			return nil, c.notFound()
		}
	case model.KindString:
		s, fe := c.m.PK.StoredText(id.String())
		if fe != nil {
			fe.Loc = []any{"path", "id"}
			return nil, &problem.ValidationError{Errors: []problem.FieldError{*fe}}
		}
		id.SetString(s)
	}
	return id.Interface(), nil
}
