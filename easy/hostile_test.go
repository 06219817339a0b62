package easy_test

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/fastapi-easy/easy-go/easy"
	"github.com/fastapi-easy/easy-go/internal/testkit"
)

// The tests of this file attack an App served by Serve, as the items
// example is, over raw TCP where the request is one no HTTP client sends.

// serve serves app with Serve on a loopback port until the test ends and
// returns its address.
func serve(t *testing.T, app *easy.App) string {
	addr, _ := testkit.ServeOn(t, "127.0.0.1:0", app.Serve)
	return addr
}

// rawConn is a client's TCP connection, for requests written by hand.
type rawConn struct {
	net.Conn
	br *bufio.Reader
}

func dial(t *testing.T, addr string) *rawConn {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return &rawConn{Conn: c, br: bufio.NewReader(c)}
}

func (c *rawConn) send(t *testing.T, s string) {
	t.Helper()
	if _, err := io.WriteString(c, s); err != nil {
		t.Fatalf("send: %v", err)
	}
}

// response reads one response, waiting at most 10 s.
func (c *rawConn) response(t *testing.T) (*http.Response, string) {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	res, err := http.ReadResponse(c.br, nil)
	if err != nil {
		t.Fatalf("read the response: %v", err)
	}
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatalf("read the response's body: %v", err)
	}
	return res, string(b)
}

// closed reports whether the server closes the connection within d,
// with nothing more sent.
func (c *rawConn) closed(t *testing.T, d time.Duration) bool {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(d))
	n, err := c.br.Read(make([]byte, 1))
	switch {
	case n > 0:
		t.Fatalf("the server sent more than the response")
	case errors.Is(err, os.ErrDeadlineExceeded):
		return false
	}
	return true // io.EOF, or a reset
}

// expect checks a response's status, body and the headers named in
// header (names and values in turn; "Connection: close", which
// http.ReadResponse takes out of the header, is res.Close).
func expect(t *testing.T, res *http.Response, body string, status int, want string, header ...string) {
	t.Helper()
	if res.StatusCode != status || body != want {
		t.Errorf("got %d %s\nwant %d %s", res.StatusCode, body, status, want)
	}
	for i := 0; i+1 < len(header); i += 2 {
		if header[i] == "Connection" && header[i+1] == "close" {
			if !res.Close {
				t.Errorf("no Connection: close")
			}
			continue
		}
		if got := res.Header.Get(header[i]); got != header[i+1] {
			t.Errorf("%s: %q, want %q", header[i], got, header[i+1])
		}
	}
}

const itemJSON = `{"name":"apple","price":1}`

func TestLengthDeclaredTwiceIsRefusedAndTheConnectionClosed(t *testing.T) {
	smuggled := "POST /items HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 26\r\n\r\n" + itemJSON
	chunked := "1a\r\n" + itemJSON + "\r\n0\r\n\r\n"
	cases := map[string]struct{ request, detail string }{
		"Content-Length before Transfer-Encoding": {
			"POST /items HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n" + chunked + smuggled,
			"Request has both Content-Length and Transfer-Encoding",
		},
		"lower case, after": {
			"POST /items HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\ncontent-length: 0\r\n\r\n" + chunked + smuggled,
			"Request has both Content-Length and Transfer-Encoding",
		},
		"Transfer-Encoding folded over two lines": {
			"POST /items HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nTransfer-Encoding:\r\n chunked\r\nContent-Length: 35\r\n\r\n" + chunked + smuggled,
			"Request has both Content-Length and Transfer-Encoding",
		},
		"a smuggled request in the body, framed by Content-Length in front": {
			"POST /items HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 6\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n" + smuggled,
			"Request has both Content-Length and Transfer-Encoding",
		},
		"HTTP/1.0 with Transfer-Encoding": {
			"POST /items HTTP/1.0\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nConnection: keep-alive\r\nTransfer-Encoding: chunked\r\nContent-Length: 26\r\n\r\n" + itemJSON + smuggled,
			"Transfer-Encoding is not allowed in HTTP/1.0",
		},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			app, db := itemsApp(t)
			conn := dial(t, serve(t, app))
			conn.send(t, c.request)
			res, body := conn.response(t)
			expect(t, res, body, http.StatusBadRequest, `{"detail":"`+c.detail+`"}`,
				"Connection", "close", "Content-Type", "application/json")
			if !conn.closed(t, 5*time.Second) {
				t.Error("the connection is still open")
			}
			if n := countItems(t, db); n != 0 {
				t.Errorf("%d items written", n)
			}
		})
	}
}

