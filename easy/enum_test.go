package easy_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/fastapi-easy/easy-go/easy"
	"github.com/fastapi-easy/easy-go/internal/testkit"
)

// A number's enum is a JSON list: enum:"[1,2,3]". The comma form is read
// as strings, which no number equals, so it is refused when the
// operation is registered, body or query, rather than refusing every
// request.
func TestEnumOfANumber(t *testing.T) {
	type In struct {
		Level int `json:"level" enum:"[1,2,3]"`
	}
	app, _ := newApp(t)
	easy.Post(app, "/levels", func(ctx context.Context, in *In) (*In, error) { return in, nil })
	srv := testkit.Serve(t, app)
	testkit.Do(t, srv, "POST", "/levels", `{"level":2}`).Expect(t, 200, `{"level":2}`)
	testkit.Do(t, srv, "POST", "/levels", `{"level":4}`).Expect(t, 422,
		`{"detail":[{"type":"enum","loc":["body","level"],"msg":"Input should be 1, 2 or 3","input":4,"ctx":{"expected":"1, 2 or 3"}}]}`)

	for _, c := range []struct {
		name string
		add  func(*easy.App)
	}{
		{"body", func(app *easy.App) {
			type In struct {
				Level int `json:"level" enum:"1,2,3"`
			}
			easy.Post(app, "/bad", func(ctx context.Context, in *In) (*In, error) { return in, nil })
		}},
		{"query", func(app *easy.App) {
			type In struct {
				Level float64 `query:"level" enum:"1,2"`
			}
			easy.Get(app, "/bad", func(ctx context.Context, in *In) (*In, error) { return in, nil })
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			app, _ := newApp(t)
			defer func() {
				r := recover()
				if msg := fmt.Sprint(r); r == nil || !strings.Contains(msg, `write the values as a JSON list`) {
					t.Errorf("registered with enum:\"1,2,3\" on a number: recovered %v", r)
				}
			}()
			c.add(app)
		})
	}
}
