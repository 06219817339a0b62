package easy_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"testing"

	"github.com/fastapi-easy/easy-go/easy"
	"github.com/fastapi-easy/easy-go/internal/testkit"
)

type listParamsIn struct {
	IDs   []int    `header:"X-Ids"`
	Tags  []string `header:"X-Tags"`
	Token string   `header:"X-Token"`
	Keys  []int    `cookie:"keys"`
}

type listParamsOut struct {
	IDs   []int    `json:"IDs"`
	Tags  []string `json:"Tags"`
	Token string   `json:"Token"`
	Keys  []int    `json:"Keys"`
}

// A list in a header is comma-separated (style simple), on one line or
// several, as RFC 9110 joins them; a list in a cookie is one cookie whose
// value is comma-separated (style form, explode false), the last cookie
// of its name as for any cookie. A header that is not a list is not split.
func TestHeaderAndCookieLists(t *testing.T) {
	app, _ := newApp(t)
	easy.Get(app, "/lists", func(ctx context.Context, in *listParamsIn) (*listParamsOut, error) {
		return &listParamsOut{in.IDs, in.Tags, in.Token, in.Keys}, nil
	})
	srv := testkit.Serve(t, app)

	for _, c := range []struct {
		name   string
		header http.Header
		status int
		want   string
	}{
		{"one line", http.Header{"X-Ids": {"1,2"}, "X-Tags": {"a,b"}}, 200,
			`{"IDs":[1,2],"Tags":["a","b"],"Token":"","Keys":null}`},
		{"lines", http.Header{"X-Ids": {"1", "2, 3"}}, 200,
			`{"IDs":[1,2,3],"Tags":null,"Token":"","Keys":null}`},
		{"whitespace", http.Header{"X-Tags": {" a ,\tb "}}, 200,
			`{"IDs":null,"Tags":["a","b"],"Token":"","Keys":null}`},
		{"empty element", http.Header{"X-Tags": {"a,,b"}}, 200,
			`{"IDs":null,"Tags":["a","","b"],"Token":"","Keys":null}`},
		{"empty line", http.Header{"X-Tags": {"", "a"}}, 200,
			`{"IDs":null,"Tags":["a"],"Token":"","Keys":null}`},
		{"not a list", http.Header{"X-Token": {"a,b"}}, 200,
			`{"IDs":null,"Tags":null,"Token":"a,b","Keys":null}`},
		{"bad element", http.Header{"X-Ids": {"1", "2,x"}}, 422,
			`{"detail":[{"type":"int_parsing","loc":["header","X-Ids",2],"msg":"Input should be a valid integer, unable to parse string as an integer","input":"x"}]}`},
		{"cookie", http.Header{"Cookie": {"keys=1,2"}}, 200,
			`{"IDs":null,"Tags":null,"Token":"","Keys":[1,2]}`},
		{"cookie twice", http.Header{"Cookie": {"keys=1; keys=2,3"}}, 200,
			`{"IDs":null,"Tags":null,"Token":"","Keys":[2,3]}`},
		{"empty cookie", http.Header{"Cookie": {"keys="}}, 200,
			`{"IDs":null,"Tags":null,"Token":"","Keys":null}`},
		{"bad cookie element", http.Header{"Cookie": {"keys=1,x"}}, 422,
			`{"detail":[{"type":"int_parsing","loc":["cookie","keys",1],"msg":"Input should be a valid integer, unable to parse string as an integer","input":"x"}]}`},
	} {
		req, err := http.NewRequest("GET", srv.URL+"/lists", nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header = c.header
		res, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != c.status || string(b) != c.want {
			t.Errorf("%s %v:\n got %d %s\nwant %d %s", c.name, c.header, res.StatusCode, b, c.status, c.want)
		}
	}

	var doc struct {
		Paths map[string]map[string]struct {
			Parameters []struct {
				Name    string `json:"name"`
				Style   string `json:"style"`
				Explode *bool  `json:"explode"`
			} `json:"parameters"`
		} `json:"paths"`
	}
	if err := json.Unmarshal([]byte(testkit.Do(t, srv, "GET", "/openapi.json", "").Body), &doc); err != nil {
		t.Fatal(err)
	}
	for _, p := range doc.Paths["/lists"]["get"].Parameters {
		explode := "unset"
		if p.Explode != nil {
			explode = map[bool]string{true: "true", false: "false"}[*p.Explode]
		}
		want := "/unset" // a header's style is simple by default
		if p.Name == "keys" {
			want = "form/false"
		}
		if got := p.Style + "/" + explode; got != want {
			t.Errorf("parameter %s: style/explode %s, want %s", p.Name, got, want)
		}
	}
}
