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
	"gorm.io/gorm/clause"

	"github.com/fastapi-easy/easy-go/easy/problem"
	"github.com/fastapi-easy/easy-go/easy/route"
	"github.com/fastapi-easy/easy-go/internal/binding"
	"github.com/fastapi-easy/easy-go/internal/handler"
)

// Router is the CRUD API of the model T over GORM. Make one with New (or
// easy.CRUDRouter) and include it in an App or a Group, which migrates T
// and mounts the routes.
type Router[T any] struct {
	core
	hooks hooks[T]
}

// core is what a Router knows once mounted, whatever its T.
type core struct {
	cfg         config
	typ         reflect.Type // T
	mounted     bool
	m           *model
	db          *gorm.DB
	log         *slog.Logger
	parser      *parser
	idType      reflect.Type // struct{ID K `path:"id"`}
	idPlan      *binding.Plan
	fastID      bool           // the key has no constraints to check: bindID parses it itself
	create      *binding.Plan  // the body of POST: T less its read-only fields, or the CreateInput
	replace     *binding.Plan  // the body of PUT
	patch       *binding.Plan  // the body of PATCH: any subset of PUT's
	replaceCols []string       // the columns PUT writes
	byKey       clause.OrderBy // the order of a list without sort
	names       names
}

// names are the names a Router gives its operations and schemas.
type names struct {
	singular, plural string
	ids              map[Route]string
	schema           string // ItemCreate, ItemUpdate and ItemPatch start with it
}

// New returns the CRUD router of T. A mistake in opts (a hook for another
// type, an unknown route) panics, as it is found at start-up; a mistake
// in T (no primary key, an unknown Filterable field) is an error of Mount.
func New[T any](opts ...Option) *Router[T] {
	cfg := defaultConfig()
	for _, o := range opts {
		o(&cfg)
	}
	t := reflect.TypeFor[T]()
	for _, in := range []*input{cfg.create, cfg.update} {
		if in != nil && in.model != t {
			cfg.problems = append(cfg.problems, fmt.Sprintf("custom input %s converts to %s, not %s", in.typ, in.model, t))
		}
	}
	h, err := newHooks[T](cfg.hooks)
	if err != nil {
		cfg.problems = append(cfg.problems, err.Error())
	}
	if len(cfg.problems) > 0 {
		panic("crud: " + strings.Join(cfg.problems, "; "))
	}
	return &Router[T]{core: core{cfg: cfg, typ: t}, hooks: h}
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
	if err := rt.document(r); err != nil {
		return err
	}
	handlers := map[Route]http.HandlerFunc{
		ListRoute: rt.list, CreateRoute: rt.createOne, GetRoute: rt.get, ReplaceRoute: rt.replaceOne,
		UpdateRoute: rt.update, DeleteRoute: rt.deleteOne, DeleteAllRoute: rt.deleteAll,
	}
	for _, op := range rt.operations() {
		h := r.Require(&op.op, handlers[op.route], rt.requirements(op.route)...)
		r.Add(op.op, rt.wrap(op.route, h))
	}
	rt.mounted = true
	return nil
}

// ParseFilter parses filters as the list route does, on the fields it can
// filter by; see the package function ParseFilter. The Router must be
// mounted.
func (rt *Router[T]) ParseFilter(values map[string]string) (*Filter[T], error) {
	if !rt.mounted {
		return nil, errors.New("crud: ParseFilter: the Router is not mounted")
	}
	f, err := rt.parser.filter(values)
	if err != nil {
		return nil, err
	}
	return &Filter[T]{f}, nil
}

