package easy_test

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/fastapi-easy/easy-go/easy"
	"github.com/fastapi-easy/easy-go/easy/openapi"
	"github.com/fastapi-easy/easy-go/easy/route"
	"github.com/fastapi-easy/easy-go/internal/testkit"
)

// newApp returns an App that logs into the returned Log.
func newApp(t testing.TB, opts ...easy.Option) (*easy.App, *testkit.Log) {
	t.Helper()
	logger, logs := testkit.Logger(slog.LevelInfo)
	return easy.New(append([]easy.Option{easy.Logger(logger)}, opts...)...), logs
}

func TestGroups(t *testing.T) {
	app, _ := newApp(t)
	var hits atomic.Int32
	count := func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			hits.Add(1)
			w.Header().Set("X-Group", "v1")
			next.ServeHTTP(w, r)
		})
	}
	v1 := app.Group("/v1", easy.Tags("v1"), easy.Middleware(count))
	admin := v1.Group("/admin", easy.Tags("admin"))
	easy.Get(v1, "/ping", func(ctx context.Context, _ *easy.NoInput) (*string, error) {
		s := "pong"
		return &s, nil
	})
	easy.Get(admin, "/users/{id}", func(ctx context.Context, in *struct {
		ID string `path:"id"`
	}) (*string, error) {
		return &in.ID, nil
	}, easy.OperationID("read_user"))
	v1.Handle("GET /raw", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("raw")) }))
	srv := testkit.Serve(t, app)

	r := testkit.Do(t, srv, "GET", "/v1/ping", "")
	r.Expect(t, http.StatusOK, `"pong"`)
	if r.Header.Get("X-Group") != "v1" {
		t.Error("group middleware did not run")
	}
	testkit.Do(t, srv, "GET", "/v1/admin/users/ann", "").Expect(t, http.StatusOK, `"ann"`)
	if hits.Load() != 2 {
		t.Errorf("group middleware ran %d times, want 2", hits.Load())
	}
	// A route outside the document takes the group's prefix after its
	// method, and its middleware.
	r = testkit.Do(t, srv, "GET", "/v1/raw", "")
	if r.Status != http.StatusOK || r.Body != "raw" || r.Header.Get("X-Group") != "v1" {
		t.Errorf("GET /v1/raw: %d %q, X-Group %q", r.Status, r.Body, r.Header.Get("X-Group"))
	}
	testkit.Do(t, srv, "POST", "/v1/raw", "").Expect(t, http.StatusMethodNotAllowed, `{"detail":"Method Not Allowed"}`)
	spec := testkit.Do(t, srv, "GET", "/openapi.json", "").Body
	for _, want := range []string{
		`"/v1/ping":{"get":{"tags":["v1"],"operationId":"get_v1_ping"`,
		`"/v1/admin/users/{id}":{"get":{"tags":["v1","admin"],"operationId":"read_user"`,
	} {
		if !strings.Contains(spec, want) {
			t.Errorf("spec lacks %s\n%s", want, spec)
		}
	}
}

func TestSetupMistakesPanic(t *testing.T) {
	cases := map[string]func(app *easy.App){
		"duplicate operation ID": func(app *easy.App) {
			h := func(ctx context.Context, _ *easy.NoInput) (*string, error) { return nil, nil }
			easy.Get(app, "/a", h, easy.OperationID("same"))
			easy.Get(app, "/b", h, easy.OperationID("same"))
		},
		"unsupported parameter type": func(app *easy.App) {
			easy.Get(app, "/a", func(ctx context.Context, _ *struct {
				C chan int `query:"c"`
			}) (*string, error) {
				return nil, nil
			})
		},
		"bad pattern": func(app *easy.App) {
			easy.Get(app, "/a", func(ctx context.Context, _ *struct {
				Q string `query:"q" pattern:"("`
			}) (*string, error) {
				return nil, nil
			})
		},
		"a requirement that is not a Dependency": func(app *easy.App) {
			app.Include(mounter(func(s route.Site) error {
				s.Require(&openapi.Operation{}, http.NotFoundHandler(), struct{ route.Sealed }{})
				return nil
			}))
		},
		"a router that cannot be mounted": func(app *easy.App) {
			app.Include(mounter(func(s route.Site) error { return errors.New("no") }))
		},
		"middleware after operations on a group": func(app *easy.App) {
			g := app.Group("/g")
			easy.Get(g, "/a", func(ctx context.Context, _ *easy.NoInput) (*string, error) { return nil, nil })
			g.Use(func(h http.Handler) http.Handler { return h })
		},
	}
	for name, setup := range cases {
		t.Run(name, func(t *testing.T) {
			defer func() {
				v := recover()
				if s, ok := v.(string); !ok || !strings.HasPrefix(s, "easy: ") {
					t.Fatalf("recovered %v, want a panic starting with \"easy: \"", v)
				}
			}()
			app, _ := newApp(t)
			setup(app)
		})
	}
}

