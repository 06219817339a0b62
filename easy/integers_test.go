package easy_test

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/fastapi-easy/easy-go/easy"
	"github.com/fastapi-easy/easy-go/internal/testkit"
)

type Sized struct {
	Age   uint8 `json:"age"`
	Temp  int16 `json:"temp"`
	Small int32 `json:"small" minimum:"-10" maximum:"1e12"`
	Count int64 `json:"count"`
}

type SizedParams struct {
	Age    uint8    `query:"age"`
	Temp   int16    `query:"temp"`
	Levels []uint16 `query:"level"`
}

// The range of a sized integer is in the document, where a double holds
// its bounds exactly, and out of range is greater_than_equal or
// less_than_equal with the bound, in the body and the query alike.
func TestSizedIntegerRange(t *testing.T) {
	app, _ := newApp(t)
	easy.Post(app, "/sized", func(ctx context.Context, in *Sized) (*Sized, error) { return in, nil })
	easy.Get(app, "/sized", func(ctx context.Context, in *SizedParams) (*Sized, error) { return &Sized{Age: in.Age}, nil })
	srv := testkit.Serve(t, app)

	var doc any
	if err := json.Unmarshal(testkit.Get(t, srv, "/openapi.json"), &doc); err != nil {
		t.Fatal(err)
	}
	prop := func(name string) []string { return []string{"components", "schemas", "Sized", "properties", name} }
	for _, c := range []struct {
		path []string
		want string
	}{
		{prop("age"), `{"maximum":255,"minimum":0,"type":"integer"}`},
		{prop("temp"), `{"maximum":32767,"minimum":-32768,"type":"integer"}`},
		{prop("small"), `{"format":"int32","maximum":2147483647,"minimum":-10,"type":"integer"}`}, // the tag narrows the minimum, not the maximum
		{prop("count"), `{"format":"int64","type":"integer"}`},
		{[]string{"paths", "/sized", "get", "parameters", "name=level", "schema"},
			`{"items":{"maximum":65535,"minimum":0,"type":"integer"},"type":"array"}`},
	} {
		got, _ := json.Marshal(at(doc, c.path...))
		if string(got) != c.want {
			t.Errorf("%v: %s, want %s", c.path, got, c.want)
		}
	}

	testkit.Do(t, srv, "POST", "/sized", `{"age":300,"temp":-40000,"small":-11,"count":9223372036854775808}`).Expect(t, 422, `{"detail":[`+
		`{"type":"less_than_equal","loc":["body","age"],"msg":"Input should be less than or equal to 255","input":300,"ctx":{"le":255}},`+
		`{"type":"greater_than_equal","loc":["body","temp"],"msg":"Input should be greater than or equal to -32768","input":-40000,"ctx":{"ge":-32768}},`+
		`{"type":"greater_than_equal","loc":["body","small"],"msg":"Input should be greater than or equal to -10","input":-11,"ctx":{"ge":-10}},`+
		`{"type":"less_than_equal","loc":["body","count"],"msg":"Input should be less than or equal to 9223372036854775807","input":9223372036854775808,"ctx":{"le":9223372036854775807}}]}`)
	testkit.Do(t, srv, "POST", "/sized", `{"age":-1,"small":2147483648}`).Expect(t, 422, `{"detail":[`+
		`{"type":"greater_than_equal","loc":["body","age"],"msg":"Input should be greater than or equal to 0","input":-1,"ctx":{"ge":0}},`+
		`{"type":"less_than_equal","loc":["body","small"],"msg":"Input should be less than or equal to 2147483647","input":2147483648,"ctx":{"le":2147483647}}]}`)
	testkit.Do(t, srv, "GET", "/sized?age=300&temp=-40000&level=1&level=65536", "").Expect(t, 422, `{"detail":[`+
		`{"type":"less_than_equal","loc":["query","age"],"msg":"Input should be less than or equal to 255","input":"300","ctx":{"le":255}},`+
		`{"type":"greater_than_equal","loc":["query","temp"],"msg":"Input should be greater than or equal to -32768","input":"-40000","ctx":{"ge":-32768}},`+
		`{"type":"less_than_equal","loc":["query","level",1],"msg":"Input should be less than or equal to 65535","input":"65536","ctx":{"le":65535}}]}`)
	testkit.Do(t, srv, "GET", "/sized?age=99999999999999999999999999999&temp=1e2", "").Expect(t, 422, `{"detail":[`+
		`{"type":"less_than_equal","loc":["query","age"],"msg":"Input should be less than or equal to 255","input":"99999999999999999999999999999","ctx":{"le":255}},`+
		`{"type":"int_parsing","loc":["query","temp"],"msg":"Input should be a valid integer, unable to parse string as an integer","input":"1e2"}]}`)
	testkit.Do(t, srv, "POST", "/sized", `{"age":255,"temp":-32768,"small":-10,"count":-9223372036854775808}`).Expect(t, 200,
		`{"age":255,"temp":-32768,"small":-10,"count":-9223372036854775808}`)
}

