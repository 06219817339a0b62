package easy_test

import (
	"context"
	"net/http"
	"testing"

	"github.com/fastapi-easy/easy-go/easy"
	"github.com/fastapi-easy/easy-go/internal/testkit"
)

// A string parameter that is not valid UTF-8, or holds a NUL, is a 422
// before the handler runs, as in CRUD: PostgreSQL refuses such text, and
// the handler's query would be a 500.
func TestTextParametersThatPostgresRefusesAre422(t *testing.T) {
	db := testkit.Postgres(t, nil)
	app, _ := newApp(t, easy.DB(db), easy.NoMigrate())
	easy.Get(app, "/users/{name}", func(ctx context.Context, in *struct {
		Name  string `path:"name"`
		Q     string `query:"q"`
		Token string `header:"X-Token"`
	}) (*map[string]string, error) {
		var got string
		err := db.WithContext(ctx).Raw("SELECT ?::text || ?::text || ?::text", in.Name, in.Q, in.Token).Scan(&got).Error
		return &map[string]string{"got": got}, err
	})
	srv := testkit.Serve(t, app)

	testkit.Do(t, srv, "GET", "/users/ann?q=b", "", "X-Token", "c").Expect(t, http.StatusOK, `{"got":"annbc"}`)
	const msg = `"msg":"Input should be a valid UTF-8 string without NUL characters"`
	for _, c := range []struct {
		name, path string
		header     []string
		want       string
	}{
		{"path not UTF-8", "/users/%FF", nil,
			`{"detail":[{"type":"string_type","loc":["path","name"],` + msg + `,"input":"` + "\ufffd" + `"}]}`},
		{"query with a NUL", "/users/ann?q=a%00b", nil,
			`{"detail":[{"type":"string_type","loc":["query","q"],` + msg + `,"input":"a\u0000b"}]}`},
		{"query not UTF-8", "/users/ann?q=%C3", nil,
			`{"detail":[{"type":"string_type","loc":["query","q"],` + msg + `,"input":"` + "\ufffd" + `"}]}`},
		{"header not UTF-8", "/users/ann", []string{"X-Token", "a\xffb"},
			`{"detail":[{"type":"string_type","loc":["header","X-Token"],` + msg + `,"input":"a` + "\ufffd" + `b"}]}`},
	} {
		t.Run(c.name, func(t *testing.T) {
			testkit.Do(t, srv, "GET", c.path, "", c.header...).Expect(t, http.StatusUnprocessableEntity, c.want)
		})
	}
}