// setup reads T's schema with the database's naming strategy and compiles
// the bindings of the routes.
func (c *core) setup(r route.Site) error {
	t := c.typ
	db := r.DB()
	sch, err := parseSchema(t, db)
	if err != nil {
		return fmt.Errorf("crud: %s: %w", t, err)
	}
	m, err := newModel(t, sch, c.cfg.filter, c.cfg.sort)
	if err != nil {
		return err
	}
	m.dialect = db.Dialector.Name()
	c.m, c.db, c.log = m, db, r.Logger()
	if err := c.setupScope(); err != nil {
		return err
	}
	if c.parser, err = newParser(m, c.cfg.pageSize, c.cfg.maxPage, c.cfg.maxIn, c.cfg.deleted); err != nil {
		return err
	}

	forbid := r.ForbidsUnknownFields()
	if c.cfg.forbid != nil {
		forbid = *c.cfg.forbid
	}
	notCreate := m.names(func(f *field) bool { return !f.create })
	notUpdate := m.names(func(f *field) bool { return !f.update })
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
		Name: "ID", Type: m.pk.typ, Tag: idTag(m),
	}})
	if c.idPlan, err = compile(c.idType, nil, false); err != nil {
		return fmt.Errorf("crud: primary key: %w", err)
	}
	c.fastID = true
	for _, key := range idConstraints {
		if _, ok := m.pk.tag.Lookup(key); ok {
			c.fastID = false
		}
	}
	if _, ok := m.pk.tag.Lookup("enum"); ok {
		c.fastID = false
	}
	c.names = c.nameRoutes()
	c.replaceCols = m.columns(updatable)
	c.byKey = clause.OrderBy{Columns: []clause.OrderByColumn{{Column: m.pk.column}}}
	return nil
}

// idConstraints are the constraint tags of a key that the {id} parameter
// keeps.
var idConstraints = []string{"format", "pattern", "minLength", "maxLength", "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"}

// idTag is the tag of the {id} path parameter: the primary key's
// constraints and description, so the path checks what the body would.
func idTag(m *model) reflect.StructTag {
	tag := `path:"id"`
	for _, key := range append(idConstraints, "description", "example") {
		if v, ok := m.pk.tag.Lookup(key); ok {
			tag += fmt.Sprintf(" %s:%q", key, v)
		}
	}
	if _, ok := m.pk.tag.Lookup("description"); !ok {
		tag += fmt.Sprintf(" description:%q", "The "+m.pk.name+" of the "+strings.ToLower(m.name)+".")
	}
	return reflect.StructTag(tag)
}

// nameRoutes makes the operation IDs: list_items, create_item, ...
func (c *core) nameRoutes() names {
	n := names{singular: c.cfg.singular, plural: c.cfg.plural, schema: c.cfg.schema}
	if n.singular == "" {
		n.singular = snake(c.m.name)
	}
	if n.plural == "" {
		n.plural = c.m.table[strings.LastIndexByte(c.m.table, '.')+1:]
	}
	if n.schema == "" {
		n.schema = c.m.name
	}
	n.ids = map[Route]string{
		ListRoute:      "list_" + n.plural,
		CreateRoute:    "create_" + n.singular,
		GetRoute:       "get_" + n.singular,
		ReplaceRoute:   "replace_" + n.singular,
		UpdateRoute:    "update_" + n.singular,
		DeleteRoute:    "delete_" + n.singular,
		DeleteAllRoute: "delete_all_" + n.plural,
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
// route's own.
func (c *core) wrap(r Route, h http.Handler) http.Handler {
	mw := c.cfg.routeMW[r]
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
		switch c.m.pk.kind {
		case kindInt:
			if n, err := strconv.ParseInt(s, 10, c.m.pk.base.Bits()); err == nil {
				return n, nil
			}
		case kindUint:
			if n, err := strconv.ParseUint(s, 10, c.m.pk.base.Bits()); err == nil && n <= math.MaxInt64 {
				return n, nil
			}
		case kindString:
			if checkText(s) == nil {
				return s, nil
			}
		}
	}
	v := reflect.New(c.idType)
	if err := c.idPlan.Bind(r, v.Interface()); err != nil {
		return nil, err
	}
	id := v.Elem().Field(0)
	switch c.m.pk.kind {
	case kindUint:
		if id.Uint() > math.MaxInt64 {
			// No row has it: databases store keys as signed 64-bit integers.
			return nil, c.notFound()
		}
	case kindString:
		if fe := checkText(id.String()); fe != nil {
			fe.Loc = []any{"path", "id"}
			return nil, &problem.ValidationError{Errors: []problem.FieldError{*fe}}
		}
	}
	return id.Interface(), nil
}
