package crud

import (
	"fmt"
	"net/http"
	"reflect"
	"strings"

	"github.com/swaggest/jsonschema-go"
	"gorm.io/gorm"

	"github.com/fastapi-easy/easy-go/easy/openapi"
	"github.com/fastapi-easy/easy-go/easy/route"
	"github.com/fastapi-easy/easy-go/internal/model"
)

// document adds the schemas of the bodies to the OpenAPI document:
// ItemCreate and ItemUpdate (the model less its read-only fields) and
// ItemPatch (the same, every property optional).
func (c *core) document(r route.Site) error {
	spec := r.Spec()
	// gorm.DeletedAt is written as a date-time or null, not as its struct.
	spec.MapType(gorm.DeletedAt{}, deletedAtDoc{})
	proto := reflect.New(c.typ).Interface()
	derive := func(suffix string, drop func(*model.Field) bool, optional bool) error {
		_, err := spec.Derive(c.names.schema+suffix, proto, c.m.Names(drop), optional)
		if err != nil {
			return fmt.Errorf("crud: %w (name the schemas with crud.SchemaName)", err)
		}
		return nil
	}
	notCreate := func(f *model.Field) bool { return !f.Create }
	notUpdate := func(f *model.Field) bool { return !f.Update }
	if c.cfg.enabled(CreateRoute) && c.cfg.create == nil {
		if err := derive("Create", notCreate, false); err != nil {
			return err
		}
	}
	if c.cfg.enabled(ReplaceRoute) && c.cfg.update == nil {
		if err := derive("Update", notUpdate, false); err != nil {
			return err
		}
	}
	if c.cfg.enabled(UpdateRoute) {
		if err := derive("Patch", notUpdate, true); err != nil {
			return err
		}
	}
	if c.cfg.enabled(BatchRoute) {
		return c.documentBatch(spec)
	}
	return nil
}

// deletedAtDoc documents gorm.DeletedAt.
type deletedAtDoc struct{}

// SchemaName names its schema component.
func (deletedAtDoc) SchemaName() string { return "DeletionTime" }

// JSONSchema is a date-time or null.
func (deletedAtDoc) JSONSchema() (jsonschema.Schema, error) {
	var s jsonschema.Schema
	s.WithType(*(&jsonschema.Type{}).WithSliceOfSimpleTypeValues(jsonschema.Null, jsonschema.String)).WithFormat("date-time").
		WithDescription("When the row was deleted; null while it is not.")
	return s, nil
}

type routeOp struct {
	route Route
	op    openapi.Operation
}

