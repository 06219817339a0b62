package easy_test

import (
	"context"
	"log/slog"
	"net/http"
	"strings"
	"testing"

	"github.com/fastapi-easy/easy-go/easy"
	"github.com/fastapi-easy/easy-go/easy/openapi"
	"github.com/fastapi-easy/easy-go/easy/route"
	"github.com/fastapi-easy/easy-go/easy/security"
	"github.com/fastapi-easy/easy-go/internal/testkit"
)

// describedEcho is a ChannelHandler, as ws.Manager.Handler's are.
type describedEcho struct {
	http.HandlerFunc
	reqs []route.Requirement
}

func (d describedEcho) Channel(address string) (openapi.Channel, []route.Requirement) {
	return openapi.Channel{ID: "echo", Address: address, Send: []openapi.Message{{Name: "echo", Payload: ""}}}, d.reqs
}

// TestAsyncAPIIsServedOnceThereIsAChannel checks that the AsyncAPI
// document, its YAML and its page are served where easy.AsyncAPI says
// once the App has a channel (a ChannelHandler given to Handle, here),
// not before, and not at all with an empty path; that a channel's
// requirements are documented as an operation's; and that the OpenAPI
// document links the page.
func TestAsyncAPIIsServedOnceThereIsAChannel(t *testing.T) {
	quiet := easy.Logger(slog.New(slog.DiscardHandler))
	key := security.APIKeyHeader("X-Key", func(ctx context.Context, key string) (string, error) { return key, nil })
	echo := describedEcho{HandlerFunc: func(w http.ResponseWriter, r *http.Request) {}, reqs: []route.Requirement{key}}
	for _, tc := range []struct {
		name    string
		opts    []easy.Option
		channel bool
		served  string // the document's path; "" for none
	}{
		{"no channel", nil, false, ""},
		{"default", nil, true, "/asyncapi.json"},
		{"moved", []easy.Option{easy.AsyncAPI("/realtime/asyncapi.json")}, true, "/realtime/asyncapi.json"},
		{"off", []easy.Option{easy.AsyncAPI("")}, true, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			app := easy.New(append(tc.opts, quiet, easy.DB(testkit.SQLite(t, nil)))...)
			if tc.channel {
				app.Handle("GET /ws/echo", echo)
			}
			srv := testkit.Serve(t, app)
			for _, p := range []string{"/asyncapi.json", "/realtime/asyncapi.json"} {
				if p == tc.served {
					continue
				}
				testkit.Do(t, srv, "GET", p, "").Expect(t, 404, `{"detail":"Not Found"}`)
			}
			spec := testkit.Get(t, srv, "/openapi.json")
			if linked := strings.Contains(string(spec), `"externalDocs"`); linked != (tc.served != "") {
				t.Errorf("the OpenAPI document links the page: %v, want %v", linked, tc.served != "")
			}
			if tc.served == "" {
				return
			}
			page := strings.TrimSuffix(tc.served, ".json")
			if !strings.Contains(string(spec), `"externalDocs":{"description":"The realtime API (AsyncAPI): channels and messages","url":"`+page+`"}`) {
				t.Errorf("the OpenAPI document does not link %s:\n%s", page, spec)
			}
			doc := string(testkit.Get(t, srv, tc.served))
			for _, want := range []string{
				`"asyncapi":"3.0.0"`,
				`"echo":{"address":"/ws/echo"`,
				`"security":[{"$ref":"#/components/securitySchemes/APIKeyHeader"}]`,
				`"securitySchemes":{"APIKeyHeader":{"in":"header","name":"X-Key","type":"httpApiKey"}}`,
				`"contentType":"text/plain"`,
			} {
				if !strings.Contains(doc, want) {
					t.Errorf("the document lacks %s:\n%s", want, doc)
				}
			}
			if y := testkit.Do(t, srv, "GET", page+".yaml", ""); y.Status != 200 || !strings.HasPrefix(y.Body, "asyncapi: 3.0.0\n") {
				t.Errorf("%s.yaml: %d %s", page, y.Status, y.Body)
			}
			if p := testkit.Do(t, srv, "GET", page, ""); p.Status != 200 || !strings.Contains(p.Body, `const specURL = "`+tc.served+`";`) {
				t.Errorf("%s: %d %s", page, p.Status, p.Body)
			}
		})
	}
}

// TestAsyncAPIMistakesPanic checks that a bad path for the document and
// a channel that cannot be added stop the App at start-up.
func TestAsyncAPIMistakesPanic(t *testing.T) {
	for _, tc := range []struct {
		name string
		fn   func()
		want string
	}{
		{"path", func() { easy.AsyncAPI("asyncapi") }, `easy: AsyncAPI("asyncapi"): want a path like /asyncapi.json`},
		{"channel", func() {
			app := easy.New(easy.DB(testkit.SQLite(t, nil)))
			app.AddChannel(openapi.Channel{ID: "x", Address: "/ws/x"})
			app.AddChannel(openapi.Channel{ID: "x", Address: "/ws/y"})
		}, `easy: asyncapi: channel ID "x" is taken`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			defer func() {
				if r := recover(); r != tc.want {
					t.Errorf("panic %v, want %s", r, tc.want)
				}
			}()
			tc.fn()
		})
	}
}
