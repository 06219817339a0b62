package easy_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"gorm.io/gorm"

	"github.com/fastapi-easy/easy-go/easy"
	"github.com/fastapi-easy/easy-go/easy/crud"
	"github.com/fastapi-easy/easy-go/easy/query"
	"github.com/fastapi-easy/easy-go/easy/security"
	"github.com/fastapi-easy/easy-go/internal/testkit"
)

// Note is a row owned by a user.
type Note struct {
	ID    uint   `json:"id" gorm:"primaryKey"`
	Owner string `json:"owner" easy:"readonly"`
	Text  string `json:"text" required:"true" minLength:"1"`
}

// Post is a row anyone may read and only an admin may delete.
type Post struct {
	ID    uint   `json:"id" gorm:"primaryKey"`
	Title string `json:"title" required:"true"`
}

type member struct {
	Name  string
	Admin bool
}

func (m *member) HasRole(role string) bool { return role == "admin" && m.Admin }

// securedCRUD is an app with notes scoped to their owner (an admin sees
// all) and posts with per-route rules; users sign in with X-User.
func securedCRUD(t *testing.T, db *gorm.DB) *httptest.Server {
	t.Helper()
	user := security.APIKeyHeader("X-User", func(ctx context.Context, key string) (*member, error) {
		switch key {
		case "alice", "bob":
			return &member{Name: key}, nil
		case "root":
			return &member{Name: key, Admin: true}, nil
		}
		return nil, security.ErrInvalidCredentials
	})
	admin := security.RequireRoles(user, "admin")
	app := easy.New(easy.DB(db), easy.Logger(slog.New(slog.DiscardHandler)))
	app.Include(
		easy.CRUDRouter[Note](crud.DeleteAll(), crud.Uses(user), crud.Policy(query.Rows("owner", func(ctx context.Context) (any, error) {
			if u := user.From(ctx); !u.Admin {
				return u.Name, nil
			}
			return nil, nil
		}))),
		easy.CRUDRouter[Post](
			crud.RouteUses(crud.CreateRoute, user), crud.RouteUses(crud.ReplaceRoute, user), crud.RouteUses(crud.UpdateRoute, user),
			crud.RouteUses(crud.DeleteRoute, admin)),
	)
	return testkit.Serve(t, app)
}

func as(user string) []string { return []string{"X-User", user} }

// A user reads, changes, deletes and lists only their own notes; another
// user's note is a 404 on every route; a create is always in the
// creator's name; an admin sees every note.
func TestCRUDRowScope(t *testing.T) {
	testkit.Each(t, nil, func(t *testing.T, db *gorm.DB) {
		srv := securedCRUD(t, db)
		testkit.Do(t, srv, "POST", "/notes", `{"text":"a1"}`, as("alice")...).Expect(t, 201, `{"id":1,"owner":"alice","text":"a1"}`)
		testkit.Do(t, srv, "POST", "/notes", `{"text":"b1","owner":"alice"}`, as("bob")...).Expect(t, 201, `{"id":2,"owner":"bob","text":"b1"}`)
		testkit.Do(t, srv, "POST", "/notes", `{"text":"a2"}`, as("alice")...).Expect(t, 201, `{"id":3,"owner":"alice","text":"a2"}`)

		list := testkit.Do(t, srv, "GET", "/notes?sort=-id", "", as("alice")...)
		list.Expect(t, 200, `[{"id":3,"owner":"alice","text":"a2"},{"id":1,"owner":"alice","text":"a1"}]`)
		if n := list.Header.Get("X-Total-Count"); n != "2" {
			t.Errorf("alice's X-Total-Count: %s, want 2", n)
		}
		testkit.Do(t, srv, "GET", "/notes?owner=alice", "", as("bob")...).Expect(t, 200, `[]`)
		testkit.Do(t, srv, "GET", "/notes?id__in=1,2,3", "", as("bob")...).Expect(t, 200, `[{"id":2,"owner":"bob","text":"b1"}]`)

		notFound := `{"detail":"Note not found"}`
		testkit.Do(t, srv, "GET", "/notes/2", "", as("alice")...).Expect(t, 404, notFound)
		testkit.Do(t, srv, "PUT", "/notes/2", `{"text":"mine"}`, as("alice")...).Expect(t, 404, notFound)
		testkit.Do(t, srv, "PATCH", "/notes/2", `{"text":"mine"}`, as("alice")...).Expect(t, 404, notFound)
		testkit.Do(t, srv, "DELETE", "/notes/2", "", as("alice")...).Expect(t, 404, notFound)
		testkit.Do(t, srv, "GET", "/notes/2", "", as("bob")...).Expect(t, 200, `{"id":2,"owner":"bob","text":"b1"}`)

		// A change cannot move a row out of its owner's scope.
		testkit.Do(t, srv, "PATCH", "/notes/1", `{"text":"a1!","owner":"bob"}`, as("alice")...).Expect(t, 200, `{"id":1,"owner":"alice","text":"a1!"}`)
		testkit.Do(t, srv, "PUT", "/notes/1", `{"text":"a1?","owner":"bob"}`, as("alice")...).Expect(t, 200, `{"id":1,"owner":"alice","text":"a1?"}`)
		testkit.Do(t, srv, "DELETE", "/notes/3", "", as("alice")...).Expect(t, 200, `{"id":3,"owner":"alice","text":"a2"}`)

		// DELETE on the collection deletes only the caller's rows.
		testkit.Do(t, srv, "DELETE", "/notes", "", as("bob")...).Expect(t, 200, `{"deleted":1}`)
		testkit.Do(t, srv, "GET", "/notes", "", as("root")...).Expect(t, 200, `[{"id":1,"owner":"alice","text":"a1?"}]`)

		testkit.Do(t, srv, "GET", "/notes", "").Expect(t, 401, `{"detail":"Not authenticated"}`)
		testkit.Do(t, srv, "GET", "/notes/1", "", as("mallory")...).Expect(t, 401, `{"detail":"Could not validate credentials"}`)
	})
}