// operations describes the mounted routes for the OpenAPI document.
func (c *core) operations() []routeOp {
	prefix := c.prefix()
	one := prefix + "/{id}"
	tags := c.cfg.tags
	if len(tags) == 0 {
		tags = []string{c.names.plural}
	}
	title := strings.ToLower(c.m.Name)
	id := reflect.New(with(c.idType, ifMatch)).Interface()
	body := []int{http.StatusRequestEntityTooLarge, http.StatusUnsupportedMediaType, http.StatusUnprocessableEntity}
	etag := openapi.Header{Name: "ETag", Description: "The version of the row: a strong entity tag, the same on every instance, for If-Match and If-None-Match."}
	written := []openapi.Header{etag}
	etag.Statuses = []int{http.StatusOK, http.StatusNotModified}
	read := []openapi.Header{etag}
	etag.Statuses = []int{http.StatusOK, http.StatusPreconditionFailed}
	changed := []openapi.Header{etag}
	etag.Statuses = []int{http.StatusPreconditionFailed}
	deleted := []openapi.Header{etag}
	all := []routeOp{
		{ListRoute, openapi.Operation{
			Method: http.MethodGet, Path: prefix, Summary: "List " + c.names.plural,
			Description: c.listDescription(),
			Input:       reflect.New(with(c.parser.Params(), ifNoneMatch)).Interface(),
			// A slice, not a pointer to one: a pointer would be documented
			// as nullable, and the list is never null.
			Output: reflect.MakeSlice(reflect.SliceOf(c.typ), 0, 0).Interface(),
			Errors: []int{http.StatusUnprocessableEntity},
			Empty:  []int{http.StatusNotModified},
			ResponseHeaders: []openapi.Header{
				{Name: "X-Total-Count", Description: "How many rows pass the filters, on every page but a cursor page.",
					Schema: map[string]any{"type": "integer", "minimum": 0}},
				{Name: "X-Next-Cursor", Description: "The cursor of the next page, for ?cursor=; absent on the last page."},
				{Name: "Link", Description: "The next page, as RFC 8288 writes it: <url>; rel=\"next\"; absent on the last page."},
				{Name: "ETag", Description: "A weak entity tag of the page, for If-None-Match.", Statuses: []int{http.StatusOK, http.StatusNotModified}},
			},
		}},
		{CreateRoute, openapi.Operation{
			Method: http.MethodPost, Path: prefix, Summary: "Create " + article(title),
			Output: reflect.New(c.typ).Interface(), Status: http.StatusCreated,
			Errors:          append([]int{http.StatusConflict}, body...),
			ResponseHeaders: written,
		}},
		{GetRoute, openapi.Operation{
			Method: http.MethodGet, Path: one, Summary: "Read " + article(title),
			Description: "With If-None-Match naming the row's ETag, answers 304 and no body.",
			Input:       reflect.New(with(c.getParams(), ifNoneMatch)).Interface(), Output: reflect.New(c.typ).Interface(),
			Errors:          []int{http.StatusNotFound, http.StatusUnprocessableEntity},
			Empty:           []int{http.StatusNotModified},
			ResponseHeaders: read,
		}},
		{ReplaceRoute, openapi.Operation{
			Method: http.MethodPut, Path: one, Summary: "Replace " + article(title),
			Description: "Sets every field a client may write from the body; fields left out take their zero value or default. " + ifMatchText,
			Input:       id, Output: reflect.New(c.typ).Interface(),
			Errors:          append([]int{http.StatusNotFound, http.StatusConflict, http.StatusPreconditionFailed}, body...),
			ResponseHeaders: changed,
		}},
		{UpdateRoute, openapi.Operation{
			Method: http.MethodPatch, Path: one, Summary: "Update " + article(title),
			Description: "Sets the fields sent in the body, even to 0, \"\" or false, and keeps the others; null clears a nullable field. " +
				"As application/merge-patch+json (RFC 7396), a field that holds an object is merged with the stored one, member by member. " + ifMatchText,
			Input: id, Output: reflect.New(c.typ).Interface(), BodyRef: c.names.schema + "Patch", BodyTypes: []string{mergePatchType},
			Errors:          append([]int{http.StatusNotFound, http.StatusConflict, http.StatusPreconditionFailed}, body...),
			ResponseHeaders: changed,
		}},
		{DeleteRoute, openapi.Operation{
			Method: http.MethodDelete, Path: one, Summary: "Delete " + article(title),
			Description: "Answers with the deleted row. " + ifMatchText,
			Input:       id, Output: reflect.New(c.typ).Interface(),
			Errors:          []int{http.StatusNotFound, http.StatusConflict, http.StatusPreconditionFailed, http.StatusUnprocessableEntity},
			ResponseHeaders: deleted,
		}},
		{DeleteAllRoute, openapi.Operation{
			Method: http.MethodDelete, Path: prefix, Summary: "Delete all " + c.names.plural,
			Description: "Takes no filter: any query parameter is a 422, and nothing is deleted.",
			Output:      new(DeleteAllResult), Errors: []int{http.StatusConflict, http.StatusUnprocessableEntity},
		}},
		{BatchRoute, openapi.Operation{
			Method: http.MethodPost, Path: prefix + "/batch", Summary: "Write " + c.names.plural + " in one transaction",
			Description: c.batchDescription(),
			BodyRef:     c.names.schema + "Batch",
			Output:      reflect.MakeSlice(reflect.SliceOf(c.resultType), 0, 0).Interface(),
			Errors: append([]int{http.StatusNotFound, http.StatusConflict, http.StatusPreconditionFailed},
				body...),
		}},
	}
	if c.m.Soft {
		all[5].op.Description = "Marks the row deleted (soft delete) and answers with it."
		all[6].op.Description = "Marks every row deleted (soft delete)."
	}
	if in := c.cfg.create; in != nil {
		all[1].op.Body = reflect.New(in.typ).Interface()
	} else {
		all[1].op.BodyRef = c.names.schema + "Create"
	}
	if in := c.cfg.update; in != nil {
		all[3].op.Body = reflect.New(in.typ).Interface()
	} else {
		all[3].op.BodyRef = c.names.schema + "Update"
	}
	var out []routeOp
	for _, ro := range all {
		if !c.cfg.enabled(ro.route) {
			continue
		}
		ro.op.ID = c.names.ids[ro.route]
		ro.op.Tags = tags
		ro.op.Errors = append(append(ro.op.Errors, c.cfg.errors...), http.StatusServiceUnavailable)
		out = append(out, ro)
	}
	return out
}

