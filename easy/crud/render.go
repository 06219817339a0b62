package crud

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
)

// encode returns v, a *T or a []T, as JSON; with fields, each row keeps
// only those (fields=id,name), in the order given.
func encode(v any, fields []string) ([]byte, error) {
	if fields == nil {
		return json.Marshal(v)
	}
	rv := reflect.ValueOf(v)
	if rv.Kind() == reflect.Pointer {
		return project(v, fields)
	}
	var b bytes.Buffer
	b.WriteByte('[')
	for i := range rv.Len() {
		if i > 0 {
			b.WriteByte(',')
		}
		row, err := project(rv.Index(i).Addr().Interface(), fields)
		if err != nil {
			return nil, err
		}
		b.Write(row)
	}
	b.WriteByte(']')
	return b.Bytes(), nil
}

// project returns the JSON object of row with the properties fields
// name alone.
func project(row any, fields []string) ([]byte, error) {
	full, err := json.Marshal(row)
	if err != nil {
		return nil, err
	}
	var props map[string]json.RawMessage
	if err := json.Unmarshal(full, &props); err != nil {
		return nil, fmt.Errorf("crud: fields of a %T: %w", row, err)
	}
	var b bytes.Buffer
	b.WriteByte('{')
	n := 0
	for _, f := range fields {
		raw, ok := props[f]
		if !ok {
			continue // a field whose omitempty left it out
		}
		if n > 0 {
			b.WriteByte(',')
		}
		name, _ := json.Marshal(f)
		b.Write(name)
		b.WriteByte(':')
		b.Write(raw)
		n++
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

// writeJSON writes the JSON body b with status and the headers already set.
func writeJSON(w http.ResponseWriter, status int, b []byte) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(b)
}
