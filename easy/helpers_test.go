package easy_test

import (
	"bytes"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/fastapi-easy/easy-go/easy"
)

// logBuffer collects what an App logs, for tests that check it.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// newApp returns an App that logs into the returned buffer.
func newApp(t testing.TB, opts ...easy.Option) (*easy.App, *logBuffer) {
	t.Helper()
	logs := &logBuffer{}
	opts = append([]easy.Option{easy.Logger(slog.New(slog.NewTextHandler(logs, nil)))}, opts...)
	return easy.New(opts...), logs
}

// serve starts app on a real listener for the test.
func serve(t testing.TB, app http.Handler) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(app)
	t.Cleanup(srv.Close)
	return srv
}

type response struct {
	status int
	header http.Header
	body   string
	req    *http.Request
	res    *http.Response
}

// call sends one request; a body is sent as JSON unless a Content-Type
// header says otherwise.
func call(t testing.TB, srv *httptest.Server, method, path, body string, header ...string) response {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, srv.URL+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	res, err := srv.Client().Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return response{status: res.StatusCode, header: res.Header, body: string(b), req: req, res: res}
}

func (r response) expect(t testing.TB, status int, body string) {
	t.Helper()
	if r.status != status || r.body != body {
		t.Errorf("%s %s:\n got %d %s\nwant %d %s", r.req.Method, r.req.URL.RequestURI(), r.status, r.body, status, body)
	}
}

// pipeBody returns a request body of unknown length and the function that writes it.
func pipeBody(s string) (io.Reader, func()) {
	pr, pw := io.Pipe()
	return pr, func() {
		pw.Write([]byte(s))
		pw.Close()
	}
}
