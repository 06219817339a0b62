package easy_test

import (
	"context"
	"testing"

	"github.com/fastapi-easy/easy-go/easy"
	"github.com/fastapi-easy/easy-go/internal/testkit"
)

// A list parameter's default is a JSON list, bound as if the client had
// sent each element: default:"[1,2]" is the ids 1 and 2, as FastAPI's
// Query(default=[1, 2]).
func TestListParameterDefault(t *testing.T) {
	type In struct {
		IDs  []int    `query:"id" default:"[1,2]" maximum:"5"`
		Tags []string `query:"tag" default:"[\"a\",\"b\"]"`
	}
	type Out struct {
		IDs  []int    `json:"ids"`
		Tags []string `json:"tags"`
	}
	app, _ := newApp(t)
	easy.Get(app, "/find", func(ctx context.Context, in *In) (*Out, error) { return &Out{in.IDs, in.Tags}, nil })
	srv := testkit.Serve(t, app)
	testkit.Do(t, srv, "GET", "/find", "").Expect(t, 200, `{"ids":[1,2],"tags":["a","b"]}`)
	testkit.Do(t, srv, "GET", "/find?id=3&tag=c", "").Expect(t, 200, `{"ids":[3],"tags":["c"]}`)
}