// Anyone may list and read posts, a signed-in user may write them, and
// only an admin may delete one.
func TestCRUDRouteRules(t *testing.T) {
	testkit.Each(t, nil, func(t *testing.T, db *gorm.DB) {
		srv := securedCRUD(t, db)
		testkit.Do(t, srv, "POST", "/posts", `{"title":"t"}`).Expect(t, 401, `{"detail":"Not authenticated"}`)
		testkit.Do(t, srv, "POST", "/posts", `{"title":"t"}`, as("alice")...).Expect(t, 201, `{"id":1,"title":"t"}`)
		testkit.Do(t, srv, "GET", "/posts", "").Expect(t, 200, `[{"id":1,"title":"t"}]`)
		testkit.Do(t, srv, "GET", "/posts/1", "").Expect(t, 200, `{"id":1,"title":"t"}`)
		testkit.Do(t, srv, "PATCH", "/posts/1", `{"title":"u"}`).Expect(t, 401, `{"detail":"Not authenticated"}`)
		testkit.Do(t, srv, "PATCH", "/posts/1", `{"title":"u"}`, as("bob")...).Expect(t, 200, `{"id":1,"title":"u"}`)
		testkit.Do(t, srv, "DELETE", "/posts/1", "").Expect(t, 401, `{"detail":"Not authenticated"}`)
		testkit.Do(t, srv, "DELETE", "/posts/1", "", as("alice")...).Expect(t, 403, `{"detail":"Not enough permissions"}`)
		testkit.Do(t, srv, "DELETE", "/posts/1", "", as("root")...).Expect(t, 200, `{"id":1,"title":"u"}`)
	})
}

