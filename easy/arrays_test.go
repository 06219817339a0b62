package easy_test

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/fastapi-easy/easy-go/easy"
	"github.com/fastapi-easy/easy-go/internal/testkit"
)

// A Go array holds exactly its length: the document says so with
// minItems and maxItems, and not null, and the binder refuses another
// length rather than cutting or padding it.
func TestFixedArray(t *testing.T) {
	type Pair struct {
		Pair  [2]int     `json:"pair"`
		Grid  [][2]uint8 `json:"grid"`
		Maybe *[2]int    `json:"maybe"`
	}
	app, _ := newApp(t)
	easy.Post(app, "/pair", func(ctx context.Context, in *Pair) (*Pair, error) { return in, nil })
	srv := testkit.Serve(t, app)

	var doc any
	if err := json.Unmarshal(testkit.Get(t, srv, "/openapi.json"), &doc); err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]string{
		"pair":  `{"items":{"type":"integer"},"maxItems":2,"minItems":2,"type":"array"}`,
		"grid":  `{"items":{"items":{"maximum":255,"minimum":0,"type":"integer"},"maxItems":2,"minItems":2,"type":"array"},"type":["array","null"]}`,
		"maybe": `{"items":{"type":"integer"},"maxItems":2,"minItems":2,"type":["null","array"]}`,
	} {
		got, _ := json.Marshal(at(doc, "components", "schemas", "Pair", "properties", name))
		if string(got) != want {
			t.Errorf("%s: %s, want %s", name, got, want)
		}
	}

	testkit.Do(t, srv, "POST", "/pair", `{"pair":[1,2,3],"grid":[[1,2],[3]],"maybe":[1]}`).Expect(t, 422, `{"detail":[`+
		`{"type":"too_long","loc":["body","pair"],"msg":"List should have at most 2 items after validation, not 3","input":[1,2,3],"ctx":{"actual_length":3,"max_length":2}},`+
		`{"type":"too_short","loc":["body","grid",1],"msg":"List should have at least 2 items after validation, not 1","input":[3],"ctx":{"actual_length":1,"min_length":2}},`+
		`{"type":"too_short","loc":["body","maybe"],"msg":"List should have at least 2 items after validation, not 1","input":[1],"ctx":{"actual_length":1,"min_length":2}}]}`)
	testkit.Do(t, srv, "POST", "/pair", `{"pair":null}`).Expect(t, 422,
		`{"detail":[{"type":"list_type","loc":["body","pair"],"msg":"Input should be a valid list","input":null}]}`)
	testkit.Do(t, srv, "POST", "/pair", `{"pair":[1,2],"grid":[[3,4]],"maybe":null}`).Expect(t, 200,
		`{"pair":[1,2],"grid":[[3,4]],"maybe":null}`)
}
