package binding

import "reflect"

// ParamNames returns the names of the parameters in location in ("path",
// "query", "header" or "cookie") that the struct v (or a pointer to one)
// declares, embedded structs included, as Compile reads them.
func ParamNames(v any, in string) []string {
	t := reflect.TypeOf(v)
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t == nil || t.Kind() != reflect.Struct {
		return nil
	}
	var names []string
	var walk func(t reflect.Type)
	walk = func(t reflect.Type) {
		for i := range t.NumField() {
			sf := t.Field(i)
			if name, ok := tagName(sf, in); ok && sf.IsExported() {
				names = append(names, name)
			} else if !ok && sf.Anonymous && sf.Type.Kind() == reflect.Struct {
				walk(sf.Type)
			}
		}
	}
	walk(t)
	return names
}
