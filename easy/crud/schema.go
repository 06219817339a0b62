package crud

import (
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
	"gorm.io/gorm/schema"
)

// kind is the scalar type of a field, for filters and sorting.
type kind uint8

const (
	kindOther kind = iota // not filterable or sortable
	kindString
	kindInt
	kindUint
	kindFloat
	kindBool
	kindTime
)

func (k kind) String() string {
	return [...]string{"other", "string", "integer", "integer", "number", "boolean", "date-time"}[k]
}

// field is one JSON field of the model, with its column when it has one.
type field struct {
	name     string // JSON name
	bind     string // Go path, as gorm names it: "Model.ID"
	index    []int
	typ      reflect.Type // as declared
	tag      reflect.StructTag
	base     reflect.Type // without a pointer
	kind     kind
	gorm     *schema.Field // nil when the field is not a column
	column   clause.Column
	pk       bool
	create   bool // a client may set it on create
	update   bool // a client may set it on replace and update
	filter   bool
	sort     bool
	readonly bool // tagged easy:"readonly"
}

// model is what a Router knows of T: its table, key and fields, parsed
// once with gorm's schema parser.
type model struct {
	typ     reflect.Type
	name    string // the Go type name, for messages: "Item"
	table   string
	fields  []*field
	byName  map[string]*field
	pk      *field
	soft    bool       // T has gorm.DeletedAt
	uniques [][]*field // unique column sets, to name the field of a conflict
	refs    []reference
	dialect string
}

// reference is a belongs-to foreign key of the model: field refers to
// column of table.
type reference struct {
	f      *field
	table  string
	column string
}

var deletedAtType = reflect.TypeFor[gorm.DeletedAt]()

// parseSchema parses T with db's naming strategy and cache, or with
// gorm's defaults when db is nil.
func parseSchema(t reflect.Type, db *gorm.DB) (*schema.Schema, error) {
	if db != nil {
		stmt := &gorm.Statement{DB: db}
		if err := stmt.Parse(reflect.New(t).Interface()); err != nil {
			return nil, err
		}
		return stmt.Schema, nil
	}
	return schema.Parse(reflect.New(t).Interface(), &sync.Map{}, schema.NamingStrategy{})
}

// newModel reads T's schema. filter and sort, when not nil, limit the
// fields that can be filtered and sorted by.
func newModel(t reflect.Type, sch *schema.Schema, filter, sort []string) (*model, error) {
	if t.Kind() != reflect.Struct {
		return nil, fmt.Errorf("crud: the model must be a struct, not %s", t)
	}
	m := &model{typ: t, name: t.Name(), table: sch.Table, byName: map[string]*field{}}
	if i := strings.LastIndexByte(m.name, '['); i > 0 {
		m.name = m.name[:i]
	}
	if n, ok := reflect.New(t).Interface().(interface{ SchemaName() string }); ok {
		m.name = n.SchemaName() // the name the OpenAPI document gives T
	}
	if len(sch.PrimaryFields) != 1 {
		return nil, fmt.Errorf("crud: %s needs exactly one primary key field, it has %d", t, len(sch.PrimaryFields))
	}
	m.walk(t, nil, "", sch)
	for _, f := range m.fields {
		if f.gorm != nil && f.gorm.PrimaryKey {
			m.pk = f
		}
	}
	if m.pk == nil {
		return nil, fmt.Errorf("crud: the primary key of %s must be a JSON field", t)
	}
	switch m.pk.kind {
	case kindInt, kindUint, kindString:
	default:
		return nil, fmt.Errorf("crud: the primary key of %s is a %s: it must be an integer or a string", t, m.pk.typ)
	}
	if m.pk.typ.Kind() == reflect.Pointer {
		return nil, fmt.Errorf("crud: the primary key of %s must not be a pointer", t)
	}
	var errs []error
	restrict := func(names []string, what string, set func(f *field) bool) {
		if names == nil {
			return
		}
		allowed := map[string]bool{}
		for _, n := range names {
			f := m.byName[n]
			if f == nil || !set(f) {
				errs = append(errs, fmt.Errorf("crud: %s: %s is not a field of %s that can be %s", what, n, t, what))
			}
			allowed[n] = true
		}
		for _, f := range m.fields {
			if !allowed[f.name] {
				if what == "filtered" {
					f.filter = false
				} else {
					f.sort = false
				}
			}
		}
	}
	restrict(filter, "filtered", func(f *field) bool { return f.filter })
	restrict(sort, "sorted", func(f *field) bool { return f.sort })
	m.uniques = uniques(sch, m)
	m.refs = references(sch, m)
	return m, errors.Join(errs...)
}

