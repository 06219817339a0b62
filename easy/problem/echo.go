package problem

import (
	"bytes"
	"encoding"
	"encoding/json"
	"reflect"
	"slices"
	"strings"
)

// MaxInput is how many bytes of a refused string an error echoes.
const MaxInput = 200

// MaxInputValues is how many values of a refused list or object an error
// echoes: its elements and members, and theirs, counted together however
// deep they sit.
const MaxInputValues = 50

// MaxErrors is how many field errors a 422 lists: the first found. A
// list of a million bad items would otherwise be answered by a body many
// times the size of the request.
const MaxErrors = 100

// ellipsis marks what an error leaves out of an input it echoes.
const ellipsis = "…"

// Truncate shortens an input echoed in an error to MaxInput bytes and an
// ellipsis, so that an error body never repeats a large request. It cuts
// between characters, and a string it returns is returned unchanged.
func Truncate(s string) string {
	if len(s) <= MaxInput {
		return s
	}
	return strings.ToValidUTF8(s[:MaxInput], "") + ellipsis
}

// Echo returns v as an error may show it to the client: every string in
// it, however deep, cut by Truncate (object keys too), and its lists and
// objects cut after MaxInputValues values in all, a cut list ending with
// "…" and a cut object holding a "…" member, its members kept in the
// order of their names. Write applies it to the input of every field
// error of a 422, so a large request is never repeated back whole.
func Echo(v any) any {
	budget := MaxInputValues
	return echo(v, &budget)
}

var (
	jsonMarshalerType = reflect.TypeFor[json.Marshaler]()
	textMarshalerType = reflect.TypeFor[encoding.TextMarshaler]()
)

// echo cuts v, spending budget on each element and member it keeps.
func echo(v any, budget *int) any {
	switch v := v.(type) {
	case nil, bool, float64, json.Number:
		return v
	case string:
		return Truncate(v)
	case []any:
		return echoList(len(v), func(i int) any { return v[i] }, budget)
	case map[string]any:
		return echoObject(v, budget)
	}
	rv := reflect.ValueOf(v)
	t := rv.Type()
	if t.Implements(jsonMarshalerType) || t.Implements(textMarshalerType) {
		return echoJSON(v, budget)
	}
	switch rv.Kind() {
	case reflect.Bool, reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr,
		reflect.Float32, reflect.Float64:
		return v
	case reflect.String:
		return Truncate(rv.String())
	case reflect.Slice, reflect.Array:
		if t.Elem().Kind() == reflect.Uint8 || rv.Kind() == reflect.Slice && rv.IsNil() {
			break // base64 text, or null
		}
		return echoList(rv.Len(), func(i int) any { return rv.Index(i).Interface() }, budget)
	}
	return echoJSON(v, budget)
}

func echoList(n int, elem func(int) any, budget *int) []any {
	out := make([]any, 0, min(n, *budget+1))
	for i := range n {
		if *budget <= 0 {
			return append(out, ellipsis)
		}
		*budget--
		out = append(out, echo(elem(i), budget))
	}
	return out
}

func echoObject(m map[string]any, budget *int) map[string]any {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys) // the order the JSON encoding shows them in
	out := make(map[string]any, min(len(m), *budget+1))
	for _, k := range keys {
		if *budget <= 0 {
			out[ellipsis] = ellipsis
			break
		}
		*budget--
		out[Truncate(k)] = echo(m[k], budget)
	}
	return out
}

// echoJSON cuts any other value (a struct, a map, a type that encodes
// itself) as its JSON encoding shows it. A value that does not encode is
// returned as it is, for Write to report.
func echoJSON(v any, budget *int) any {
	b, err := json.Marshal(v)
	if err != nil {
		return v
	}
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	var j any
	if d.Decode(&j) != nil {
		return v
	}
	return echo(j, budget)
}
