package binding

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strings"

	"github.com/swaggest/jsonschema-go"

	"github.com/fastapi-easy/easy-go/easy/problem"
	"github.com/fastapi-easy/easy-go/internal/typeschema"
)

// object decodes a JSON object into a struct field by field, so that a
// missing required field, a value of the wrong type and a broken constraint
// are each reported with their own location, all of them at once.
type object struct {
	fields []*field
	byName map[string]*field
	// forbidUnknown rejects properties the struct does not have.
	forbidUnknown bool
}

type field struct {
	name     string
	index    []int
	typ      reflect.Type
	required bool
	def      []byte // JSON of the default value, set when absent
	rules    *rules
	quoted   bool    // read from a string, the ,string option of its json tag
	obj      *object // for a struct, or a pointer to one
	elem     *object // for a slice or a map of structs, or of pointers to them
}

// ObjectOptions adjust how a body struct is decoded.
type ObjectOptions struct {
	// Exclude lists JSON names that are not accepted in the body (they
	// are ignored, or rejected with ForbidUnknown).
	Exclude []string
	// ForbidUnknown rejects properties the struct does not declare.
	ForbidUnknown bool
	// Optional makes every field optional (for PATCH).
	Optional bool
}

func compileObject(t reflect.Type, s *jsonschema.Schema, opt ObjectOptions, depth int) (*object, error) {
	if depth > 32 {
		return nil, errors.New("binding: struct nesting is too deep")
	}
	o := &object{byName: map[string]*field{}, forbidUnknown: opt.ForbidUnknown}
	excluded := map[string]bool{}
	for _, name := range opt.Exclude {
		excluded[name] = true
	}
	var walk func(t reflect.Type, index []int) error
	walk = func(t reflect.Type, index []int) error {
		for i := 0; i < t.NumField(); i++ {
			sf := t.Field(i)
			idx := append(append([]int(nil), index...), i)
			name, tagged := tagName(sf, "json")
			if sf.Anonymous && !tagged && sf.Type.Kind() == reflect.Pointer && sf.Type.Elem().Kind() == reflect.Struct {
				// Its fields could not be set without making it; silently
				// dropping them would take a body field without a word.
				return fmt.Errorf("embedded %s: embed %s, not a pointer to it", sf.Type, sf.Type.Elem())
			}
			if sf.Anonymous && !tagged && sf.Type.Kind() == reflect.Struct {
				if err := walk(sf.Type, idx); err != nil {
					return err
				}
				continue
			}
			if !tagged || !sf.IsExported() || excluded[name] {
				continue
			}
			ps := property(s, name)
			f := &field{name: name, index: idx, typ: sf.Type, required: requiredIn(s, name) && !opt.Optional, quoted: isQuoted(sf)}
			if ps != nil && ps.Default != nil {
				b, err := json.Marshal(*ps.Default)
				if err != nil {
					return fmt.Errorf("default of %s: %w", name, err)
				}
				f.def = b
			}
			r, err := compileRules(ps)
			if err != nil {
				return fmt.Errorf("field %s: %w", name, err)
			}
			f.rules = r
			ft := sf.Type
			if ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			sub := ObjectOptions{ForbidUnknown: opt.ForbidUnknown}
			switch {
			case isObject(ft):
				if f.obj, err = compileObject(ft, ps, sub, depth+1); err != nil {
					return err
				}
			case elemObject(ft) != nil:
				var es *jsonschema.Schema
				switch {
				case ft.Kind() == reflect.Slice && ps != nil && ps.Items != nil && ps.Items.SchemaOrBool != nil:
					es = ps.Items.SchemaOrBool.TypeObject
				case ft.Kind() == reflect.Map && ps != nil && ps.AdditionalProperties != nil:
					es = ps.AdditionalProperties.TypeObject
				}
				if f.elem, err = compileObject(elemObject(ft), es, sub, depth+1); err != nil {
					return err
				}
			}
			o.fields = append(o.fields, f)
			o.byName[name] = f
		}
		return nil
	}
	if err := walk(t, nil); err != nil {
		return nil, err
	}
	return o, nil
}

// decode fills v (a struct) from raw and adds what is wrong to errs. It
// calls seen, when not nil, with each top-level field present in raw.
func (o *object) decode(raw []byte, v reflect.Value, loc []any, errs *problem.ValidationError, seen func(name string)) {
	var props map[string]json.RawMessage
	if err := json.Unmarshal(raw, &props); err != nil || props == nil {
		errs.Errors = append(errs.Errors, problem.FieldError{Type: "model_attributes_type", Loc: loc, Input: rawInput(raw),
			Msg: "Input should be a valid dictionary or object to extract fields from"})
		return
	}
	for _, f := range o.fields {
		floc := appendLoc(loc, f.name)
		praw, ok := props[f.name]
		if !ok {
			switch {
			case f.required:
				errs.Errors = append(errs.Errors, problem.FieldError{Type: "missing", Loc: floc, Msg: "Field required", Input: rawInput(raw)})
			case f.def != nil:
				json.Unmarshal(f.def, v.FieldByIndex(f.index).Addr().Interface())
			}
			continue
		}
		if seen != nil {
			seen(f.name)
		}
		f.decode(praw, v.FieldByIndex(f.index), floc, errs)
	}
	if o.forbidUnknown {
		var extra []string
		for name := range props {
			if _, ok := o.byName[name]; !ok {
				extra = append(extra, name)
			}
		}
		slices.Sort(extra) // in a stable order, not the map's
		for _, name := range extra {
			if errs.Full() {
				break
			}
			errs.Errors = append(errs.Errors, problem.FieldError{Type: "extra_forbidden", Loc: appendLoc(loc, name),
				Msg: "Extra inputs are not permitted", Input: rawInput(props[name])})
		}
	}
}