// walk adds the JSON fields of t, as encoding/json sees them: untagged
// embedded structs are flattened, fields tagged json:"-" are left out.
func (m *model) walk(t reflect.Type, index []int, bind string, sch *schema.Schema) {
	for i := 0; i < t.NumField(); i++ {
		sf := t.Field(i)
		idx := append(slices.Clip(index), i)
		tag, hasTag := sf.Tag.Lookup("json")
		name, _, _ := strings.Cut(tag, ",")
		if name == "-" && tag == "-" {
			continue
		}
		if sf.Anonymous && name == "" && sf.Type.Kind() == reflect.Struct {
			m.walk(sf.Type, idx, bind+sf.Name+".", sch)
			continue
		}
		if !sf.IsExported() {
			continue
		}
		if name == "" || !hasTag {
			name = sf.Name
		}
		if _, dup := m.byName[name]; dup {
			continue
		}
		f := &field{name: name, bind: bind + sf.Name, index: idx, typ: sf.Type, tag: sf.Tag, base: sf.Type}
		if f.base.Kind() == reflect.Pointer {
			f.base = f.base.Elem()
		}
		f.kind = kindOf(f.base)
		if gf := sch.FieldsByBindName[f.bind]; gf != nil && gf.DBName != "" && sch.FieldsByDBName[gf.DBName] == gf {
			f.gorm = gf
			f.column = clause.Column{Name: gf.DBName}
			f.pk = gf.PrimaryKey
		}
		f.readonly = hasOption(sf.Tag.Get("easy"), "readonly")
		if sf.Type == deletedAtType && f.gorm != nil {
			m.soft = true
		}
		writable := f.gorm != nil && !f.pk && !f.readonly && sf.Type != deletedAtType &&
			f.gorm.AutoCreateTime == 0 && f.gorm.AutoUpdateTime == 0
		f.create = writable && f.gorm.Creatable
		f.update = writable && f.gorm.Updatable
		f.filter = f.gorm != nil && f.gorm.Readable && f.kind != kindOther
		f.sort = f.filter
		m.fields = append(m.fields, f)
		m.byName[name] = f
	}
}

func hasOption(tag, opt string) bool {
	for _, o := range strings.Split(tag, ",") {
		if strings.TrimSpace(o) == opt {
			return true
		}
	}
	return false
}

var timeType = reflect.TypeFor[time.Time]()

func kindOf(t reflect.Type) kind {
	if t == timeType {
		return kindTime
	}
	switch t.Kind() {
	case reflect.String:
		return kindString
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return kindInt
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return kindUint
	case reflect.Float32, reflect.Float64:
		return kindFloat
	case reflect.Bool:
		return kindBool
	}
	return kindOther
}

// uniques lists the column sets that must be unique: unique fields and
// unique indexes.
func uniques(sch *schema.Schema, m *model) [][]*field {
	byColumn := map[string]*field{}
	for _, f := range m.fields {
		if f.gorm != nil {
			byColumn[f.gorm.DBName] = f
		}
	}
	var out [][]*field
	for _, f := range m.fields {
		if f.gorm != nil && f.gorm.Unique && !f.pk {
			out = append(out, []*field{f})
		}
	}
	for _, idx := range sch.ParseIndexes() {
		if idx.Class != "UNIQUE" || idx.Where != "" {
			continue
		}
		var set []*field
		for _, o := range idx.Fields {
			if o.Field == nil || byColumn[o.DBName] == nil {
				set = nil
				break
			}
			set = append(set, byColumn[o.DBName])
		}
		if len(set) > 0 {
			out = append(out, set)
		}
	}
	return out
}

// references lists the single-column belongs-to relations of the model.
func references(sch *schema.Schema, m *model) []reference {
	var out []reference
	for _, rel := range sch.Relationships.BelongsTo {
		if len(rel.References) != 1 || rel.FieldSchema == nil {
			continue
		}
		ref := rel.References[0]
		if ref.ForeignKey == nil || ref.PrimaryKey == nil {
			continue
		}
		if f := m.fieldByColumn(ref.ForeignKey.DBName); f != nil {
			out = append(out, reference{f: f, table: rel.FieldSchema.Table, column: ref.PrimaryKey.DBName})
		}
	}
	return out
}

// fieldByColumn returns the field of a column name, or nil.
func (m *model) fieldByColumn(col string) *field {
	for _, f := range m.fields {
		if f.gorm != nil && strings.EqualFold(f.gorm.DBName, col) {
			return f
		}
	}
	return nil
}

// names returns the JSON names of the fields for which ok is true.
func (m *model) names(ok func(*field) bool) []string {
	var out []string
	for _, f := range m.fields {
		if ok(f) {
			out = append(out, f.name)
		}
	}
	return out
}

// snake turns a Go name into snake case: OrderLine is order_line, HTTPLog
// http_log.
func snake(s string) string {
	var b strings.Builder
	rs := []rune(s)
	for i, r := range rs {
		if unicode.IsUpper(r) {
			if i > 0 && (unicode.IsLower(rs[i-1]) || unicode.IsDigit(rs[i-1]) ||
				i+1 < len(rs) && unicode.IsLower(rs[i+1]) && unicode.IsUpper(rs[i-1])) {
				b.WriteByte('_')
			}
			r = unicode.ToLower(r)
		}
		b.WriteRune(r)
	}
	return b.String()
}
