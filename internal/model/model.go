// Package model reads a GORM model as easy sees it: its JSON fields, as
// encoding/json walks them, each with its column (named by the database's
// naming strategy), its kind for filters and sorting, and whether a client
// may write it. The CRUD router and the query language both read a model
// through it, so they agree on what a field is.
package model

import (
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"sync"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
	"gorm.io/gorm/schema"
)

// Kind is the scalar type of a field, for filters and sorting.
type Kind uint8

const (
	KindOther Kind = iota // not filterable or sortable
	KindString
	KindInt
	KindUint
	KindFloat
	KindBool
	KindTime
)

func (k Kind) String() string {
	return [...]string{"other", "string", "integer", "integer", "number", "boolean", "date-time"}[k]
}

// Field is one JSON Field of the model, with its column when it has one.
type Field struct {
	Name     string // JSON name
	Bind     string // Go path, as gorm names it: "Model.ID"
	Index    []int
	Type     reflect.Type // as declared
	Tag      reflect.StructTag
	Base     reflect.Type // without a pointer
	Kind     Kind
	GORM     *schema.Field // nil when the field is not a column
	Column   clause.Column
	PK       bool
	Create   bool // a client may set it on create
	Update   bool // a client may set it on replace and update
	Filter   bool
	Sort     bool
	Readonly bool // tagged easy:"readonly"
}

// Text reports whether f's column holds text that LIKE reads: a string
// field whose column, when the gorm tag gives it a type, is of a text
// type (varchar, char, text, citext), not a uuid, a json or another that
// PostgreSQL would not compare with a pattern.
func (f *Field) Text() bool {
	if f.Kind != KindString {
		return false
	}
	t := f.ColumnType()
	return t == "" || t == string(schema.String) || strings.Contains(t, "char") || strings.Contains(t, "text")
}

// UUID reports whether f is a string stored in a uuid column, which
// PostgreSQL fills only with UUIDs: a filter or a key that is not one is
// refused before the database is asked, on SQLite too, where the column
// is text and would take anything.
func (f *Field) UUID() bool {
	return f.Kind == KindString && f.ColumnType() == "uuid"
}

// incomparable are the column types for which PostgreSQL has no order
// (no btree operator class), and mostly no equality of values either:
// json (jsonb has both), jsonpath, xml, the geometric types (= on a box
// or a circle compares their areas, on a path its number of points), and
// the system's transaction types. An array of one has neither.
var incomparable = map[string]bool{
	"json": true, "jsonpath": true, "xml": true,
	"point": true, "line": true, "lseg": true, "box": true, "path": true, "polygon": true, "circle": true,
	"xid": true, "cid": true, "txid_snapshot": true, "pg_snapshot": true,
}

// Comparable reports whether f's column has an equality and an order:
// every column but one of a type in incomparable, or an array of one. The
// rule holds on every database, so that a query means the same on SQLite,
// where the column is text.
func (f *Field) Comparable() bool {
	elem, _ := elementType(f.ColumnType())
	return !incomparable[elem]
}

// elementType splits a column type into the type of its elements and
// its array brackets, "" when it is not an array: "point[]" is "point"
// and "[]".
func elementType(t string) (elem, brackets string) {
	elem = t
	for strings.HasSuffix(elem, "[]") {
		elem = strings.TrimSpace(strings.TrimSuffix(elem, "[]"))
		brackets += "[]"
	}
	return elem, brackets
}

// ComparableAs names the type to store f's column as, for it to be
// compared, when f is not Comparable and there is one: jsonb for json.
func (f *Field) ComparableAs() string {
	if elem, brackets := elementType(f.ColumnType()); elem == "json" {
		return "jsonb" + brackets
	}
	return ""
}

// ColumnType is the type the gorm tag gives f's column, in lower case
// and without the spaces around it (gorm keeps them: "type: point"), or
// "" when it gives none (or f is not a column).
func (f *Field) ColumnType() string {
	if f.GORM == nil {
		return ""
	}
	return strings.ToLower(strings.TrimSpace(string(f.GORM.DataType)))
}

