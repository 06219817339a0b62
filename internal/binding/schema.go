package binding

import (
	"encoding"
	"encoding/json"
	"reflect"
	"strings"
	"time"

	"github.com/swaggest/jsonschema-go"

	"github.com/fastapi-easy/easy-go/internal/typeschema"
)

// reflectSchema reflects t as the OpenAPI document does, naming properties
// by tag, and returns its schema with every reference resolved.
func reflectSchema(t reflect.Type, tag string) (*jsonschema.Schema, error) {
	var r jsonschema.Reflector
	defs := map[string]jsonschema.Schema{}
	r.DefaultOptions = typeschema.Options()
	s, err := r.Reflect(reflect.New(t).Interface(),
		jsonschema.PropertyNameTag(tag),
		jsonschema.DefinitionsPrefix("#/defs/"),
		jsonschema.CollectDefinitions(func(name string, s jsonschema.Schema) { defs[name] = s }),
	)
	if err != nil {
		return nil, err
	}
	return resolve(&s, defs), nil
}

// resolve follows references in place, so that every property schema
// carries its own constraints.
func resolve(s *jsonschema.Schema, defs map[string]jsonschema.Schema) *jsonschema.Schema {
	seen := map[*jsonschema.Schema]bool{}
	var walk func(s *jsonschema.Schema) *jsonschema.Schema
	walk = func(s *jsonschema.Schema) *jsonschema.Schema {
		if s == nil {
			return nil
		}
		if s.Ref != nil {
			if d, ok := defs[strings.TrimPrefix(*s.Ref, "#/defs/")]; ok {
				d := d
				s = &d
			}
		}
		if seen[s] {
			return s
		}
		seen[s] = true
		for name, p := range s.Properties {
			if p.TypeObject != nil {
				p.TypeObject = walk(p.TypeObject)
				s.Properties[name] = p
			}
		}
		if s.Items != nil && s.Items.SchemaOrBool != nil && s.Items.SchemaOrBool.TypeObject != nil {
			s.Items.SchemaOrBool.TypeObject = walk(s.Items.SchemaOrBool.TypeObject)
		}
		if s.AdditionalProperties != nil && s.AdditionalProperties.TypeObject != nil {
			s.AdditionalProperties.TypeObject = walk(s.AdditionalProperties.TypeObject)
		}
		// A nullable pointer is reflected as anyOf or type [null, T]; its
		// constraints sit on the non-null branch.
		for _, alt := range s.AnyOf {
			if alt.TypeObject != nil && alt.TypeObject.Type != nil && alt.TypeObject.Type.SimpleTypes != nil &&
				*alt.TypeObject.Type.SimpleTypes == jsonschema.Null {
				continue
			}
			if alt.TypeObject != nil {
				return walk(alt.TypeObject)
			}
		}
		return s
	}
	return walk(s)
}

func property(s *jsonschema.Schema, name string) *jsonschema.Schema {
	if s == nil {
		return nil
	}
	if p, ok := s.Properties[name]; ok {
		return p.TypeObject
	}
	return nil
}

func requiredIn(s *jsonschema.Schema, name string) bool {
	if s == nil {
		return false
	}
	for _, r := range s.Required {
		if r == name {
			return true
		}
	}
	return false
}

var (
	timeType            = reflect.TypeFor[time.Time]()
	jsonUnmarshalerType = reflect.TypeFor[json.Unmarshaler]()
	textUnmarshalerType = reflect.TypeFor[encoding.TextUnmarshaler]()
)

// isObject reports whether t is decoded field by field as a JSON object:
// a struct that does not decode itself.
func isObject(t reflect.Type) bool {
	if t.Kind() != reflect.Struct || t == timeType {
		return false
	}
	p := reflect.PointerTo(t)
	return !p.Implements(jsonUnmarshalerType) && !p.Implements(textUnmarshalerType)
}

// elemObject is the struct that the elements of t, a slice or a map with
// string keys, are or point to; nil when they are no object.
func elemObject(t reflect.Type) reflect.Type {
	if t.Kind() != reflect.Slice && (t.Kind() != reflect.Map || t.Key().Kind() != reflect.String) {
		return nil
	}
	e := t.Elem()
	if e.Kind() == reflect.Pointer {
		e = e.Elem()
	}
	if !isObject(e) {
		return nil
	}
	return e
}

// tagName returns the name a struct tag gives a field, and whether the tag is set.
func tagName(f reflect.StructField, tag string) (string, bool) {
	v, ok := f.Tag.Lookup(tag)
	if !ok {
		return "", false
	}
	name, _, _ := strings.Cut(v, ",")
	if name == "-" {
		return "", false
	}
	if name == "" {
		name = f.Name
	}
	return name, true
}