// mounter is a route.Mounter made of a function.
type mounter func(route.Site) error

func (m mounter) Mount(s route.Site) error { return m(s) }

func TestRequestIDAndLogging(t *testing.T) {
	app, logs := newApp(t)
	easy.Get(app, "/x", func(ctx context.Context, _ *struct {
		Key string `query:"api_key"`
	}) (*string, error) {
		return &ctxID, nil
	})
	srv := testkit.Serve(t, app)
	r := testkit.Do(t, srv, "GET", "/x?api_key=secret", "", "X-Request-Id", "abc-123")
	if r.Header.Get("X-Request-Id") != "abc-123" {
		t.Errorf("X-Request-Id = %q, want the client's", r.Header.Get("X-Request-Id"))
	}
	// Without one, the App numbers them: one prefix, a counter.
	id1, id2 := testkit.Do(t, srv, "GET", "/x", "").Header.Get("X-Request-Id"), testkit.Do(t, srv, "GET", "/x", "").Header.Get("X-Request-Id")
	i1, i2 := strings.LastIndex(id1, "-"), strings.LastIndex(id2, "-")
	if i1 < 0 || i2 < 0 || id1[:i1] != id2[:i2] || !strings.Contains(id1[:i1], "/") || id1[i1:] == id2[i2:] {
		t.Errorf("request IDs %q and %q: want host/random-N with one prefix and two numbers", id1, id2)
	}
	// A client's ID that is too long or holds odd characters is replaced.
	for _, bad := range []string{strings.Repeat("a", 129), "two words", "x\u00e9"} {
		if got := testkit.Do(t, srv, "GET", "/x", "", "X-Request-Id", bad).Header.Get("X-Request-Id"); got == bad || !strings.HasPrefix(got, id1[:i1]) {
			t.Errorf("client's X-Request-Id %q: answered with %q, want one of the App's", bad, got)
		}
	}
	// Another App numbers with another prefix.
	other, otherLogs := newApp(t)
	other.HandleFunc("GET /y", func(http.ResponseWriter, *http.Request) {}) // writes nothing: net/http sends 200
	if id3 := testkit.Do(t, testkit.Serve(t, other), "GET", "/y", "").Header.Get("X-Request-Id"); strings.HasPrefix(id3, id1[:i1+1]) {
		t.Errorf("two Apps share the request ID prefix: %q and %q", id1, id3)
	}
	if l := otherLogs.String(); !strings.Contains(l, "method=GET path=/y status=200") {
		t.Errorf("a handler that wrote nothing is not logged with the 200 it answered:\n%s", l)
	}
	l := logs.String()
	if !strings.Contains(l, "request_id="+id2) {
		t.Errorf("the generated request ID %s is not in the log:\n%s", id2, l)
	}
	if !strings.Contains(l, "method=GET path=/x status=200") || !strings.Contains(l, "request_id=abc-123") {
		t.Errorf("request not logged:\n%s", l)
	}
	if strings.Contains(l, "secret") {
		t.Errorf("the query string was logged:\n%s", l)
	}
}

var ctxID = "ok"

func TestCORS(t *testing.T) {
	app, _ := newApp(t, easy.CORS("http://front.example"))
	easy.Get(app, "/x", func(ctx context.Context, _ *easy.NoInput) (*string, error) { return &ctxID, nil })
	srv := testkit.Serve(t, app)
	r := testkit.Do(t, srv, "OPTIONS", "/x", "", "Origin", "http://front.example", "Access-Control-Request-Method", "GET")
	if r.Header.Get("Access-Control-Allow-Origin") != "http://front.example" {
		t.Errorf("preflight: Access-Control-Allow-Origin = %q", r.Header.Get("Access-Control-Allow-Origin"))
	}
	r = testkit.Do(t, srv, "GET", "/x", "", "Origin", "http://evil.example")
	if r.Header.Get("Access-Control-Allow-Origin") != "" {
		t.Errorf("a foreign origin was allowed")
	}
}