// Model is what a Router knows of T: its table, key and fields, parsed
// once with gorm's schema parser.
type Model struct {
	Type    reflect.Type
	Name    string // the Go type name, for messages: "Item"
	Table   string
	Fields  []*Field
	ByName  map[string]*Field
	PK      *Field
	Soft    bool       // T has gorm.DeletedAt
	Uniques [][]*Field // unique column sets, to name the field of a conflict
	Refs    []Reference
	Dialect string
}

// Reference is a belongs-to foreign key of the model: field refers to
// column of table.
type Reference struct {
	Field  *Field
	Table  string
	Column string
}

var deletedAtType = reflect.TypeFor[gorm.DeletedAt]()

// Parse parses T with db's naming strategy and cache, or with
// gorm's defaults when db is nil.
func Parse(t reflect.Type, db *gorm.DB) (*schema.Schema, error) {
	if db != nil {
		stmt := &gorm.Statement{DB: db}
		if err := stmt.Parse(reflect.New(t).Interface()); err != nil {
			return nil, err
		}
		return stmt.Schema, nil
	}
	return schema.Parse(reflect.New(t).Interface(), &sync.Map{}, schema.NamingStrategy{})
}

// NewModel reads T's schema. filter and sort, when not nil, limit the
// fields that can be filtered and sorted by.
func New(t reflect.Type, sch *schema.Schema, filter, sort []string) (*Model, error) {
	if t.Kind() != reflect.Struct {
		return nil, fmt.Errorf("the model must be a struct, not %s", t)
	}
	m := &Model{Type: t, Name: t.Name(), Table: sch.Table, ByName: map[string]*Field{}}
	if i := strings.LastIndexByte(m.Name, '['); i > 0 {
		m.Name = m.Name[:i]
	}
	if n, ok := reflect.New(t).Interface().(interface{ SchemaName() string }); ok {
		m.Name = n.SchemaName() // the name the OpenAPI document gives T
	}
	if len(sch.PrimaryFields) != 1 {
		return nil, fmt.Errorf("%s needs exactly one primary key field, it has %d", t, len(sch.PrimaryFields))
	}
	m.walk(t, nil, "", sch)
	for _, f := range m.Fields {
		if f.GORM != nil && f.GORM.PrimaryKey {
			m.PK = f
		}
	}
	if m.PK == nil {
		return nil, fmt.Errorf("the primary key of %s must be a JSON field", t)
	}
	switch m.PK.Kind {
	case KindInt, KindUint, KindString:
	default:
		return nil, fmt.Errorf("the primary key of %s is a %s: it must be an integer or a string", t, m.PK.Type)
	}
	if m.PK.Type.Kind() == reflect.Pointer {
		return nil, fmt.Errorf("the primary key of %s must not be a pointer", t)
	}
	var errs []error
	restrict := func(names []string, what, option string, set func(f *Field) bool) {
		if names == nil {
			return
		}
		allowed := map[string]bool{}
		for _, n := range names {
			switch f := m.ByName[n]; {
			case f != nil && !set(f) && !f.Comparable() && f.Kind != KindOther: // stored otherwise it would be filtered and sorted
				fix := "leave it out of " + option
				if as := f.ComparableAs(); as != "" {
					fix += ", or store it as " + as
				}
				errs = append(errs, fmt.Errorf("%s: %s of %s is stored as %s, which PostgreSQL can neither compare nor order: %s",
					what, n, t, f.ColumnType(), fix))
			case f == nil || !set(f):
				errs = append(errs, fmt.Errorf("%s: %s is not a field of %s that can be %s", what, n, t, what))
			}
			allowed[n] = true
		}
		for _, f := range m.Fields {
			if !allowed[f.Name] {
				if what == "filtered" {
					f.Filter = false
				} else {
					f.Sort = false
				}
			}
		}
	}
	restrict(filter, "filtered", "Filterable", func(f *Field) bool { return f.Filter })
	restrict(sort, "sorted", "Sortable", func(f *Field) bool { return f.Sort })
	m.Uniques = uniques(sch, m)
	m.Refs = references(sch, m)
	return m, errors.Join(errs...)
}