// A JSON number whose value is an integer is one, however it is written,
// as pydantic reads it: its value is read exactly, not through a float64.
// A real fraction is int_from_float.
func TestIntegerValuedNumber(t *testing.T) {
	type In struct {
		N    int64   `json:"n"`
		P    *int    `json:"p"`
		List []int16 `json:"list"`
	}
	app, _ := newApp(t)
	easy.Post(app, "/n", func(ctx context.Context, in *In) (*In, error) { return in, nil })
	srv := testkit.Serve(t, app)
	for _, c := range []struct{ body, want string }{
		{`{"n":1.0,"p":-0.0,"list":[1e2,250E-1,-3.000]}`, `{"n":1,"p":0,"list":[100,25,-3]}`},
		{`{"n":9007199254740993.0}`, `{"n":9007199254740993,"p":null,"list":null}`},
		{`{"n":9.223372036854775807e18}`, `{"n":9223372036854775807,"p":null,"list":null}`},
		{`{"n":0e999999999999999999999}`, `{"n":0,"p":null,"list":null}`},
	} {
		testkit.Do(t, srv, "POST", "/n", c.body).Expect(t, 200, c.want)
	}
	testkit.Do(t, srv, "POST", "/n", `{"n":1.5,"p":1e-999999999999,"list":[1,2.5,4e4]}`).Expect(t, 422, `{"detail":[`+
		`{"type":"int_from_float","loc":["body","n"],"msg":"Input should be a valid integer, got a number with a fractional part","input":1.5},`+
		`{"type":"int_from_float","loc":["body","p"],"msg":"Input should be a valid integer, got a number with a fractional part","input":1e-999999999999},`+
		`{"type":"int_from_float","loc":["body","list",1],"msg":"Input should be a valid integer, got a number with a fractional part","input":2.5},`+
		`{"type":"less_than_equal","loc":["body","list",2],"msg":"Input should be less than or equal to 32767","input":4e4,"ctx":{"le":32767}}]}`)
	testkit.Do(t, srv, "POST", "/n", `{"n":1e999999999,"list":[null,"1"]}`).Expect(t, 422, `{"detail":[`+
		`{"type":"less_than_equal","loc":["body","n"],"msg":"Input should be less than or equal to 9223372036854775807","input":1e999999999,"ctx":{"le":9223372036854775807}},`+
		`{"type":"int_type","loc":["body","list",0],"msg":"Input should be a valid integer","input":null},`+
		`{"type":"int_type","loc":["body","list",1],"msg":"Input should be a valid integer","input":"1"}]}`)
}

// SizedMap holds sized integers by name.
type SizedMap struct {
	M map[string]int8 `json:"m,omitempty"`
}

// TestIntegersInAMap: the values of a map are integers as a field's are,
// as the document says (each with its type's range): 1.0 is 1, and 300 is
// out of an int8's range at the value's own location. encoding/json
// decoded the map: 1.0 was int_from_float and 300 int_type at the map.
func TestIntegersInAMap(t *testing.T) {
	app, _ := newApp(t)
	easy.Post(app, "/m", func(ctx context.Context, in *SizedMap) (*SizedMap, error) { return in, nil })
	srv := testkit.Serve(t, app)
	testkit.Do(t, srv, "POST", "/m", `{"m":{"a":1.0,"b":-128}}`).Expect(t, 200, `{"m":{"a":1,"b":-128}}`)
	testkit.Do(t, srv, "POST", "/m", `{"m":{"b":300,"a":"x"}}`).Expect(t, 422, `{"detail":[`+
		`{"type":"int_type","loc":["body","m","a"],"msg":"Input should be a valid integer","input":"x"},`+
		`{"type":"less_than_equal","loc":["body","m","b"],"msg":"Input should be less than or equal to 127","input":300,"ctx":{"le":127}}]}`)
	testkit.Do(t, srv, "POST", "/m", `{"m":[1]}`).Expect(t, 422, `{"detail":[{"type":"dict_type","loc":["body","m"],"msg":"Input should be a valid dictionary","input":[1]}]}`)
}
