package testkit

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// Serve serves h on a real listener on the loopback interface, so that a
// test goes through the network stack, the server's timeouts and its
// connection handling as a client would. The server is closed when the
// test ends.
func Serve(t testing.TB, h http.Handler) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv
}

// Response is the answer to one request, its body read in full.
type Response struct {
	Status  int
	Header  http.Header
	Body    string
	Request *http.Request  // the request that was sent
	HTTP    *http.Response // the response itself, for checkers that need the whole exchange; its Body is read and closed
}

// Do sends one request to srv and reads the whole answer. A body that is
// not empty is sent as JSON unless a Content-Type header says otherwise;
// header holds header names and values in turn. A request that cannot be
// sent fails t.
func Do(t testing.TB, srv *httptest.Server, method, path, body string, header ...string) Response {
	t.Helper()
	if len(header)%2 != 0 {
		t.Fatalf("testkit: header %q is not a list of names and values", header)
	}
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, srv.URL+path, rd)
	if err != nil {
		t.Fatalf("testkit: %s %s: %v", method, path, err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	res, err := srv.Client().Do(req)
	if err != nil {
		t.Fatalf("testkit: %s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatalf("testkit: %s %s: read the body: %v", method, path, err)
	}
	return Response{Status: res.StatusCode, Header: res.Header, Body: string(b), Request: req, HTTP: res}
}

// Expect checks that r has exactly this status and body, and returns r for
// what else the test reads from it.
func (r Response) Expect(t testing.TB, status int, body string) Response {
	t.Helper()
	if r.Status != status || r.Body != body {
		t.Errorf("%s %s:\n got %d %s\nwant %d %s", r.Request.Method, r.Request.URL.RequestURI(), r.Status, r.Body, status, body)
	}
	return r
}

// Decode unmarshals a JSON body into a V, and fails t when it cannot.
func Decode[V any](t testing.TB, body string) V {
	t.Helper()
	var v V
	if err := json.Unmarshal([]byte(body), &v); err != nil {
		t.Fatalf("testkit: decode %s: %v", body, err)
	}
	return v
}

// Get returns the body of a GET of path, for documents a test decodes,
// and fails t unless the answer is 200 OK.
func Get(t testing.TB, srv *httptest.Server, path string) []byte {
	t.Helper()
	r := Do(t, srv, "GET", path, "")
	if r.Status != http.StatusOK {
		t.Fatalf("testkit: GET %s: %d %s", path, r.Status, r.Body)
	}
	return []byte(r.Body)
}