func TestPipelinedRequestsAreFramedAsNetHTTPReadsThem(t *testing.T) {
	app, db := itemsApp(t)
	conn := dial(t, serve(t, app))
	// A chunked body with an extension and a trailer, blank lines after
	// a POST (which net/http skips), a body that looks like a request,
	// then the request that declares its length twice.
	second := `{"name":"GET /items HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n","price":2}`
	conn.send(t, "POST /items HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"+
		"5;x=1\r\n{\"nam\r\n15\r\ne\":\"apple\",\"price\":1}\r\n0\r\nX-Trailer: 1\r\n\r\n\r\n"+
		"POST /items HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: "+strconv.Itoa(len(second))+"\r\n\r\n"+
		second+"OPTIONS * HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"+
		"GET /items?sort=id HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
	res, body := conn.response(t)
	expect(t, res, body, http.StatusCreated, `{"id":1,"name":"apple","price":1}`)
	res, body = conn.response(t)
	expect(t, res, body, http.StatusCreated, `{"id":2,"name":"GET /items HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n","price":2}`)
	res, body = conn.response(t)
	expect(t, res, body, http.StatusOK, ``, "Content-Length", "0")
	res, body = conn.response(t)
	expect(t, res, body, http.StatusOK, `[{"id":1,"name":"apple","price":1},{"id":2,"name":"GET /items HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n","price":2}]`)
	if conn.closed(t, 200*time.Millisecond) {
		t.Fatal("the connection was closed after sound requests")
	}
	conn.send(t, "POST /items HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\nContent-Length: 26\r\n\r\n"+
		"1a\r\n"+itemJSON+"\r\n0\r\n\r\n")
	res, body = conn.response(t)
	expect(t, res, body, http.StatusBadRequest, `{"detail":"Request has both Content-Length and Transfer-Encoding"}`, "Connection", "close")
	if !conn.closed(t, 5*time.Second) {
		t.Error("the connection is still open")
	}
	if n := countItems(t, db); n != 2 {
		t.Errorf("%d items, want 2", n)
	}
}

// trickle writes one byte every interval until stop is closed or the
// connection fails.
func trickle(c net.Conn, b byte, interval time.Duration, stop <-chan struct{}) {
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		select {
		case <-stop:
			return
		case <-tick.C:
			if _, err := c.Write([]byte{b}); err != nil {
				return
			}
		}
	}
}

func TestSlowBodyIsCutWith408(t *testing.T) {
	app, db := itemsApp(t, easy.MinBodyRate(1000, 300*time.Millisecond))
	conn := dial(t, serve(t, app))
	start := time.Now()
	conn.send(t, "POST /items HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 1000000\r\n\r\n")
	stop := make(chan struct{})
	defer close(stop)
	go trickle(conn, ' ', 100*time.Millisecond, stop) // 10 bytes a second, 1,000 required
	res, body := conn.response(t)
	took := time.Since(start)
	expect(t, res, body, http.StatusRequestTimeout, `{"detail":"Request Timeout"}`, "Connection", "close", "Content-Type", "application/json")
	if took < 300*time.Millisecond || took > 5*time.Second {
		t.Errorf("answered after %s, want about the 300ms grace", took)
	}
	if !conn.closed(t, 5*time.Second) {
		t.Error("the connection is still open")
	}
	if n := countItems(t, db); n != 0 {
		t.Errorf("%d items written", n)
	}
}

func TestUploadAtAnHonestPaceIsNotCut(t *testing.T) {
	app, db := itemsApp(t, easy.MinBodyRate(4<<10, 300*time.Millisecond))
	conn := dial(t, serve(t, app))
	name := strings.Repeat("a", 12<<10)
	item := `{"name":"` + name + `","price":1}`
	conn.send(t, "POST /items HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: "+strconv.Itoa(len(item))+"\r\n\r\n")
	// 1 KiB every 50 ms, 20 KiB/s: the body takes twice the grace, at
	// five times the rate asked.
	start := time.Now()
	for rest := item; rest != ""; {
		n := min(len(rest), 1<<10)
		conn.send(t, rest[:n])
		rest = rest[n:]
		time.Sleep(50 * time.Millisecond)
	}
	res, body := conn.response(t)
	expect(t, res, body, http.StatusCreated, `{"id":1,"name":"`+name+`","price":1}`)
	if took := time.Since(start); took < 300*time.Millisecond {
		t.Errorf("the upload took %s, less than the grace: it proves nothing", took)
	}
	if n := countItems(t, db); n != 1 {
		t.Errorf("%d items, want 1", n)
	}
}