func article(noun string) string {
	if noun != "" && strings.ContainsRune("aeiou", rune(noun[0])) {
		return "an " + noun
	}
	return "a " + noun
}

func (c *core) listDescription() string {
	return "Filters are AND-combined: `field=value` for equality, `field__op=value` with op one of " +
		"`ne`, `gt`, `gte`, `lt`, `lte` (numbers and times), `in` and `nin` (a comma-separated list: one of, none of), " +
		"`like`/`contains`, `startswith`, `endswith` and their case-insensitive `ilike`/`icontains`, `istartswith`, `iendswith` " +
		"(strings; `%`, `_` and `\\` are plain characters), `isnull` (`true` or `false`, nullable fields). " +
		"Conditions written `or[field__op]=value` are OR-combined with each other (more groups: `or1[...]`, `or2[...]`). " +
		"`sort=name,-price` sorts by name, then by price descending; the primary key breaks ties. " +
		"X-Total-Count is the number of rows that pass the filters."
}

// getParams documents the parameters of a read: the id, fields, and
// include_deleted when it is allowed.
func (c *core) getParams() reflect.Type {
	fields, _ := c.parser.Params().FieldByName("Fields")
	fields.Index = nil
	params := []reflect.StructField{c.idType.Field(0), fields}
	if c.parser.IncludeDeleted() {
		params = append(params, reflect.StructField{Name: "IncludeDeleted", Type: reflect.TypeFor[bool](),
			Tag: `query:"include_deleted" default:"false" description:"Read the row even if it is soft-deleted."`})
	}
	return reflect.StructOf(params)
}

const ifMatchText = "With If-Match, the write happens only if the row still has one of the ETags it names (or, with *, exists); " +
	"else it answers 412 with the row's current ETag."

// The conditional request headers, as struct fields for the document.
var (
	ifMatch = reflect.StructField{Name: "IfMatch", Type: reflect.TypeFor[string](), Tag: `header:"If-Match" description:` +
		`"Write only if the row's ETag is one of these entity tags, or * for any: lost-update protection (412 otherwise)."`}
	ifNoneMatch = reflect.StructField{Name: "IfNoneMatch", Type: reflect.TypeFor[string](), Tag: `header:"If-None-Match" description:` +
		`"Answer 304 Not Modified, with no body, if the ETag is one of these entity tags, or * for any."`}
)

// with returns the struct type t with one more field.
func with(t reflect.Type, f reflect.StructField) reflect.Type {
	fields := make([]reflect.StructField, 0, t.NumField()+1)
	for i := range t.NumField() {
		sf := t.Field(i)
		sf.Index, sf.Offset = nil, 0
		fields = append(fields, sf)
	}
	return reflect.StructOf(append(fields, f))
}
