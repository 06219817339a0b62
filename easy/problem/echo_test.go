package problem_test

import (
	"encoding/json"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/fastapi-easy/easy-go/easy/problem"
)

func TestEcho(t *testing.T) {
	long := strings.Repeat("a", 300)
	cut := long[:problem.MaxInput] + "…"
	many := make([]any, 60)
	for i := range many {
		many[i] = i
	}
	wide := map[string]any{}
	for i := range 60 {
		wide[string(rune('A'+i))] = i
	}
	type named string
	type point struct {
		X string `json:"x"`
	}
	cases := []struct {
		name string
		in   any
		want string
	}{
		{"null", nil, `null`},
		{"a number", 1.5, `1.5`},
		{"a short string", "abc", `"abc"`},
		{"a long string", long, `"` + cut + `"`},
		{"a string cut between characters", strings.Repeat("é", 150), `"` + strings.Repeat("é", 100) + `…"`},
		{"a string cut once", problem.Truncate(long), `"` + cut + `"`},
		{"a string deep in lists and objects", map[string]any{"a": []any{map[string]any{"b": long}}}, `{"a":[{"b":"` + cut + `"}]}`},
		{"a long key", map[string]any{long: 1}, `{"` + cut + `":1}`},
		{"a long list", many, `[` + listOf(50) + `,"…"]`},
		{"a wide object, cut in the order of its names", wide, objectOf(50)},
		{"values counted however deep", []any{many, many}, `[[` + listOf(49) + `,"…"],"…"]`},
		{"a typed list", []string{long, "b"}, `["` + cut + `","b"]`},
		{"a typed string", named(long), `"` + cut + `"`},
		{"a struct, as its JSON", point{X: long}, `{"x":"` + cut + `"}`},
		{"a type that encodes itself", time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC), `"2025-01-02T03:04:05Z"`},
		{"bytes, as base64", []byte("hi"), `"aGk="`},
		{"a nil list", []string(nil), `null`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			b, err := json.Marshal(problem.Echo(c.in))
			if err != nil {
				t.Fatal(err)
			}
			if string(b) != c.want {
				t.Errorf("got  %s\nwant %s", b, c.want)
			}
		})
	}
}

func listOf(n int) string {
	parts := make([]string, n)
	for i := range parts {
		parts[i] = jsonOf(i)
	}
	return strings.Join(parts, ",")
}

func objectOf(n int) string {
	parts := make([]string, n)
	for i := range parts {
		parts[i] = jsonOf(string(rune('A'+i))) + ":" + jsonOf(i)
	}
	return `{` + strings.Join(parts, ",") + `,"…":"…"}`
}

func jsonOf(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// Write cuts the input of every field error, whoever built it.
func TestWriteCutsInputs(t *testing.T) {
	long := strings.Repeat("x", 900_000)
	ve := &problem.ValidationError{Errors: []problem.FieldError{
		{Type: "string_too_long", Loc: []any{"body", "name"}, Msg: "String should have at most 20 characters", Input: long},
		{Type: "missing", Loc: []any{"body", "items", 0, "name"}, Msg: "Field required", Input: map[string]any{"note": long}},
	}}
	w := httptest.NewRecorder()
	problem.Write(w, httptest.NewRequest("POST", "/", nil), nil, ve)
	cut := long[:problem.MaxInput] + "…"
	want := `{"detail":[{"type":"string_too_long","loc":["body","name"],"msg":"String should have at most 20 characters","input":"` + cut + `"},` +
		`{"type":"missing","loc":["body","items",0,"name"],"msg":"Field required","input":{"note":"` + cut + `"}}]}`
	if w.Code != 422 || w.Body.String() != want {
		t.Errorf("got %d %s\nwant 422 %s", w.Code, w.Body, want)
	}
	if ve.Errors[0].Input != long {
		t.Error("Write changed the error it was given")
	}
}

// Write lists the first MaxErrors errors.
func TestWriteListsTheFirstErrors(t *testing.T) {
	var ve problem.ValidationError
	for i := range problem.MaxErrors + 5 {
		ve.Add("int_type", []any{"body", "ids", i}, "Input should be a valid integer", "x")
	}
	w := httptest.NewRecorder()
	problem.Write(w, httptest.NewRequest("POST", "/", nil), nil, &ve)
	var body struct{ Detail []problem.FieldError }
	if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil {
		t.Fatal(err)
	}
	if n := len(body.Detail); n != problem.MaxErrors || body.Detail[n-1].Loc[2] != float64(problem.MaxErrors-1) {
		t.Errorf("%d errors written, the last %v", n, body.Detail[n-1].Loc)
	}
	if len(ve.Errors) != problem.MaxErrors+5 {
		t.Error("Write changed the error it was given")
	}
}
