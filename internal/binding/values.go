package binding

import (
	"bytes"
	"encoding/json"
	"maps"
	"reflect"
	"slices"

	"github.com/fastapi-easy/easy-go/easy/problem"
	"github.com/fastapi-easy/easy-go/internal/typeschema"
)

// decodeValue fills v from raw, a JSON value that is not an object the
// binder decodes field by field. Integers are decodeInt's, and lists of
// them are decoded element by element so that each is; anything else is
// encoding/json's.
func decodeValue(raw json.RawMessage, v reflect.Value, loc []any, errs *problem.ValidationError) {
	t := v.Type()
	if !ownDecoding(t) {
		if err := json.Unmarshal(raw, v.Addr().Interface()); err != nil {
			errs.Errors = append(errs.Errors, decodeError(err, t, loc, raw))
		}
		return
	}
	switch t.Kind() {
	case reflect.Pointer:
		if bytes.Equal(bytes.TrimSpace(raw), []byte("null")) {
			v.SetZero()
			return
		}
		p := reflect.New(t.Elem())
		decodeValue(raw, p.Elem(), loc, errs)
		v.Set(p)
	case reflect.Slice, reflect.Array:
		var items []json.RawMessage
		if err := json.Unmarshal(raw, &items); err != nil || items == nil && t.Kind() == reflect.Array {
			errs.Errors = append(errs.Errors, typeError(t, loc, rawInput(raw)))
			return
		}
		if items == nil { // null
			v.SetZero()
			return
		}
		if t.Kind() == reflect.Array && len(items) != t.Len() {
			n := int64(t.Len())
			errs.Errors = append(errs.Errors, lengthError(int64(len(items)), n, n, loc, rawInput(raw)))
			return
		}
		s := v
		if t.Kind() == reflect.Slice {
			s = reflect.MakeSlice(t, len(items), len(items))
		}
		for i, item := range items {
			if errs.Full() {
				break
			}
			decodeValue(item, s.Index(i), appendLoc(loc, i), errs)
		}
		v.Set(s)
	case reflect.Map:
		var items map[string]json.RawMessage
		if err := json.Unmarshal(raw, &items); err != nil {
			errs.Errors = append(errs.Errors, typeError(t, loc, rawInput(raw)))
			return
		}
		if items == nil { // null
			v.SetZero()
			return
		}
		m := reflect.MakeMapWithSize(t, len(items))
		for _, key := range slices.Sorted(maps.Keys(items)) { // the errors in one order
			if errs.Full() {
				break
			}
			item := reflect.New(t.Elem()).Elem()
			decodeValue(items[key], item, appendLoc(loc, key), errs)
			m.SetMapIndex(reflect.ValueOf(key).Convert(t.Key()), item)
		}
		v.Set(m)
	default:
		decodeInt(raw, v, loc, errs)
	}
}

// ownDecoding reports whether decodeValue decodes t itself: an integer,
// an array, or a pointer, slice, array or map by string of one, that does
// not decode itself.
func ownDecoding(t reflect.Type) bool {
	if p := reflect.PointerTo(t); p.Implements(jsonUnmarshalerType) || p.Implements(textUnmarshalerType) {
		return false
	}
	switch t.Kind() {
	case reflect.Pointer:
		return ownDecoding(t.Elem())
	case reflect.Map:
		return t.Key().Kind() == reflect.String && !reflect.PointerTo(t.Key()).Implements(textUnmarshalerType) && ownDecoding(t.Elem())
	case reflect.Slice:
		return t.Elem().Kind() != reflect.Uint8 && ownDecoding(t.Elem())
	case reflect.Array:
		return true
	}
	return typeschema.IsInt(t)
}
