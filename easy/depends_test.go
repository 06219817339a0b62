package easy_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"gorm.io/gorm"

	"github.com/fastapi-easy/easy-go/easy"
	"github.com/fastapi-easy/easy-go/internal/testkit"
)

type depUser struct {
	Name string `json:"name"`
}

type tokenIn struct {
	Token string `header:"X-Token" required:"true" description:"The caller's token."`
}

type pageIn struct {
	Skip  int `query:"skip" minimum:"0" default:"0"`
	Limit int `query:"limit" minimum:"1" maximum:"50" default:"10"`
}

type page struct{ Skip, Limit int }

type whoami struct {
	User  string `json:"user"`
	Admin bool   `json:"admin"`
	Skip  int    `json:"skip"`
	Limit int    `json:"limit"`
}

// depFixture is an app whose operations share a current user (counted
// per resolution), an admin check that needs it, and pagination.
func depFixture(t *testing.T) (*easy.App, *atomic.Int64) {
	t.Helper()
	var resolved atomic.Int64
	currentUser := easy.Depends(func(ctx context.Context, in *tokenIn) (*depUser, error) {
		resolved.Add(1)
		name, ok := strings.CutPrefix(in.Token, "token-")
		if !ok {
			return nil, easy.NewHTTPError(http.StatusUnauthorized, "Invalid token")
		}
		return &depUser{Name: name}, nil
	})
	isAdmin := easy.Depends(func(ctx context.Context, _ *easy.NoInput) (bool, error) {
		return currentUser.From(ctx).Name == "root", nil
	}, currentUser)
	pagination := easy.Depends(func(ctx context.Context, in *pageIn) (page, error) {
		return page{in.Skip, in.Limit}, nil
	})

	app, _ := newApp(t)
	easy.Get(app, "/me", func(ctx context.Context, _ *easy.NoInput) (*whoami, error) {
		p := pagination.From(ctx)
		return &whoami{User: currentUser.From(ctx).Name, Admin: isAdmin.From(ctx), Skip: p.Skip, Limit: p.Limit}, nil
	}, easy.Uses(currentUser, isAdmin, pagination))
	easy.Get(app, "/public", func(ctx context.Context, _ *easy.NoInput) (*page, error) {
		p := pagination.From(ctx)
		return &p, nil
	}, easy.Uses(pagination))
	admin := app.Group("/admin", easy.Uses(isAdmin))
	easy.Get(admin, "/check", func(ctx context.Context, _ *easy.NoInput) (*whoami, error) {
		if !isAdmin.From(ctx) {
			return nil, easy.Forbidden("Admins only")
		}
		return &whoami{User: currentUser.From(ctx).Name, Admin: true}, nil
	})
	admin.Handle("GET /raw", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "raw for %s, admin %t", currentUser.From(r.Context()).Name, isAdmin.From(r.Context()))
	}))
	easy.Get(app, "/forgotten", func(ctx context.Context, _ *easy.NoInput) (*whoami, error) {
		return &whoami{User: currentUser.From(ctx).Name}, nil
	})
	return app, &resolved
}

func TestDependencyResolvedOncePerRequestAndTyped(t *testing.T) {
	app, resolved := depFixture(t)
	srv := testkit.Serve(t, app)
	testkit.Do(t, srv, "GET", "/me?limit=5", "", "X-Token", "token-root").
		Expect(t, 200, `{"user":"root","admin":true,"skip":0,"limit":5}`)
	// /me lists currentUser and isAdmin, which needs it too: one resolution.
	if n := resolved.Load(); n != 1 {
		t.Errorf("the current user was resolved %d times in one request, want 1", n)
	}
	testkit.Do(t, srv, "GET", "/me", "", "X-Token", "token-ann").
		Expect(t, 200, `{"user":"ann","admin":false,"skip":0,"limit":10}`)
	if n := resolved.Load(); n != 2 {
		t.Errorf("resolved %d times in two requests, want 2", n)
	}
}

func TestDependencyErrorStopsTheRequest(t *testing.T) {
	app, _ := depFixture(t)
	srv := testkit.Serve(t, app)
	testkit.Do(t, srv, "GET", "/me", "", "X-Token", "bogus").Expect(t, 401, `{"detail":"Invalid token"}`)
	testkit.Do(t, srv, "GET", "/me", "").Expect(t, 422,
		`{"detail":[{"type":"missing","loc":["header","X-Token"],"msg":"Field required","input":null}]}`)
	testkit.Do(t, srv, "GET", "/public?limit=51", "").Expect(t, 422,
		`{"detail":[{"type":"less_than_equal","loc":["query","limit"],"msg":"Input should be less than or equal to 50","input":51,"ctx":{"le":50}}]}`)
	testkit.Do(t, srv, "GET", "/public?skip=3", "").Expect(t, 200, `{"Skip":3,"Limit":10}`)
}

func TestGroupDependenciesResolveForEveryOperation(t *testing.T) {
	app, _ := depFixture(t)
	srv := testkit.Serve(t, app)
	testkit.Do(t, srv, "GET", "/admin/check", "", "X-Token", "token-root").Expect(t, 200, `{"user":"root","admin":true,"skip":0,"limit":0}`)
	testkit.Do(t, srv, "GET", "/admin/check", "", "X-Token", "token-ann").Expect(t, 403, `{"detail":"Admins only"}`)
	testkit.Do(t, srv, "GET", "/admin/check", "", "X-Token", "nope").Expect(t, 401, `{"detail":"Invalid token"}`)
	// A route outside the document is behind them too: a group that
	// requires a user guards all it serves.
	testkit.Do(t, srv, "GET", "/admin/raw", "", "X-Token", "token-root").Expect(t, 200, `raw for root, admin true`)
	testkit.Do(t, srv, "GET", "/admin/raw", "", "X-Token", "nope").Expect(t, 401, `{"detail":"Invalid token"}`)
	testkit.Do(t, srv, "GET", "/admin/raw", "").Expect(t, 422,
		`{"detail":[{"type":"missing","loc":["header","X-Token"],"msg":"Field required","input":null}]}`)
}