func TestSlowHeadersAreCut(t *testing.T) {
	app, _ := itemsApp(t, easy.HeaderTimeout(300*time.Millisecond))
	addr := serve(t, app)
	t.Run("stalled", func(t *testing.T) {
		conn := dial(t, addr)
		start := time.Now()
		conn.send(t, "GET /items HTTP/1.1\r\nHost: 127.0.0.1\r\n")
		if !conn.closed(t, 5*time.Second) { // net/http does not answer
			t.Fatal("the connection is still open")
		}
		if took := time.Since(start); took < 250*time.Millisecond { // counted from the connection's first byte
			t.Errorf("closed after %s, before the header timeout", took)
		}
	})
	t.Run("trickling", func(t *testing.T) {
		conn := dial(t, addr)
		start := time.Now()
		conn.send(t, "GET /items HTTP/1.1\r\nHost: 127.0.0.1\r\n")
		stop := make(chan struct{})
		defer close(stop)
		go trickle(conn, 'X', 100*time.Millisecond, stop) // a header line that never ends
		res, body := conn.response(t)
		expect(t, res, body, http.StatusBadRequest, `{"detail":"Bad Request"}`, "Connection", "close", "Content-Type", "application/json")
		if took := time.Since(start); took < 250*time.Millisecond {
			t.Errorf("answered after %s, before the header timeout", took)
		}
		if !conn.closed(t, 5*time.Second) {
			t.Fatal("the connection is still open")
		}
	})
}