func TestDatabaseURL(t *testing.T) {
	cases := []struct{ url, want string }{
		{"mysql://root@localhost/db", `easy: DATABASE_URL "mysql://root@localhost/db": unsupported scheme "mysql" (want sqlite or postgres)`},
		{"sqlite:", `easy: DATABASE_URL: sqlite: needs a file path, as in sqlite:easy.db`},
		{"nonsense", `easy: DATABASE_URL "nonsense": want sqlite:PATH or postgres://USER:PASSWORD@HOST/DB`},
		{"postgres://u:hunter2@/db", `easy: DATABASE_URL "postgres://u:xxxxx@/db": not a valid postgres:// URL`},
	}
	for _, c := range cases {
		t.Run(c.url, func(t *testing.T) {
			t.Setenv("DATABASE_URL", c.url)
			app, _ := newApp(t)
			_, err := app.Database()
			if err == nil || err.Error() != c.want {
				t.Fatalf("Database() error = %v, want %s", err, c.want)
			}
			if err := app.Run("127.0.0.1:0"); err == nil || err.Error() != c.want {
				t.Fatalf("Run error = %v, want %s", err, c.want)
			}
		})
	}
	t.Run("sqlite file", func(t *testing.T) {
		path := t.TempDir() + "/x.db"
		t.Setenv("DATABASE_URL", "sqlite:"+path)
		app, _ := newApp(t)
		var mode string
		if err := app.DB().Raw("PRAGMA journal_mode").Scan(&mode).Error; err != nil || mode != "wal" {
			t.Fatalf("journal_mode = %q (%v), want wal", mode, err)
		}
		var fk int
		app.DB().Raw("PRAGMA foreign_keys").Scan(&fk)
		if fk != 1 {
			t.Fatalf("foreign_keys = %d, want 1", fk)
		}
		app.Close(context.Background())
	})
}

func TestGracefulShutdown(t *testing.T) {
	app, _ := newApp(t, easy.ShutdownTimeout(5*time.Second))
	started := make(chan struct{})
	easy.Get(app, "/slow", func(ctx context.Context, _ *easy.NoInput) (*string, error) {
		close(started)
		time.Sleep(300 * time.Millisecond)
		s := "done"
		return &s, nil
	})
	var hookRan atomic.Bool
	app.OnShutdown(func(ctx context.Context) error { hookRan.Store(true); return nil })
	var startupRan atomic.Bool
	app.OnStartup(func(ctx context.Context) error { startupRan.Store(true); return nil })

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := "http://" + ln.Addr().String()
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- app.Serve(ctx, ln) }()

	type result struct {
		status int
		err    error
	}
	slow := make(chan result, 1)
	go func() {
		res, err := http.Get(addr + "/slow")
		if err != nil {
			slow <- result{err: err}
			return
		}
		res.Body.Close()
		slow <- result{status: res.StatusCode}
	}()
	<-started
	cancel()
	if err := <-served; err != nil {
		t.Fatalf("Serve returned %v", err)
	}
	if r := <-slow; r.err != nil || r.status != http.StatusOK {
		t.Fatalf("the in-flight request did not complete: %+v", r)
	}
	if !startupRan.Load() || !hookRan.Load() {
		t.Fatalf("hooks: startup %v, shutdown %v", startupRan.Load(), hookRan.Load())
	}
	if _, err := http.Get(addr + "/slow"); err == nil {
		t.Fatal("a new request was served after shutdown")
	} else if !errors.Is(err, syscall.ECONNREFUSED) {
		t.Fatalf("new request: %v, want connection refused", err)
	}
}

func TestStartupHookErrorStopsServe(t *testing.T) {
	app, _ := newApp(t)
	app.OnStartup(func(ctx context.Context) error { return errors.New("no config") })
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	err := app.Serve(context.Background(), ln)
	if err == nil || err.Error() != "easy: startup: no config" {
		t.Fatalf("Serve = %v", err)
	}
}