func TestDependencyNotListedIsA500(t *testing.T) {
	app, logs := newApp(t)
	dep := easy.Depends(func(ctx context.Context, _ *easy.NoInput) (int, error) { return 1, nil })
	easy.Get(app, "/x", func(ctx context.Context, _ *easy.NoInput) (*page, error) {
		return &page{Skip: dep.From(ctx)}, nil
	})
	testkit.Do(t, testkit.Serve(t, app), "GET", "/x", "").Expect(t, 500, `{"detail":"Internal Server Error"}`)
	if !strings.Contains(logs.String(), "was not resolved for this request") {
		t.Errorf("the log does not say why:\n%s", logs)
	}
}

func TestDependencyParametersInTheSpec(t *testing.T) {
	app, _ := depFixture(t)
	srv := testkit.Serve(t, app)
	raw := testkit.Get(t, srv, "/openapi.json")
	var doc struct {
		Paths map[string]map[string]struct {
			Parameters []struct{ Name, In string }
			Responses  map[string]json.RawMessage
		}
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	params := func(path string) []string {
		var out []string
		for _, p := range doc.Paths[path]["get"].Parameters {
			out = append(out, p.In+":"+p.Name)
		}
		return out
	}
	for path, want := range map[string]string{
		"/me":          "header:X-Token query:skip query:limit",
		"/public":      "query:skip query:limit",
		"/admin/check": "header:X-Token",
	} {
		if got := strings.Join(params(path), " "); got != want {
			t.Errorf("%s parameters: got %q, want %q", path, got, want)
		}
		if _, ok := doc.Paths[path]["get"].Responses["422"]; !ok {
			t.Errorf("%s: 422 is not documented", path)
		}
	}
}

type txRow struct {
	ID   uint   `json:"id" gorm:"primaryKey"`
	Name string `json:"name"`
}

type txIn struct {
	Name string `json:"name" required:"true"`
	Fail bool   `query:"fail"`
}

// A transaction per request: committed when the handler succeeds, rolled
// back when it fails or panics, and a failed commit is the response.
func TestDependsYieldTransactionPerRequest(t *testing.T) {
	testkit.Each(t, nil, func(t *testing.T, db *gorm.DB) {
		if err := db.AutoMigrate(&txRow{}); err != nil {
			t.Fatal(err)
		}
		var failCommit atomic.Bool
		tx := easy.DependsYield(func(ctx context.Context, _ *easy.NoInput) (*gorm.DB, easy.Release, error) {
			tx := db.WithContext(ctx).Begin()
			if tx.Error != nil {
				return nil, nil, tx.Error
			}
			return tx, func(ctx context.Context, failed bool) error {
				if failed {
					return tx.Rollback().Error
				}
				if failCommit.Load() {
					tx.Rollback()
					return easy.Conflict("Commit refused")
				}
				return tx.Commit().Error
			}, nil
		})
		app, _ := newApp(t, easy.DB(db))
		easy.Post(app, "/rows", func(ctx context.Context, in *txIn) (*txRow, error) {
			row := &txRow{Name: in.Name}
			if err := tx.From(ctx).Create(row).Error; err != nil {
				return nil, err
			}
			if in.Name == "panic" {
				panic("boom")
			}
			if in.Fail {
				return nil, easy.BadRequest("Failed after the write")
			}
			return row, nil
		}, easy.Uses(tx))
		srv := testkit.Serve(t, app)
		testkit.Do(t, srv, "POST", "/rows", `{"name":"kept"}`).Expect(t, 200, `{"id":1,"name":"kept"}`)
		testkit.Do(t, srv, "POST", "/rows?fail=true", `{"name":"gone"}`).Expect(t, 400, `{"detail":"Failed after the write"}`)
		testkit.Do(t, srv, "POST", "/rows", `{"name":"panic"}`).Expect(t, 500, `{"detail":"Internal Server Error"}`)
		failCommit.Store(true)
		testkit.Do(t, srv, "POST", "/rows", `{"name":"refused"}`).Expect(t, 409, `{"detail":"Commit refused"}`)
		var names []string
		if err := db.Model(&txRow{}).Order("id").Pluck("name", &names).Error; err != nil {
			t.Fatal(err)
		}
		if strings.Join(names, ",") != "kept" {
			t.Errorf("rows after the requests: %v, want only kept", names)
		}
	})
}

func TestDependencyResolveOutsideAnOperation(t *testing.T) {
	user := easy.Depends(func(ctx context.Context, in *tokenIn) (string, error) {
		if in.Token == "" {
			return "", errors.New("no token")
		}
		return in.Token, nil
	})
	r, _ := http.NewRequest("GET", "/ws", nil)
	r.Header.Set("X-Token", "abc")
	ctx, err := user.Resolve(r)
	if err != nil {
		t.Fatalf("Resolve: %v", err)
	}
	if v := user.From(ctx); v != "abc" {
		t.Errorf("Resolve: From gives %q", v)
	}
}
