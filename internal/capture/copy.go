package capture

import (
	"encoding/json"
	"reflect"
)

func jsonMarshal(v any) (json.RawMessage, error) { return json.Marshal(v) }

// copyRow returns a *T holding a deep copy of rv, a struct of the model's
// type, so that the caller may go on changing its value. A model made of
// plain values (numbers, strings, time.Time, gorm.DeletedAt, ...) is copied
// by one assignment.
func (c *Capture) copyRow(w *model, rv reflect.Value) reflect.Value {
	out := reflect.New(w.typ)
	if w.flat {
		out.Elem().Set(rv)
		return out
	}
	out.Elem().Set(c.deepCopy(rv, map[ptrKey]reflect.Value{}))
	return out
}

// isFlat reports whether assigning a value of type t copies it deeply, as far
// as its exported fields go; unexported fields (such as time.Time's location)
// are shared, being out of the caller's reach anyway. Results are cached per
// Capture.
func (c *Capture) isFlat(t reflect.Type) bool {
	if v, ok := c.flat.Load(t); ok {
		return v.(bool)
	}
	flat := true
	switch t.Kind() {
	case reflect.Pointer, reflect.Slice, reflect.Map, reflect.Interface:
		flat = false
	case reflect.Array:
		flat = c.isFlat(t.Elem())
	case reflect.Struct:
		// Store a guess first so that a recursive type ends the recursion;
		// such a type holds a pointer and is found not flat below.
		c.flat.Store(t, false)
		for i := 0; i < t.NumField(); i++ {
			if f := t.Field(i); f.IsExported() && !c.isFlat(f.Type) {
				flat = false
				break
			}
		}
	}
	c.flat.Store(t, flat)
	return flat
}

// ptrKey names a pointer by address and type: a struct and its first field
// share an address.
type ptrKey struct {
	p uintptr
	t reflect.Type
}

// deepCopy copies v, following pointers, slices, maps and interfaces through
// exported fields. seen maps each pointer already copied to its copy, so that
// shared and cyclic pointers stay shared and cyclic in the copy.
func (c *Capture) deepCopy(v reflect.Value, seen map[ptrKey]reflect.Value) reflect.Value {
	t := v.Type()
	if c.isFlat(t) {
		return v
	}
	switch t.Kind() {
	case reflect.Pointer:
		if v.IsNil() {
			return v
		}
		k := ptrKey{v.Pointer(), t}
		if p, ok := seen[k]; ok {
			return p
		}
		p := reflect.New(t.Elem())
		seen[k] = p
		p.Elem().Set(c.deepCopy(v.Elem(), seen))
		return p
	case reflect.Slice:
		if v.IsNil() {
			return v
		}
		s := reflect.MakeSlice(t, v.Len(), v.Len())
		for i := 0; i < v.Len(); i++ {
			s.Index(i).Set(c.deepCopy(v.Index(i), seen))
		}
		return s
	case reflect.Map:
		if v.IsNil() {
			return v
		}
		m := reflect.MakeMapWithSize(t, v.Len())
		for it := v.MapRange(); it.Next(); {
			m.SetMapIndex(it.Key(), c.deepCopy(it.Value(), seen))
		}
		return m
	case reflect.Interface:
		if v.IsNil() {
			return v
		}
		i := reflect.New(t).Elem()
		i.Set(c.deepCopy(v.Elem(), seen))
		return i
	case reflect.Array:
		a := reflect.New(t).Elem()
		for i := 0; i < v.Len(); i++ {
			a.Index(i).Set(c.deepCopy(v.Index(i), seen))
		}
		return a
	case reflect.Struct:
		s := reflect.New(t).Elem()
		s.Set(v) // unexported fields, shared
		for i := 0; i < t.NumField(); i++ {
			if t.Field(i).IsExported() {
				s.Field(i).Set(c.deepCopy(v.Field(i), seen))
			}
		}
		return s
	}
	return v
}