func TestIdleConnectionIsClosed(t *testing.T) {
	app, _ := itemsApp(t, easy.IdleTimeout(300*time.Millisecond))
	conn := dial(t, serve(t, app))
	conn.send(t, "GET /items HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
	res, body := conn.response(t)
	expect(t, res, body, http.StatusOK, `[]`)
	start := time.Now()
	if !conn.closed(t, 5*time.Second) {
		t.Fatal("the idle connection is still open")
	}
	if took := time.Since(start); took < 250*time.Millisecond {
		t.Errorf("closed after %s, before the idle timeout", took)
	}
}

func TestSlowResponseIsCut(t *testing.T) {
	app, _ := itemsApp(t, easy.WriteTimeout(300*time.Millisecond))
	app.HandleFunc("GET /slow", func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(800 * time.Millisecond)
		w.Write([]byte("late"))
	})
	conn := dial(t, serve(t, app))
	conn.send(t, "GET /slow HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
	conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	if res, err := http.ReadResponse(conn.br, nil); err == nil {
		t.Fatalf("got %d after the write timeout, want the connection closed", res.StatusCode)
	}
}

// TestWebSocketsOutliveTheHTTPTimeouts checks that the timeouts of plain
// requests do not reach a hijacked connection.
func TestWebSocketsOutliveTheHTTPTimeouts(t *testing.T) {
	const d = 200 * time.Millisecond
	app, _ := itemsApp(t, easy.HeaderTimeout(d), easy.WriteTimeout(d), easy.IdleTimeout(d), easy.MinBodyRate(1, d))
	app.HandleFunc("/echo", func(w http.ResponseWriter, r *http.Request) {
		c, err := websocket.Accept(w, r, nil)
		if err != nil {
			return
		}
		defer c.CloseNow()
		for {
			typ, b, err := c.Read(r.Context())
			if err != nil {
				return
			}
			if err := c.Write(r.Context(), typ, b); err != nil {
				return
			}
		}
	})
	addr := serve(t, app)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, _, err := websocket.Dial(ctx, "ws://"+addr+"/echo", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseNow()
	for _, msg := range []string{"one", "two"} {
		time.Sleep(3 * d)
		if err := c.Write(ctx, websocket.MessageText, []byte(msg)); err != nil {
			t.Fatalf("write %s after %s: %v", msg, 3*d, err)
		}
		if _, b, err := c.Read(ctx); err != nil || string(b) != msg {
			t.Fatalf("read %q, %v; want %q", b, err, msg)
		}
	}
	c.Close(websocket.StatusNormalClosure, "")
}

func TestLimitOptionsRefuseBadValues(t *testing.T) {
	for name, opt := range map[string]func(){
		"HeaderTimeout(0)":          func() { easy.HeaderTimeout(0) },
		"WriteTimeout(-1s)":         func() { easy.WriteTimeout(-time.Second) },
		"IdleTimeout(0)":            func() { easy.IdleTimeout(0) },
		"MinBodyRate(0, 1s)":        func() { easy.MinBodyRate(0, time.Second) },
		"MinBodyRate(1, 0)":         func() { easy.MinBodyRate(1, 0) },
		"MaxConnections(-1)":        func() { easy.MaxConnections(-1) },
		"AllowedHosts()":            func() { easy.AllowedHosts() },
		`AllowedHosts("a.com:80")`:  func() { easy.AllowedHosts("a.com:80") },
		`AllowedHosts("a*.com")`:    func() { easy.AllowedHosts("a*.com") },
		`AllowedHosts("http://a")`:  func() { easy.AllowedHosts("http://a") },
		`AllowedHosts("a..com")`:    func() { easy.AllowedHosts("a..com") },
		`AllowedHosts("*.")`:        func() { easy.AllowedHosts("*.") },
		`AllowedHosts("")`:          func() { easy.AllowedHosts("") },
		`AllowedHosts("ex ample")`:  func() { easy.AllowedHosts("ex ample") },
		`AllowedHosts("[::1]:80")`:  func() { easy.AllowedHosts("[::1]:80") },
		`AllowedHosts("*example")`:  func() { easy.AllowedHosts("*example") },
		`AllowedHosts("a/b.com")`:   func() { easy.AllowedHosts("a/b.com") },
		`AllowedHosts("*.*.a.com")`: func() { easy.AllowedHosts("*.*.a.com") },
	} {
		t.Run(name, func(t *testing.T) {
			defer func() {
				if s, ok := recover().(string); !ok || !strings.HasPrefix(s, "easy: ") {
					t.Fatalf("recovered %v, want a panic starting with \"easy: \"", s)
				}
			}()
			opt()
		})
	}
}

// TestServerErrorsAreJSON checks the errors net/http answers before a
// request reaches the App.
func TestServerErrorsAreJSON(t *testing.T) {
	app, db := itemsApp(t)
	addr := serve(t, app)
	cases := map[string]struct {
		request string
		status  int
		detail  string
	}{
		"no Host":                  {"GET /items HTTP/1.1\r\n\r\n", 400, "Bad Request: missing required Host header"},
		"two Hosts":                {"GET /items HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400, "Bad Request"},
		"a malformed header":       {"GET /items HTTP/1.1\r\nHost: 127.0.0.1\r\nno colon\r\n\r\n", 400, "Bad Request"},
		"a malformed request line": {"GET\r\nHost: 127.0.0.1\r\n\r\n", 400, "Bad Request"},
		"HTTP/2.0":                 {"GET /items HTTP/2.0\r\nHost: 127.0.0.1\r\n\r\n", 505, "HTTP Version Not Supported: unsupported protocol version"},
		"an unknown coding":        {"POST /items HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: gzip\r\n\r\n", 501, "Unsupported transfer encoding"},
		"two Content-Lengths":      {"POST /items HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n{}", 400, "Bad Request"},
		"headers past 1 MiB":       {"GET /items HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: " + strings.Repeat("a", 1<<20+8<<10) + "\r\n\r\n", 431, "Request Header Fields Too Large"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			conn := dial(t, addr)
			go io.WriteString(conn, c.request) // the server may answer before it is all sent
			res, body := conn.response(t)
			expect(t, res, body, c.status, `{"detail":"`+c.detail+`"}`, "Connection", "close", "Content-Type", "application/json")
			if !conn.closed(t, 5*time.Second) {
				t.Error("the connection is still open")
			}
		})
	}
	if n := countItems(t, db); n != 0 {
		t.Errorf("%d items written", n)
	}
}

// TestResponsesLikeServerErrorsAreLeftAlone checks that the App's own
// response, written straight to the connection, is not taken for one of
// net/http's errors.
func TestResponsesLikeServerErrorsAreLeftAlone(t *testing.T) {
	app, _ := itemsApp(t)
	raw := "HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\n\r\n400 Bad Request" + strings.Repeat(".", 5000)
	app.HandleFunc("GET /raw", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", strconv.Itoa(len(raw)))
		w.WriteHeader(http.StatusOK)
		w.(http.Flusher).Flush() // so that the body is one write of its own
		io.WriteString(w, raw)
	})
	conn := dial(t, serve(t, app))
	conn.send(t, "GET /raw HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
	res, body := conn.response(t)
	if res.StatusCode != http.StatusOK || body != raw {
		t.Errorf("got %d %.80q", res.StatusCode, body)
	}
}

// getHost sends GET url with the given Host and returns the answer.
func getHost(t *testing.T, client *http.Client, url, host string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest("GET", url, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Host = host
	res, err := client.Do(req)
	if err != nil {
		t.Fatalf("GET %s (Host %s): %v", url, host, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return res, string(b)
}

func TestAllowedHosts(t *testing.T) {
	app, logs := newApp(t, easy.AllowedHosts("example.com", "*.example.org", "10.0.0.1", "[2001:db8::1]"))
	easy.Get(app, "/x", func(ctx context.Context, _ *easy.NoInput) (*string, error) { return &ctxID, nil })
	srv := testkit.Serve(t, app)
	for host, ok := range map[string]bool{
		"example.com":         true,
		"EXAMPLE.com:8443":    true,
		"example.com.":        true,
		"api.example.org":     true,
		"a.b.example.org":     true,
		"10.0.0.1:80":         true,
		"[2001:db8::1]:8000":  true,
		"example.org":         false, // *.example.org is its subdomains
		"www.example.com":     false,
		"example.com.evil.io": false,
		"evilexample.org":     false,
		"127.0.0.1":           false, // an explicit list replaces the loopback default
		"localhost":           false,
	} {
		res, body := getHost(t, srv.Client(), srv.URL+"/x", host)
		switch {
		case ok && (res.StatusCode != http.StatusOK || body != `"ok"`):
			t.Errorf("Host %s: %d %s, want 200", host, res.StatusCode, body)
		case !ok:
			expect(t, res, body, http.StatusBadRequest, `{"detail":"Invalid host header"}`, "Content-Type", "application/json")
		}
	}
	if n := strings.Count(logs.String(), "easy.AllowedHosts"); n != 1 {
		t.Errorf("the refusal is logged %d times, want once:\n%s", n, logs)
	}
	// "*" allows any host.
	any, _ := newApp(t, easy.AllowedHosts("*"))
	any.HandleFunc("GET /x", func(w http.ResponseWriter, r *http.Request) {})
	if res, _ := getHost(t, http.DefaultClient, testkit.Serve(t, any).URL+"/x", "whatever.example"); res.StatusCode != http.StatusOK {
		t.Errorf(`AllowedHosts("*"): %d`, res.StatusCode)
	}
}

// TestLoopbackAllowsLoopbackNames serves an App on 127.0.0.1, as the
// items example does, and sends it what a web page that a DNS name of its
// own brings to 127.0.0.1 (DNS rebinding) would send: its own Host, to
// the API and to the WebSocket endpoint.
func TestLoopbackAllowsLoopbackNames(t *testing.T) {
	app, _ := itemsApp(t)
	app.HandleFunc("/ws/echo", func(w http.ResponseWriter, r *http.Request) {
		c, err := websocket.Accept(w, r, &websocket.AcceptOptions{InsecureSkipVerify: true})
		if err == nil {
			c.Close(websocket.StatusNormalClosure, "")
		}
	})
	addr := serve(t, app)
	_, port, _ := net.SplitHostPort(addr)
	for host, ok := range map[string]bool{
		"127.0.0.1:" + port:      true,
		"localhost:" + port:      true,
		"localhost":              true,
		"LocalHost.:" + port:     true,
		"app.localhost:" + port:  true,
		"[::1]:" + port:          true,
		"127.0.0.2:" + port:      false,
		"rebind.example:" + port: false,
		"localhost.example":      false,
		"127.0.0.1.nip.io":       false,
	} {
		res, body := getHost(t, http.DefaultClient, "http://"+addr+"/items", host)
		if ok {
			expect(t, res, body, http.StatusOK, `[]`)
		} else {
			expect(t, res, body, http.StatusBadRequest, `{"detail":"Invalid host header"}`)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, res, err := websocket.Dial(ctx, "ws://"+addr+"/ws/echo", &websocket.DialOptions{Host: "rebind.example:" + port})
	if err == nil || res == nil {
		t.Fatalf("the WebSocket handshake for a foreign host: %v", err)
	}
	b, _ := io.ReadAll(res.Body)
	expect(t, res, string(b), http.StatusBadRequest, `{"detail":"Invalid host header"}`)
	c, _, err := websocket.Dial(ctx, "ws://"+addr+"/ws/echo", nil)
	if err != nil {
		t.Fatalf("the WebSocket handshake for 127.0.0.1: %v", err)
	}
	c.CloseNow()

	// An HTTP/1.0 request may have no Host: it names none of the App's.
	conn := dial(t, addr)
	conn.send(t, "GET /items HTTP/1.0\r\n\r\n")
	res, body := conn.response(t)
	expect(t, res, body, http.StatusBadRequest, `{"detail":"Invalid host header"}`)
}
