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
	id := reflect.New(c.idType).Interface()
	body := []int{http.StatusRequestEntityTooLarge, http.StatusUnsupportedMediaType, http.StatusUnprocessableEntity}
	all := []routeOp{
		{ListRoute, openapi.Operation{
			Method: http.MethodGet, Path: prefix, Summary: "List " + c.names.plural,
			Description: c.listDescription(),
			Input:       reflect.New(c.parser.Params()).Interface(),
			// A slice, not a pointer to one: a pointer would be documented
			// as nullable, and the list is never null.
			Output: reflect.MakeSlice(reflect.SliceOf(c.typ), 0, 0).Interface(),
			Errors: []int{http.StatusUnprocessableEntity},
			ResponseHeaders: []openapi.Header{{Name: "X-Total-Count", Description: "How many rows pass the filters, on every page.",
				Schema: map[string]any{"type": "integer", "minimum": 0}}},
		}},
		{CreateRoute, openapi.Operation{
			Method: http.MethodPost, Path: prefix, Summary: "Create " + article(title),
			Output: reflect.New(c.typ).Interface(), Status: http.StatusCreated,
			Errors: append([]int{http.StatusConflict}, body...),
		}},
		{GetRoute, openapi.Operation{
			Method: http.MethodGet, Path: one, Summary: "Read " + article(title),
			Input: reflect.New(c.getParams()).Interface(), Output: reflect.New(c.typ).Interface(),
			Errors: []int{http.StatusNotFound, http.StatusUnprocessableEntity},
		}},
		{ReplaceRoute, openapi.Operation{
			Method: http.MethodPut, Path: one, Summary: "Replace " + article(title),
			Description: "Sets every field a client may write from the body; fields left out take their zero value or default.",
			Input:       id, Output: reflect.New(c.typ).Interface(),
			Errors: append([]int{http.StatusNotFound, http.StatusConflict}, body...),
		}},
		{UpdateRoute, openapi.Operation{
			Method: http.MethodPatch, Path: one, Summary: "Update " + article(title),
			Description: "Sets the fields sent in the body, even to 0, \"\" or false, and keeps the others.",
			Input:       id, Output: reflect.New(c.typ).Interface(), BodyRef: c.names.schema + "Patch",
			Errors: append([]int{http.StatusNotFound, http.StatusConflict}, body...),
		}},
		{DeleteRoute, openapi.Operation{
			Method: http.MethodDelete, Path: one, Summary: "Delete " + article(title),
			Description: "Answers with the deleted row.",
			Input:       id, Output: reflect.New(c.typ).Interface(),
			Errors: []int{http.StatusNotFound, http.StatusConflict, http.StatusUnprocessableEntity},
		}},
		{DeleteAllRoute, openapi.Operation{
			Method: http.MethodDelete, Path: prefix, Summary: "Delete all " + c.names.plural,
			Output: new(DeleteAllResult), Errors: []int{http.StatusConflict},
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

// getParams documents the parameters of a read: the id, and
// include_deleted when it is allowed.
func (c *core) getParams() reflect.Type {
	if !c.parser.IncludeDeleted() {
		return c.idType
	}
	return reflect.StructOf([]reflect.StructField{
		c.idType.Field(0),
		{Name: "IncludeDeleted", Type: reflect.TypeFor[bool](),
			Tag: `query:"include_deleted" default:"false" description:"Read the row even if it is soft-deleted."`},
	})
}