// walk adds the JSON fields of t, as encoding/json sees them: untagged
// embedded structs are flattened, fields tagged json:"-" are left out.
func (m *Model) walk(t reflect.Type, index []int, bind string, sch *schema.Schema) {
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
		if _, dup := m.ByName[name]; dup {
			continue
		}
		f := &Field{Name: name, Bind: bind + sf.Name, Index: idx, Type: sf.Type, Tag: sf.Tag, Base: sf.Type}
		if f.Base.Kind() == reflect.Pointer {
			f.Base = f.Base.Elem()
		}
		f.Kind = KindOf(f.Base)
		if gf := sch.FieldsByBindName[f.Bind]; gf != nil && gf.DBName != "" && sch.FieldsByDBName[gf.DBName] == gf {
			f.GORM = gf
			f.Column = clause.Column{Name: gf.DBName}
			f.PK = gf.PrimaryKey
		}
		f.Readonly = hasOption(sf.Tag.Get("easy"), "readonly")
		if sf.Type == deletedAtType && f.GORM != nil {
			m.Soft = true
		}
		// The body binding reads only fields with a json tag; a column
		// without one is never in a body, so writing it from the body
		// would write its zero value over what a hook or the row holds.
		inBody := hasTag && name != "-"
		writable := inBody && f.GORM != nil && !f.PK && !f.Readonly && sf.Type != deletedAtType &&
			f.GORM.AutoCreateTime == 0 && f.GORM.AutoUpdateTime == 0
		f.Create = writable && f.GORM.Creatable
		f.Update = writable && f.GORM.Updatable
		// A column that cannot be compared is never sorted, and filtered
		// only by whether it is null, when it may be.
		scalar := f.GORM != nil && f.GORM.Readable && f.Kind != KindOther
		f.Filter = scalar && (f.Comparable() || f.Type.Kind() == reflect.Pointer)
		f.Sort = scalar && f.Comparable()
		m.Fields = append(m.Fields, f)
		m.ByName[name] = f
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

func KindOf(t reflect.Type) Kind {
	if t == timeType {
		return KindTime
	}
	switch t.Kind() {
	case reflect.String:
		return KindString
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return KindInt
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return KindUint
	case reflect.Float32, reflect.Float64:
		return KindFloat
	case reflect.Bool:
		return KindBool
	}
	return KindOther
}

// uniques lists the column sets that must be unique: unique fields and
// unique indexes.
func uniques(sch *schema.Schema, m *Model) [][]*Field {
	byColumn := map[string]*Field{}
	for _, f := range m.Fields {
		if f.GORM != nil {
			byColumn[f.GORM.DBName] = f
		}
	}
	var out [][]*Field
	for _, f := range m.Fields {
		if f.GORM != nil && f.GORM.Unique && !f.PK {
			out = append(out, []*Field{f})
		}
	}
	for _, idx := range sch.ParseIndexes() {
		if idx.Class != "UNIQUE" || idx.Where != "" {
			continue
		}
		var set []*Field
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
func references(sch *schema.Schema, m *Model) []Reference {
	var out []Reference
	for _, rel := range sch.Relationships.BelongsTo {
		if len(rel.References) != 1 || rel.FieldSchema == nil {
			continue
		}
		ref := rel.References[0]
		if ref.ForeignKey == nil || ref.PrimaryKey == nil {
			continue
		}
		if f := m.FieldByColumn(ref.ForeignKey.DBName); f != nil {
			out = append(out, Reference{Field: f, Table: rel.FieldSchema.Table, Column: ref.PrimaryKey.DBName})
		}
	}
	return out
}

// FieldByColumn returns the field of a column name, or nil.
func (m *Model) FieldByColumn(col string) *Field {
	for _, f := range m.Fields {
		if f.GORM != nil && strings.EqualFold(f.GORM.DBName, col) {
			return f
		}
	}
	return nil
}

// Names returns the JSON Names of the fields for which ok is true.
func (m *Model) Names(ok func(*Field) bool) []string {
	var out []string
	for _, f := range m.Fields {
		if ok(f) {
			out = append(out, f.Name)
		}
	}
	return out
}
