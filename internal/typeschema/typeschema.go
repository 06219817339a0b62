// Package typeschema holds the rules by which easy describes a Go type in
// JSON Schema where swaggest/jsonschema-go's defaults would not say what
// the server does. The OpenAPI document (easy/openapi) and the binder
// (internal/binding) both reflect with Options, and the binder reads its
// checks from the schema it gets, so what the document shows and what
// the binder enforces are one rule, written here.
package typeschema

import (
	"reflect"
	"slices"
	"strings"

	"github.com/swaggest/jsonschema-go"
)

// Options are the reflection options that apply the rules.
func Options() []func(*jsonschema.ReflectContext) {
	return []func(*jsonschema.ReflectContext){
		jsonschema.InterceptSchema(typeRules),
		jsonschema.InterceptProp(fieldRules),
	}
}

// typeRules describes what a type itself limits: a sized integer its
// range, a Go array its length.
func typeRules(p jsonschema.InterceptSchemaParams) (bool, error) {
	if !p.Processed || !p.Value.IsValid() {
		return false, nil
	}
	t := p.Value.Type()
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch s := p.Schema; {
	case s.HasType(jsonschema.Integer) && IsInt(t):
		if lo, hi, exact := documentedRange(t.Kind()); exact {
			s.WithMinimum(lo).WithMaximum(hi)
		}
	case s.HasType(jsonschema.Array) && t.Kind() == reflect.Array:
		s.WithMinItems(int64(t.Len())).WithMaxItems(int64(t.Len()))
	}
	return false, nil
}

// fieldRules adjusts a property after its tags are read.
func fieldRules(p jsonschema.InterceptPropParams) error {
	if !p.Processed || p.PropertySchema == nil {
		return nil
	}
	moveToItems(p.PropertySchema)
	clampToType(p.PropertySchema, p.Field.Type)
	_, nullTag := p.Field.Tag.Lookup("nullable")
	if p.Field.Type.Kind() == reflect.Array && !nullTag {
		// encoding/json writes a Go array in full, never as null.
		p.PropertySchema.RemoveType(jsonschema.Null)
	}
	if p.Context.PropertyNameTag != "json" {
		return nil
	}
	opts := strings.Split(p.Field.Tag.Get("json"), ",")[1:]
	if p.Field.Type == bytesType && !nullTag && !slices.Contains(opts, "omitempty") {
		// encoding/json writes a nil []byte as null, as any nil slice.
		p.PropertySchema.AddType(jsonschema.Null)
	}
	if slices.Contains(opts, "string") {
		quoted(p.PropertySchema, p.Field.Type)
	}
	return nil
}

var bytesType = reflect.TypeFor[[]byte]()

// moveToItems moves the constraints that, on a list field, describe each
// element into its items, as Huma does: no list is a string or a number,
// so on the array they would refuse every list, and the binder, reading
// them from the items, checks each element. minItems, maxItems and
// uniqueItems stay on the array.
func moveToItems(s *jsonschema.Schema) {
	if !s.HasType(jsonschema.Array) || s.Items == nil || s.Items.SchemaOrBool == nil || s.Items.SchemaOrBool.TypeObject == nil {
		return
	}
	it := s.Items.SchemaOrBool.TypeObject
	if s.Enum != nil {
		it.Enum, s.Enum = s.Enum, nil
	}
	move := func(from, to **float64) {
		if *from != nil {
			*to, *from = *from, nil
		}
	}
	move(&s.Minimum, &it.Minimum)
	move(&s.Maximum, &it.Maximum)
	move(&s.ExclusiveMinimum, &it.ExclusiveMinimum)
	move(&s.ExclusiveMaximum, &it.ExclusiveMaximum)
	move(&s.MultipleOf, &it.MultipleOf)
	if s.MinLength != 0 {
		it.MinLength, s.MinLength = s.MinLength, 0
	}
	if s.MaxLength != nil {
		it.MaxLength, s.MaxLength = s.MaxLength, nil
	}
	if s.Pattern != nil {
		it.Pattern, s.Pattern = s.Pattern, nil
	}
	if s.Format != nil {
		it.Format, s.Format = s.Format, nil
	}
	if s.Const != nil {
		it.Const, s.Const = s.Const, nil
	}
	moveToItems(it)
}

// clampToType keeps a minimum or maximum tag within the range of the
// field's integer type (of its elements, for a list), which the binder
// enforces however wide the tag is.
func clampToType(s *jsonschema.Schema, t reflect.Type) {
	for {
		for t.Kind() == reflect.Pointer {
			t = t.Elem()
		}
		if (t.Kind() != reflect.Slice && t.Kind() != reflect.Array) || t == bytesType || s.Items == nil ||
			s.Items.SchemaOrBool == nil || s.Items.SchemaOrBool.TypeObject == nil {
			break
		}
		t, s = t.Elem(), s.Items.SchemaOrBool.TypeObject
	}
	if !IsInt(t) || !s.HasType(jsonschema.Integer) {
		return
	}
	lo, hi, exact := documentedRange(t.Kind())
	if !exact {
		if isUnsigned(t.Kind()) && (s.Minimum == nil || *s.Minimum < 0) {
			s.WithMinimum(0)
		}
		return
	}
	if s.Minimum == nil || *s.Minimum < lo {
		s.WithMinimum(lo)
	}
	if s.Maximum == nil || *s.Maximum > hi {
		s.WithMaximum(hi)
	}
}

// QuotedPattern returns the pattern of the text of a field of type t
// with the json tag's ,string option, which encoding/json applies to a
// number or a bool, or an unnamed pointer to one; ok is false for a type
// the option leaves as it is.
func QuotedPattern(t reflect.Type) (pattern string, ok bool) {
	switch t = quotedValue(t); {
	case IsInt(t):
		return IntPattern, true
	case t.Kind() == reflect.Float32 || t.Kind() == reflect.Float64:
		return NumberPattern, true
	case t.Kind() == reflect.Bool:
		return "^(true|false)$", true
	}
	return "", false
}

// quotedValue is the type of the value a ,string field of type t holds:
// t, or what t points to when it is an unnamed pointer.
func quotedValue(t reflect.Type) reflect.Type {
	if t.Name() == "" && t.Kind() == reflect.Pointer {
		return t.Elem()
	}
	return t
}

// quoted documents a field with the json tag's ,string option as
// encoding/json writes and reads it: the value's JSON inside a string.
func quoted(s *jsonschema.Schema, t reflect.Type) {
	t = quotedValue(t)
	pattern, ok := QuotedPattern(t)
	if !ok {
		return // a string's ,string is a JSON string in a string: still a string
	}
	null := s.HasType(jsonschema.Null)
	s.Type = nil
	s.AddType(jsonschema.String)
	if null {
		s.AddType(jsonschema.Null)
	}
	s.WithPattern(pattern)
	// The type's own bounds and format describe the number, not the text.
	s.Format = nil
	if lo, hi, exact := documentedRange(t.Kind()); exact && s.Minimum != nil && *s.Minimum == lo && s.Maximum != nil && *s.Maximum == hi {
		s.Minimum, s.Maximum = nil, nil
	}
	if isUnsigned(t.Kind()) && s.Minimum != nil && *s.Minimum == 0 {
		s.Minimum = nil
	}
}

// IntPattern and NumberPattern are the texts of a JSON integer and number.
const (
	IntPattern    = `^-?(0|[1-9][0-9]*)$`
	NumberPattern = `^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?$`
)