func (f *field) decode(raw json.RawMessage, fv reflect.Value, loc []any, errs *problem.ValidationError) {
	if bytes.Equal(bytes.TrimSpace(raw), []byte("null")) {
		switch fv.Kind() {
		case reflect.Pointer, reflect.Slice, reflect.Map, reflect.Interface:
			fv.SetZero()
		default:
			errs.Errors = append(errs.Errors, typeError(fv.Type(), loc, nil))
		}
		return
	}
	target := fv
	if fv.Kind() == reflect.Pointer && (f.obj != nil || f.elem != nil) {
		fv.Set(reflect.New(fv.Type().Elem()))
		target = fv.Elem()
	}
	switch {
	case f.obj != nil:
		f.obj.decode(raw, target, loc, errs, nil)
		return
	case f.elem != nil && target.Kind() == reflect.Map:
		var items map[string]json.RawMessage
		if err := json.Unmarshal(raw, &items); err != nil {
			errs.Errors = append(errs.Errors, typeError(target.Type(), loc, rawInput(raw)))
			return
		}
		m := reflect.MakeMapWithSize(target.Type(), len(items))
		for _, k := range slices.Sorted(maps.Keys(items)) { // errors in a stable order
			if errs.Full() {
				break
			}
			ev := reflect.New(target.Type().Elem()).Elem()
			decodeElem(f.elem, items[k], ev, appendLoc(loc, k), errs)
			m.SetMapIndex(reflect.ValueOf(k).Convert(target.Type().Key()), ev)
		}
		target.Set(m)
		f.rules.check(target, loc, errs)
		return
	case f.elem != nil:
		var items []json.RawMessage
		if err := json.Unmarshal(raw, &items); err != nil {
			errs.Errors = append(errs.Errors, typeError(target.Type(), loc, rawInput(raw)))
			return
		}
		s := reflect.MakeSlice(target.Type(), len(items), len(items))
		for i, item := range items {
			if errs.Full() {
				break
			}
			decodeElem(f.elem, item, s.Index(i), appendLoc(loc, i), errs)
		}
		target.Set(s)
		f.rules.check(target, loc, errs)
		return
	}
	before := len(errs.Errors)
	if f.quoted {
		decodeQuoted(raw, fv, loc, errs)
	} else {
		decodeValue(raw, fv, loc, errs)
	}
	if len(errs.Errors) == before {
		f.rules.check(fv, loc, errs)
	}
}

// decodeElem fills ev, an element of a slice or map, from raw as o
// decodes a struct. An element that is a pointer is made first: a null is
// an error, as for a struct, so that a handler never meets a nil element.
func decodeElem(o *object, raw json.RawMessage, ev reflect.Value, loc []any, errs *problem.ValidationError) {
	if ev.Kind() == reflect.Pointer {
		ev.Set(reflect.New(ev.Type().Elem()))
		ev = ev.Elem()
	}
	o.decode(raw, ev, loc, errs, nil)
}

// decodeError turns an error of encoding/json into pydantic's words.
func decodeError(err error, t reflect.Type, loc []any, raw json.RawMessage) problem.FieldError {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		if te.Field != "" {
			for _, part := range bytes.Split([]byte(te.Field), []byte(".")) {
				loc = appendLoc(loc, string(part))
			}
		}
		if te.Type != nil {
			t = te.Type
		}
		if num, ok := strings.CutPrefix(te.Value, "number "); ok && typeschema.IsInt(t) && strings.ContainsAny(num, ".eE") {
			return problem.FieldError{Type: "int_from_float", Loc: loc, Input: rawInput(raw),
				Msg: "Input should be a valid integer, got a number with a fractional part"}
		}
		return typeError(t, loc, rawInput(raw))
	}
	// A type's own decoder may quote the whole input in its error (time.Time does).
	return problem.FieldError{Type: "value_error", Loc: loc, Input: rawInput(raw), Msg: "Value error, " + problem.Truncate(err.Error())}
}

// typeError is the error for a value that is not of t's JSON type.
func typeError(t reflect.Type, loc []any, input any) problem.FieldError {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	typ, msg := "value_error", "Input is not valid"
	switch {
	case t == timeType:
		typ, msg = "datetime_type", "Input should be a valid datetime"
	case t.Kind() == reflect.String:
		typ, msg = "string_type", "Input should be a valid string"
	case t.Kind() == reflect.Bool:
		typ, msg = "bool_type", "Input should be a valid boolean"
	case typeschema.IsInt(t):
		typ, msg = "int_type", "Input should be a valid integer"
	case t.Kind() == reflect.Float32 || t.Kind() == reflect.Float64:
		typ, msg = "float_type", "Input should be a valid number"
	case t.Kind() == reflect.Slice || t.Kind() == reflect.Array:
		typ, msg = "list_type", "Input should be a valid list"
	case t.Kind() == reflect.Map:
		typ, msg = "dict_type", "Input should be a valid dictionary"
	case t.Kind() == reflect.Struct:
		typ, msg = "model_attributes_type", "Input should be a valid dictionary or object to extract fields from"
	}
	return problem.FieldError{Type: typ, Loc: loc, Msg: msg, Input: input}
}

// rawInput is the JSON value as the client sent it, for the "input" of an error.
func rawInput(raw []byte) any {
	if len(raw) == 0 {
		return nil
	}
	var v any
	if json.Unmarshal(raw, &v) != nil {
		return string(raw)
	}
	return v
}
