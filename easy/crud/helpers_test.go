package crud_test

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"gorm.io/gorm"

	"github.com/fastapi-easy/easy-go/easy"
	"github.com/fastapi-easy/easy-go/easy/route"
)

// Item is the model most tests use: no timestamps, so bodies compare exactly.
type Item struct {
	ID     uint    `json:"id" gorm:"primaryKey"`
	Name   string  `json:"name" required:"true" minLength:"1" maxLength:"50" gorm:"uniqueIndex"`
	Price  float64 `json:"price" minimum:"0"`
	Stock  int     `json:"stock"`
	Active bool    `json:"active"`
	Note   *string `json:"note"`
}

// server serves an App on db with routers, and closes it when the test ends.
type server struct {
	t   testing.TB
	app *easy.App
	srv *httptest.Server
	db  *gorm.DB
}

func quietLogger() *slog.Logger {
	return slog.New(slog.NewTextHandler(io.Discard, &slog.HandlerOptions{Level: slog.LevelError + 1}))
}

func serve(t testing.TB, db *gorm.DB, routers ...route.Mounter) *server {
	t.Helper()
	return serveWith(t, db, nil, routers...)
}

func serveWith(t testing.TB, db *gorm.DB, opts []easy.Option, routers ...route.Mounter) *server {
	t.Helper()
	app := easy.New(append([]easy.Option{easy.DB(db), easy.Logger(quietLogger())}, opts...)...)
	app.Include(routers...)
	return &server{t: t, app: app, srv: newServer(t, app), db: db}
}

func newServer(t testing.TB, h http.Handler) *httptest.Server {
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv
}

// response is what a request got.
type response struct {
	status int
	header http.Header
	body   string
}

// do sends a request with a JSON body (none when body is "").
func (s *server) do(method, path, body string) response {
	s.t.Helper()
	return s.doHeader(method, path, body, nil)
}

// doHeader is do with request headers.
func (s *server) doHeader(method, path, body string, header http.Header) response {
	s.t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, s.srv.URL+path, rd)
	if err != nil {
		s.t.Fatal(err)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	if body != "" && req.Header.Get("Content-Type") == "" {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := s.srv.Client().Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		s.t.Fatal(err)
	}
	return response{status: res.StatusCode, header: res.Header, body: strings.TrimSpace(string(b))}
}

// expect checks a response's status and exact body.
func (s *server) expect(method, path, body string, status int, want string) response {
	s.t.Helper()
	res := s.do(method, path, body)
	if res.status != status || res.body != want {
		s.t.Errorf("%s %s %s\n got %d %s\nwant %d %s", method, path, body, res.status, res.body, status, want)
	}
	return res
}

// count returns the number of rows of model, soft-deleted ones included.
func count(t testing.TB, db *gorm.DB, model any) int64 {
	t.Helper()
	var n int64
	if err := db.Unscoped().Model(model).Count(&n).Error; err != nil {
		t.Fatalf("count: %v", err)
	}
	return n
}

// decode unmarshals a response body.
func decode[V any](t testing.TB, body string) V {
	t.Helper()
	var v V
	if err := json.Unmarshal([]byte(body), &v); err != nil {
		t.Fatalf("decode %s: %v", body, err)
	}
	return v
}

func ptr[V any](v V) *V { return &v }

func jsonMarshal(v any) ([]byte, error) { return json.Marshal(v) }