// The CRUD routes document what they require: security on every note
// route and on the post routes that need a user, 401 and 403 where they
// can happen. (internal/thirdparty validates the document.)
func TestCRUDSecurityInTheSpec(t *testing.T) {
	srv := securedCRUD(t, testkit.SQLite(t, nil))
	raw := testkit.Get(t, srv, "/openapi.json")
	var doc struct {
		Paths map[string]map[string]struct {
			Security  []map[string][]string      `json:"security"`
			Responses map[string]json.RawMessage `json:"responses"`
		}
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	for route, want := range map[string]string{
		"get /notes": "secured 401", "post /notes": "secured 401", "get /notes/{id}": "secured 401",
		"delete /notes": "secured 401", "delete /notes/{id}": "secured 401",
		"get /posts": "open", "get /posts/{id}": "open", "post /posts": "secured 401",
		"patch /posts/{id}": "secured 401", "delete /posts/{id}": "secured 401 403",
	} {
		method, path, _ := strings.Cut(route, " ")
		op := doc.Paths[path][method]
		got := "open"
		if len(op.Security) == 1 && op.Security[0]["APIKeyHeader"] != nil {
			got = "secured"
		}
		for _, code := range []string{"401", "403"} {
			if _, ok := op.Responses[code]; ok {
				got += " " + code
			}
		}
		if got != want {
			t.Errorf("%s: %s, want %s", route, got, want)
		}
	}
}

// TestCRUDDependencyErrorIsLoggedByTheApp checks that a dependency that
// fails with a plain error on a CRUD route answers 500 without internals
// and that the App's own logger records why.
func TestCRUDDependencyErrorIsLoggedByTheApp(t *testing.T) {
	app, logs := newApp(t, easy.DB(testkit.SQLite(t, nil)))
	broken := easy.Depends(func(ctx context.Context, _ *struct{}) (string, error) {
		return "", errors.New("token store unreachable")
	})
	app.Include(easy.CRUDRouter[Doc](crud.Uses(broken)))
	srv := testkit.Serve(t, app)
	testkit.Do(t, srv, "GET", "/docs_items", "").Expect(t, http.StatusInternalServerError, `{"detail":"Internal Server Error"}`)
	if !strings.Contains(logs.String(), "token store unreachable") {
		t.Fatalf("the App's logger did not record the error:\n%s", logs.String())
	}
}

// Doc is a model for TestCRUDDependencyErrorIsLoggedByTheApp.
type Doc struct {
	ID   uint   `json:"id" gorm:"primaryKey"`
	Text string `json:"text"`
}

func (Doc) TableName() string { return "docs_items" }

// A credential in the query (a bearer token under TokenQuery, an API key
// under APIKeyQuery) is the scheme's on every route it covers: the CRUD
// list takes it rather than refusing it as an unknown filter, and no error
// body or log line repeats it.
func TestQueryCredentialsOnTheList(t *testing.T) {
	const token, key = "secret-token-0123456789", "secret-key-9876543210"
	bearer := security.HTTPBearer(func(ctx context.Context, tok string) (string, error) {
		if tok != token {
			return "", security.ErrInvalidCredentials
		}
		return "alice", nil
	}, security.TokenQuery("access_token"))
	apiKey := security.APIKeyQuery("api_key", func(ctx context.Context, k string) (string, error) {
		if k != key {
			return "", security.ErrInvalidCredentials
		}
		return "bob", nil
	})
	logger, logs := testkit.Logger(slog.LevelDebug)
	app := easy.New(easy.DB(testkit.SQLite(t, nil)), easy.Logger(logger))
	app.Include(easy.CRUDRouter[Note](crud.Uses(bearer)), easy.CRUDRouter[Post](crud.Uses(apiKey)))
	srv := testkit.Serve(t, app)
	testkit.Do(t, srv, "POST", "/notes?access_token="+token, `{"text":"hi"}`).Expect(t, 201, `{"id":1,"owner":"","text":"hi"}`)
	testkit.Do(t, srv, "POST", "/posts?api_key="+key, `{"title":"news"}`).Expect(t, 201, `{"id":1,"title":"news"}`)

	for _, c := range []struct{ path, status, body string }{
		{"/notes?access_token=" + token, "200", `[{"id":1,"owner":"","text":"hi"}]`},
		{"/notes?access_token=" + token + "&text=hi", "200", `[{"id":1,"owner":"","text":"hi"}]`},
		{"/notes?access_token=" + token + "&nope=1", "422", `{"detail":[{"type":"extra_forbidden","loc":["query","nope"],"msg":"Unknown query parameter: not skip, limit, sort or a filterable field","input":"1"}]}`},
		{"/notes?access_token=" + token + "x", "401", `{"detail":"Could not validate credentials"}`},
		{"/posts?api_key=" + key, "200", `[{"id":1,"title":"news"}]`},
		{"/posts?api_key=" + key + "&id=x", "422", `{"detail":[{"type":"int_parsing","loc":["query","id"],"msg":"Input should be a valid integer, unable to parse string as an integer","input":"x"}]}`},
	} {
		r := testkit.Do(t, srv, "GET", c.path, "")
		if fmt.Sprint(r.Status) != c.status || r.Body != c.body {
			t.Errorf("GET %s: %d %s, want %s %s", c.path, r.Status, r.Body, c.status, c.body)
		}
	}
	spec := testkit.Do(t, srv, "GET", "/openapi.json", "").Body
	for _, want := range []string{`"name":"access_token","in":"query"`, `"name":"api_key","in":"query"`} {
		if !strings.Contains(spec, want) {
			t.Errorf("the document lacks %s", want)
		}
	}
	if strings.Contains(logs.String(), "secret-") {
		t.Errorf("a credential reached the log:\n%s", logs)
	}
}
