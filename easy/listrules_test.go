package easy_test

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/fastapi-easy/easy-go/easy"
	"github.com/fastapi-easy/easy-go/internal/testkit"
)

// The constraint tags of a list field describe its elements: the
// document shows them on the items (minItems and maxItems stay on the
// array), and the binder checks each element by them, in the body, the
// query and a header.
func TestListElementConstraints(t *testing.T) {
	type Body struct {
		Roles []string `json:"roles" enum:"admin,user" maxItems:"2"`
		Codes []string `json:"codes" pattern:"^[A-Z]+$" maxLength:"3"`
		Nums  []int    `json:"nums" minimum:"1"`
	}
	type Params struct {
		Tags []string `query:"tag" enum:"a,b"`
		Nums []int    `header:"X-Num" minimum:"1"`
	}
	app, _ := newApp(t)
	easy.Post(app, "/lists", func(ctx context.Context, in *Body) (*Body, error) { return in, nil })
	easy.Get(app, "/lists", func(ctx context.Context, in *Params) (*Body, error) { return &Body{Roles: in.Tags, Nums: in.Nums}, nil })
	srv := testkit.Serve(t, app)

	var doc any
	if err := json.Unmarshal(testkit.Get(t, srv, "/openapi.json"), &doc); err != nil {
		t.Fatal(err)
	}
	param := func(i string) []string {
		return []string{"paths", "/lists", "get", "parameters", "name=" + i, "schema"}
	}
	for _, c := range []struct {
		path []string
		want string
	}{
		{[]string{"components", "schemas", "Body", "properties", "roles"},
			`{"items":{"enum":["admin","user"],"type":"string"},"maxItems":2,"type":["array","null"]}`},
		{[]string{"components", "schemas", "Body", "properties", "codes"},
			`{"items":{"maxLength":3,"pattern":"^[A-Z]+$","type":"string"},"type":["array","null"]}`},
		{[]string{"components", "schemas", "Body", "properties", "nums"},
			`{"items":{"minimum":1,"type":"integer"},"type":["array","null"]}`},
		{param("tag"), `{"items":{"enum":["a","b"],"type":"string"},"type":"array"}`},
		{param("X-Num"), `{"items":{"minimum":1,"type":"integer"},"type":"array"}`},
	} {
		got, _ := json.Marshal(at(doc, c.path...))
		if string(got) != c.want {
			t.Errorf("%v: %s, want %s", c.path, got, c.want)
		}
	}

	testkit.Do(t, srv, "POST", "/lists", `{"roles":["admin","root"],"codes":["AB","ab","ABCD"],"nums":[1,0]}`).Expect(t, 422,
		`{"detail":[`+
			`{"type":"enum","loc":["body","roles",1],"msg":"Input should be 'admin' or 'user'","input":"root","ctx":{"expected":"'admin' or 'user'"}},`+
			`{"type":"string_pattern_mismatch","loc":["body","codes",1],"msg":"String should match pattern '^[A-Z]+$'","input":"ab","ctx":{"pattern":"^[A-Z]+$"}},`+
			`{"type":"string_too_long","loc":["body","codes",2],"msg":"String should have at most 3 characters","input":"ABCD","ctx":{"max_length":3}},`+
			`{"type":"greater_than_equal","loc":["body","nums",1],"msg":"Input should be greater than or equal to 1","input":0,"ctx":{"ge":1}}]}`)
	testkit.Do(t, srv, "POST", "/lists", `{"roles":["admin","user","admin"]}`).Expect(t, 422,
		`{"detail":[{"type":"too_long","loc":["body","roles"],"msg":"List should have at most 2 items after validation, not 3","input":["admin","user","admin"],"ctx":{"actual_length":3,"max_length":2}}]}`)
	testkit.Do(t, srv, "POST", "/lists", `{"roles":["user"],"codes":["AB"],"nums":[1]}`).Expect(t, 200,
		`{"roles":["user"],"codes":["AB"],"nums":[1]}`)

	testkit.Do(t, srv, "GET", "/lists?tag=a&tag=c", "", "X-Num", "0").Expect(t, 422,
		`{"detail":[`+
			`{"type":"enum","loc":["query","tag",1],"msg":"Input should be 'a' or 'b'","input":"c","ctx":{"expected":"'a' or 'b'"}},`+
			`{"type":"greater_than_equal","loc":["header","X-Num",0],"msg":"Input should be greater than or equal to 1","input":0,"ctx":{"ge":1}}]}`)
	testkit.Do(t, srv, "GET", "/lists?tag=b", "", "X-Num", "2").Expect(t, 200, `{"roles":["b"],"codes":null,"nums":[2]}`)
}
