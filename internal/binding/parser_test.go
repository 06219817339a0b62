package binding_test

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"reflect"
	"testing"

	"github.com/fastapi-easy/easy-go/easy/problem"
	"github.com/fastapi-easy/easy-go/internal/binding"
)

// TestParser checks the exported parser of parameter text.
func TestParser(t *testing.T) {
	cases := []struct {
		typ     reflect.Type
		in      string
		want    any
		errType string
	}{
		{reflect.TypeFor[int](), "-12", -12, ""},
		{reflect.TypeFor[int8](), "300", nil, "less_than_equal"},
		{reflect.TypeFor[int8](), "-300", nil, "greater_than_equal"},
		{reflect.TypeFor[int](), "1e2", nil, "int_parsing"},
		{reflect.TypeFor[uint](), "-1", nil, "greater_than_equal"},
		{reflect.TypeFor[float64](), "1.5", 1.5, ""},
		{reflect.TypeFor[float64](), "NaN", nil, "float_parsing"},
		{reflect.TypeFor[bool](), "yes", true, ""},
		{reflect.TypeFor[bool](), "maybe", nil, "bool_parsing"},
		{reflect.TypeFor[string](), "x y", "x y", ""},
	}
	for _, c := range cases {
		parse, err := binding.Parser(c.typ)
		if err != nil {
			t.Fatal(err)
		}
		v := reflect.New(c.typ).Elem()
		fe := parse(c.in, v)
		switch {
		case c.errType != "" && (fe == nil || fe.Type != c.errType || fe.Loc != nil):
			t.Errorf("%s %q: error %+v, want type %s without a location", c.typ, c.in, fe, c.errType)
		case c.errType == "" && (fe != nil || v.Interface() != reflect.ValueOf(c.want).Convert(c.typ).Interface()):
			t.Errorf("%s %q: %v %+v, want %v", c.typ, c.in, v, fe, c.want)
		}
	}
	if _, err := binding.Parser(reflect.TypeFor[struct{}]()); err == nil {
		t.Error("a struct has a parser")
	}
}

type body struct {
	Name  string `json:"name"`
	Count int    `json:"count"`
}

func bind(t *testing.T, opt binding.ObjectOptions, raw string) *problem.ValidationError {
	t.Helper()
	plan, err := binding.Compile(reflect.TypeFor[body](), binding.Options{ObjectOptions: opt})
	if err != nil {
		t.Fatal(err)
	}
	r := httptest.NewRequest(http.MethodPost, "/", bytes.NewReader([]byte(raw)))
	r.Header.Set("Content-Type", "application/json")
	err = plan.Bind(r, new(body))
	ve, _ := err.(*problem.ValidationError)
	return ve
}

// TestUnknownFieldsInOrder checks that extra properties are reported in
// the order of their names, whatever the map's order.
func TestUnknownFieldsInOrder(t *testing.T) {
	for range 20 {
		ve := bind(t, binding.ObjectOptions{ForbidUnknown: true, Exclude: []string{"count"}}, `{"zeta":1,"count":2,"alpha":3,"mid":4}`)
		var got []any
		for _, e := range ve.Errors {
			got = append(got, e.Loc[1])
		}
		if !reflect.DeepEqual(got, []any{"alpha", "count", "mid", "zeta"}) {
			t.Fatalf("extra fields in order %v", got)
		}
	}
}

// TestIntegerTooLarge checks that an integer too large for its field is
// a less_than_equal error with the type's bound, not one about a
// fractional part.
func TestIntegerTooLarge(t *testing.T) {
	ve := bind(t, binding.ObjectOptions{}, `{"count":99999999999999999999}`)
	if ve == nil || len(ve.Errors) != 1 || ve.Errors[0].Type != "less_than_equal" {
		t.Fatalf("errors %+v", ve)
	}
	ve = bind(t, binding.ObjectOptions{}, `{"count":1.5}`)
	if ve == nil || len(ve.Errors) != 1 || ve.Errors[0].Type != "int_from_float" {
		t.Fatalf("errors %+v", ve)
	}
}
