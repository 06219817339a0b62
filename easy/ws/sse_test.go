package ws_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"gorm.io/gorm"

	"github.com/fastapi-easy/easy-go/easy"
	"github.com/fastapi-easy/easy-go/easy/ws"
	"github.com/fastapi-easy/easy-go/internal/testkit"
)

// sseEvent is one event of a stream, or a comment (Comment set).
// ClearsID says that it has an id field with no value, which clears
// EventSource's last event ID.
type sseEvent struct {
	ID, Event, Data, Comment string
	ClearsID                 bool
}

// sseStream reads the events of one SSE response on a goroutine of its
// own, which ends with the response.
type sseStream struct {
	res    *http.Response
	events chan sseEvent
	cancel context.CancelFunc
}

// openSSE requests url with the headers given as name, value pairs and
// fails the test unless it is a 200 event stream.
func openSSE(t *testing.T, url string, header ...string) *sseStream {
	t.Helper()
	s, status, body := requestSSE(t, url, header...)
	if status != http.StatusOK {
		t.Fatalf("GET %s: %d %s", url, status, body)
	}
	return s
}

// requestSSE requests url; when the answer is not a stream it returns its
// status and body.
func requestSSE(t *testing.T, url string, header ...string) (*sseStream, int, string) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, "GET", url, nil)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	if res.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		cancel()
		return nil, res.StatusCode, string(b)
	}
	if ct := res.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Errorf("Content-Type %q", ct)
	}
	s := &sseStream{res: res, events: make(chan sseEvent, 1024), cancel: cancel}
	t.Cleanup(s.close)
	go s.read()
	return s, res.StatusCode, ""
}

// read parses the stream as EventSource does, lines of field: value.
func (s *sseStream) read() {
	defer close(s.events)
	sc := bufio.NewScanner(s.res.Body)
	sc.Buffer(nil, 4<<20)
	var ev sseEvent
	var data []string
	for sc.Scan() {
		line := sc.Text()
		if line == "" {
			if data != nil {
				ev.Data = strings.Join(data, "\n")
				s.events <- ev
			}
			ev, data = sseEvent{}, nil
			continue
		}
		field, value, _ := strings.Cut(line, ":")
		value = strings.TrimPrefix(value, " ")
		switch field {
		case "":
			s.events <- sseEvent{Comment: value}
		case "id":
			ev.ID, ev.ClearsID = value, value == ""
		case "event":
			ev.Event = value
		case "data":
			data = append(data, value)
		}
	}
}

func (s *sseStream) close() {
	s.cancel()
	s.res.Body.Close()
}

// next returns the next event, skipping comments unless comments is set.
func (s *sseStream) next(t *testing.T, comments ...bool) sseEvent {
	t.Helper()
	timeout := time.After(5 * time.Second)
	for {
		select {
		case ev, ok := <-s.events:
			if !ok {
				t.Fatal("the stream ended")
			}
			if ev.Comment != "" && len(comments) == 0 {
				continue
			}
			return ev
		case <-timeout:
			t.Fatal("no event within 5s")
		}
	}
}

// message returns the next event's message, and checks that its id is
// its seq.
func (s *sseStream) message(t *testing.T) wire {
	t.Helper()
	ev := s.next(t)
	var w wire
	if err := json.Unmarshal([]byte(ev.Data), &w); err != nil {
		t.Fatalf("event %+v: %v", ev, err)
	}
	if want := fmt.Sprint(w.Seq); w.Seq != 0 && ev.ID != want || w.Seq == 0 && ev.ID != "" {
		t.Errorf("%s event has id %q, want %q", w.Type, ev.ID, want)
	}
	return w
}

// ended waits for the stream to end, and returns the events it had left.
func (s *sseStream) ended(t *testing.T) []sseEvent {
	t.Helper()
	var rest []sseEvent
	timeout := time.After(10 * time.Second)
	for {
		select {
		case ev, ok := <-s.events:
			if !ok {
				return rest
			}
			if ev.Comment == "" {
				rest = append(rest, ev)
			}
		case <-timeout:
			t.Fatal("the stream did not end within 10s")
		}
	}
}

func sseApp(t *testing.T, db *gorm.DB, opts ...ws.Option) (*easy.App, *ws.Manager, *httptest.Server) {
	t.Helper()
	app := easy.New(easy.DB(db), easy.Logger(slog.New(slog.NewTextHandler(io.Discard, nil))))
	app.Include(easy.CRUDRouter[Product]())
	m := ws.NewManager(append([]ws.Option{ws.Heartbeat(0)}, opts...)...)
	m.Watch(app, Product{})
	srv := httptest.NewServer(app)
	t.Cleanup(func() {
		srv.CloseClientConnections()
		app.Close(context.Background())
		srv.Close()
	})
	return app, m, srv
}

// The stream of /sse/products carries the resource protocol: a snapshot
// that the query asks for, narrowed by its filter, then the events that
// pass the filter and the deletes of rows that leave it, each with its seq
// as the id; heartbeats are comments.
func TestSSEStreamsTheResourceProtocol(t *testing.T) {
	testkit.Each(t, nil, func(t *testing.T, db *gorm.DB) {
		_, _, srv := sseApp(t, db, ws.Heartbeat(100*time.Millisecond))
		write(t, srv, "POST", "/products", `{"name":"cheap","price":1}`)
		write(t, srv, "POST", "/products", `{"name":"dear","price":50}`)
		s := openSSE(t, srv.URL+`/sse/products?snapshot=1&limit=5&filter={"price__gt":10}`)
		initial := s.message(t)
		if initial.Type != "initial" || !sameJSON(initial.Data, `[{"id":2,"name":"dear","price":50}]`) {
			t.Fatalf("initial: %+v %s", initial, initial.Data)
		}

		write(t, srv, "POST", "/products", `{"name":"cheap2","price":2}`)
		write(t, srv, "POST", "/products", `{"name":"dear2","price":60}`)
		write(t, srv, "PATCH", "/products/2", `{"price":5}`)
		want := []string{
			fmt.Sprintf(`create {"id":4,"name":"dear2","price":60} %d`, initial.Seq+2),
			fmt.Sprintf(`delete  %d`, initial.Seq+3),
		}
		for _, w := range want {
			m := s.message(t)
			if got := fmt.Sprintf("%s %s %d", m.Type, m.Data, m.Seq); got != w {
				t.Errorf("event %s, want %s", got, w)
			}
		}
		if ev := s.next(t, true); ev.Comment != "ping" {
			t.Errorf("heartbeat: %+v, want the comment ping", ev)
		}
	})
}

// EventSource reconnects with the id of the last event it had as
// Last-Event-ID, which overrides the URL's since: the stream goes on
// after it, from the history; a Last-Event-ID older than the history gets
// a reset, followed by a fresh snapshot when the URL asks for snapshots.
// A message that is not an event has no id, and a message with line
// breaks is sent as several data lines, which EventSource joins.
func TestSSEResumesWithLastEventID(t *testing.T) {
	_, m, srv := sseApp(t, testkit.SQLite(t, nil), ws.HistorySize(4))
	s := openSSE(t, srv.URL+"/sse/products")
	write(t, srv, "POST", "/products", `{"name":"a","price":1}`)
	first := s.message(t)
	s.close()
	for _, name := range []string{"b", "c"} {
		write(t, srv, "POST", "/products", `{"name":"`+name+`","price":1}`)
	}

	s = openSSE(t, srv.URL+"/sse/products?since=1", "Last-Event-ID", fmt.Sprint(first.Seq))
	for i, name := range []string{"b", "c"} {
		if ev := s.message(t); ev.Type != "create" || ev.Seq != first.Seq+1+uint64(i) || !strings.Contains(string(ev.Data), `"name":"`+name+`"`) {
			t.Errorf("resumed event %d: %+v %s", i, ev, ev.Data)
		}
	}
	if n := m.Broadcast("products", []byte("{\n  \"type\": \"notice\",\r\n  \"seq\": 7\r}")); n != 1 {
		t.Fatalf("Broadcast reached %d", n)
	}
	if ev := s.next(t); ev.ID != "" || ev.Data != "{\n  \"type\": \"notice\",\n  \"seq\": 7\n}" {
		t.Errorf("broadcast: %+v", ev)
	}
	s.close()

	for range 5 {
		write(t, srv, "POST", "/products", `{"name":"d","price":1}`)
	}
	s = openSSE(t, srv.URL+"/sse/products?snapshot=1&limit=2", "Last-Event-ID", fmt.Sprint(first.Seq))
	if ev := s.message(t); ev.Type != "reset" || ev.Resource != "products" {
		t.Errorf("behind the history: %+v, want a reset", ev)
	}
	if ev := s.message(t); ev.Type != "initial" || ev.Seq != first.Seq+7 || !sameJSON(ev.Data, `[{"id":1,"name":"a","price":1},{"id":2,"name":"b","price":1}]`) {
		t.Errorf("after the reset: %+v %s, want a snapshot of 2 rows at seq %d", ev, ev.Data, first.Seq+7)
	}
}

// An SSE stream with snapshot=1 that resumes behind the history gets a
// reset, and the server reads the fresh snapshot its client cannot ask
// for. When that read fails (here it outlasts SnapshotTimeout), the
// client gets the error, and the stream ends with a close event of 1013
// whose empty id clears EventSource's last event ID: EventSource
// reconnects without Last-Event-ID, and that stream begins with the
// snapshot. Such a close is counted as snapshot_failed, not as a slow
// consumer.
func TestSSEStreamWhoseSnapshotFailsEndsForAFreshOne(t *testing.T) {
	db := testkit.SQLite(t, nil)
	arm, reading, release := slowSnapshots(t, db)
	app := easy.New(easy.DB(db), easy.Metrics(), easy.Logger(slog.New(slog.DiscardHandler)))
	app.Include(easy.CRUDRouter[Product]())
	m := ws.NewManager(quiet, ws.Heartbeat(0), ws.HistorySize(0), ws.SnapshotTimeout(300*time.Millisecond))
	m.Watch(app, Product{})
	srv := httptest.NewServer(app)
	t.Cleanup(func() { release(); srv.CloseClientConnections(); app.Close(context.Background()); srv.Close() })
	write(t, srv, "POST", "/products", `{"name":"apple","price":1}`)
	seen := m.Seq("products")
	write(t, srv, "POST", "/products", `{"name":"pear","price":2}`)

	arm()
	const stream = "/sse/products?snapshot=1"
	s := openSSE(t, srv.URL+stream, "Last-Event-ID", fmt.Sprint(seen))
	if ev := s.message(t); ev.Type != "reset" {
		t.Fatalf("behind the history: %+v, want a reset", ev)
	}
	read := <-reading
	<-read.Done() // the snapshot's read begins its query past its deadline
	release()
	restartedSSE(t, s, `{"type":"error","detail":"the snapshot took longer than 300ms to read: subscribe again later, or narrow the filter"}`)

	want := fmt.Sprintf(`{"type":"initial","resource":"products","data":[{"id":1,"name":"apple","price":1},{"id":2,"name":"pear","price":2}],"seq":%d}`, m.Seq("products"))
	if got := openSSE(t, srv.URL+stream).next(t).Data; got != want {
		t.Fatalf("the stream opened again: %s, want %s", got, want)
	}
	_, f := scrape(t, srv)
	for reason, n := range map[string]float64{"snapshot_failed": 1, "slow_consumer": 0} {
		if got := sample(t, f, "easy_ws_connections_closed_total", "reason", reason); got != n {
			t.Errorf("closed{reason=%q} = %v, want %v", reason, got, n)
		}
	}
}

// A server restart within the history: the App and its Manager stay, the
// HTTP server stops, dropping the stream, and a new one serves on the same
// address. The rows written meanwhile reach the client that comes back
// with Last-Event-ID. (Without a broker the history lives in the Manager:
// a new process starts a new history, and a client gets a reset.)
func TestSSEResumesAfterTheServerRestarts(t *testing.T) {
	db := testkit.SQLite(t, nil)
	app, _, _ := sseApp(t, db)
	srv := newRestartable(t, app)
	url := "http://" + srv.addr + "/sse/products?snapshot=1"
	s := openSSE(t, url)
	initial := s.message(t)
	db.Create(&Product{Name: "before", Price: 1})
	before := s.message(t)
	srv.stop()
	s.ended(t)
	db.Create(&Product{Name: "while down", Price: 2})
	srv.start(app)

	s = openSSE(t, url, "Last-Event-ID", fmt.Sprint(before.Seq))
	if ev := s.message(t); ev.Type != "create" || ev.Seq != initial.Seq+2 || !sameJSON(ev.Data, `{"id":2,"name":"while down","price":2}`) {
		t.Errorf("after the restart: %+v %s", ev, ev.Data)
	}
}

// Every refusal comes before the stream, with a status and a JSON body
// that fetch can read.
func TestSSERefusals(t *testing.T) {
	_, m, srv := sseApp(t, testkit.SQLite(t, nil), ws.MaxConnections(1))
	cases := []struct {
		name, method, path string
		header             []string
		status             int
		body               string
	}{
		{"unknown resource", "GET", "/sse/nothing", nil, 404, `{"detail":"Not Found"}`},
		{"method", "POST", "/sse/products", nil, 405, `{"detail":"Method Not Allowed"}`},
		{"foreign origin", "GET", "/sse/products", []string{"Origin", "https://evil.example"}, 403, `{"detail":"Origin not allowed"}`},
		{"since", "GET", "/sse/products?since=x", nil, 422,
			`{"detail":[{"type":"int_parsing","loc":["query","since"],"msg":"Input should be a valid integer, unable to parse string as an integer","input":"x"}]}`},
		{"Last-Event-ID", "GET", "/sse/products", []string{"Last-Event-ID", "-1"}, 422,
			`{"detail":[{"type":"int_parsing","loc":["header","Last-Event-ID"],"msg":"Input should be a valid integer, unable to parse string as an integer","input":"-1"}]}`},
		{"snapshot", "GET", "/sse/products?snapshot=maybe", nil, 422,
			`{"detail":[{"type":"bool_parsing","loc":["query","snapshot"],"msg":"Input should be a valid boolean, unable to interpret input","input":"maybe"}]}`},
		{"limit", "GET", "/sse/products?snapshot=1&limit=0", nil, 422,
			`{"detail":[{"type":"value_error","loc":["query","limit"],"msg":"Value error, limit must be an integer from 1 to 1000","input":"0"}]}`},
		{"limit without snapshot", "GET", "/sse/products?limit=5", nil, 422,
			`{"detail":[{"type":"value_error","loc":["query","limit"],"msg":"Value error, limit needs snapshot=1","input":"5"}]}`},
		{"filter", "GET", `/sse/products?filter={"colour":"red"}`, nil, 422,
			`{"detail":[{"type":"value_error","loc":["query","filter"],"msg":"Value error, filter colour: Unknown query parameter: not skip, limit, sort or a filterable field","input":"{\"colour\":\"red\"}"}]}`},
	}
	for _, c := range cases {
		req, _ := http.NewRequest(c.method, srv.URL+c.path, nil)
		for i := 0; i+1 < len(c.header); i += 2 {
			req.Header.Set(c.header[i], c.header[i+1])
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != c.status || string(b) != c.body {
			t.Errorf("%s: %d %s, want %d %s", c.name, res.StatusCode, b, c.status, c.body)
		}
	}

	openSSE(t, srv.URL+"/sse/products")
	if _, status, body := requestSSE(t, srv.URL+"/sse/products"); status != 503 || body != `{"detail":"Too many connections"}` {
		t.Errorf("over MaxConnections: %d %s", status, body)
	}
	if n := m.Count(); n != 1 {
		t.Errorf("Count = %d, want 1", n)
	}
}

// The same authentication and row policy as the WebSocket: a missing
// token is a 401 with its detail, a user's stream holds their rows only,
// and an expired token ends the stream with a close event of 1008.
func TestSSEAuthenticationAndPolicy(t *testing.T) {
	srv := securedRealtime(t, testkit.SQLite(t, nil))
	if _, status, body := requestSSE(t, srv.URL+"/sse/owned_notes"); status != 401 || body != `{"detail":"Not authenticated"}` {
		t.Errorf("without a token: %d %s", status, body)
	}
	alice, bob := wsToken(t, "alice", time.Hour), wsToken(t, "bob", 1500*time.Millisecond)
	sa := openSSE(t, srv.URL+"/sse/owned_notes?snapshot=1&access_token="+alice)
	sb := openSSE(t, srv.URL+"/sse/owned_notes", "Authorization", "Bearer "+bob)
	sa.message(t)
	authed(t, srv, bob, "POST", "/owned_notes", `{"text":"b1"}`)
	authed(t, srv, alice, "POST", "/owned_notes", `{"text":"a1"}`)
	if ev := sa.message(t); ev.Type != "create" || !sameJSON(ev.Data, `{"id":2,"owner":"alice","text":"a1"}`) {
		t.Errorf("alice: %+v %s", ev, ev.Data)
	}
	if ev := sb.message(t); ev.Type != "create" || !sameJSON(ev.Data, `{"id":1,"owner":"bob","text":"b1"}`) {
		t.Errorf("bob: %+v %s", ev, ev.Data)
	}
	rest := sb.ended(t)
	if len(rest) != 1 || rest[0].Event != "close" || rest[0].Data != `{"code":1008,"reason":"authorisation expired"}` {
		t.Errorf("bob's stream ended with %+v, want a close event of 1008", rest)
	}
}

// Shutdown ends every stream with a close event of 1001, and a stream
// whose client reads nothing is closed as a slow consumer, as a
// WebSocket's would be, freeing its slot.
func TestSSEClosesAsAWebSocketDoes(t *testing.T) {
	_, m, srv := sseApp(t, testkit.SQLite(t, nil), ws.SendQueueBytes(64<<10), ws.CloseTimeout(200*time.Millisecond))
	reader := openSSE(t, srv.URL+"/sse/products")
	idle, err := http.Get(srv.URL + "/sse/products") // never read
	if err != nil {
		t.Fatal(err)
	}
	defer idle.Body.Close()
	big := strings.Repeat("x", 32<<10)
	for i := 0; m.Stats().DroppedSlow == 0; i++ {
		if i == 2000 {
			t.Fatal("a client that reads nothing was not dropped after 2000 events of 32 KiB")
		}
		m.Publish("products", ws.Change{Op: ws.TypeCreate, Key: i + 1, Data: json.RawMessage(`{"name":"` + big + `"}`)})
		reader.message(t) // the client that reads keeps up
	}
	eventually(t, "the slow consumer is gone", func() bool { return m.Count() == 1 })
	if err := m.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	rest := reader.ended(t)
	if len(rest) == 0 || rest[len(rest)-1].Event != "close" || rest[len(rest)-1].Data != `{"code":1001,"reason":"server shutting down"}` {
		t.Errorf("the stream ended with %d events, the last %+v, want a close event of 1001", len(rest), rest[len(rest)-1:])
	}
}

// With CloseOnAuthFailure a WebSocket handshake that fails authentication
// is accepted and closed with 1008 and the refusal's detail, which a
// browser can read; a foreign origin is still refused before the upgrade.
func TestCloseOnAuthFailure(t *testing.T) {
	app := easy.New(easy.DB(testkit.SQLite(t, nil)), easy.Logger(slog.New(slog.NewTextHandler(io.Discard, nil))))
	m := ws.NewManager(ws.Heartbeat(0), ws.CloseOnAuthFailure(), ws.Authenticate(func(r *http.Request) (any, error) {
		switch r.URL.Query().Get("token") {
		case "good":
			return "alice", nil
		case "":
			return nil, easy.NewHTTPError(http.StatusUnauthorized, "Not authenticated")
		}
		return nil, fmt.Errorf("bad token %q", r.URL.Query().Get("token"))
	}))
	m.Watch(app, Product{})
	srv := httptest.NewServer(app)
	t.Cleanup(func() { app.Close(context.Background()); srv.Close() })

	for query, reason := range map[string]string{"": "Not authenticated", "?token=x": "Forbidden"} {
		c := dial(t, wsURL(srv, "/ws/products"+query))
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		_, _, err := c.Read(ctx)
		cancel()
		var ce websocket.CloseError
		if !errors.As(err, &ce) || ce.Code != websocket.StatusPolicyViolation || ce.Reason != reason {
			t.Errorf("token %q: %v, want a close 1008 %q", query, err, reason)
		}
	}
	if status, body := refusal(t, wsURL(srv, "/ws/products"), http.Header{"Origin": {"https://evil.example"}}); status != 403 || body != `{"detail":"Origin not allowed"}` {
		t.Errorf("foreign origin: %d %s", status, body)
	}
	if _, status, body := requestSSE(t, srv.URL+"/sse/products"); status != 401 || body != `{"detail":"Not authenticated"}` {
		t.Errorf("SSE without a token: %d %s", status, body)
	}
	dialReady(t, wsURL(srv, "/ws/products?token=good"))
	if got := m.Stats().Refused; got != 4 {
		t.Errorf("Refused = %d, want 4", got)
	}
}

// With a broker the history is the broker's log, so a stream resumes with
// Last-Event-ID across a restart of the whole server: the first Manager
// shuts down, a new one (as a new process would) starts on the same
// database and Redis, and the client that comes back gets the events it
// missed, the old Manager's and the new one's, numbered on.
func TestSSEResumesOnANewServerThroughRedis(t *testing.T) {
	path := filepath.Join(t.TempDir(), "shared.db")
	prefix := randomPrefix()
	start := func() (*ws.Manager, *httptest.Server) {
		app := easy.New(easy.DB(testkit.SQLiteFile(t, path, nil)), easy.Logger(slog.New(slog.NewTextHandler(io.Discard, nil))))
		app.Include(easy.CRUDRouter[Product]())
		m := ws.NewManager(ws.Heartbeat(0), ws.ShareVia(ws.NewRedisBroker(redisClient(t), prefix)))
		m.Watch(app, Product{})
		srv := httptest.NewServer(app)
		t.Cleanup(func() { srv.CloseClientConnections(); app.Close(context.Background()); srv.Close() })
		return m, srv
	}
	m, srv := start()
	s := openSSE(t, srv.URL+"/sse/products")
	write(t, srv, "POST", "/products", `{"name":"a","price":1}`)
	write(t, srv, "POST", "/products", `{"name":"b","price":1}`)
	first, second := s.message(t), s.message(t)
	if err := m.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	if rest := s.ended(t); len(rest) != 1 || rest[0].Data != `{"code":1001,"reason":"server shutting down"}` {
		t.Errorf("the stream ended with %+v, want a close event of 1001", rest)
	}
	srv.Close()

	_, srv = start()
	write(t, srv, "POST", "/products", `{"name":"c","price":1}`)
	s = openSSE(t, srv.URL+"/sse/products?snapshot=1", "Last-Event-ID", fmt.Sprint(first.Seq))
	for _, want := range []string{
		fmt.Sprintf(`create {"id":2,"name":"b","price":1} %d`, second.Seq),
		fmt.Sprintf(`create {"id":3,"name":"c","price":1} %d`, second.Seq+1),
	} {
		ev := s.message(t)
		if got := fmt.Sprintf("%s %s %d", ev.Type, ev.Data, ev.Seq); got != want {
			t.Errorf("after the restart: %s, want %s", got, want)
		}
	}
}

// An event stream outlives the App's HTTP timeouts, as a WebSocket does:
// the write timeout bounds each event's write, not the response.
func TestSSEOutlivesTheHTTPTimeouts(t *testing.T) {
	const d = 200 * time.Millisecond
	app := easy.New(easy.DB(testkit.SQLite(t, nil)), easy.Logger(slog.New(slog.NewTextHandler(io.Discard, nil))),
		easy.HeaderTimeout(d), easy.WriteTimeout(d), easy.IdleTimeout(d))
	app.Include(easy.CRUDRouter[Product]())
	ws.NewManager(ws.Heartbeat(0)).Watch(app, Product{})
	addr, _ := testkit.ServeOn(t, "127.0.0.1:0", app.Serve)
	s := openSSE(t, "http://"+addr+"/sse/products")
	for _, name := range []string{"one", "two"} {
		time.Sleep(3 * d)
		req, _ := http.NewRequest("POST", "http://"+addr+"/products", strings.NewReader(`{"name":"`+name+`","price":1}`))
		req.Header.Set("Content-Type", "application/json")
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if ev := s.message(t); ev.Type != "create" || !strings.Contains(string(ev.Data), `"name":"`+name+`"`) {
			t.Fatalf("after %s: %+v %s", 3*d, ev, ev.Data)
		}
	}
}

// SSE connections leave nothing behind, whether their clients go away or
// the Manager shuts down with them open.
func TestSSEGoroutinesAreReleased(t *testing.T) {
	before := runtime.NumGoroutine()
	m := ws.NewManager(quiet, ws.Heartbeat(10*time.Millisecond))
	m.AddResource("items", newStore(m))
	srv := serve(t, m, map[string]http.Handler{"/sse/{resource}": http.HandlerFunc(m.ServeSSE)})
	idle := runtime.NumGoroutine()

	open := func(n int) []*sseStream {
		var streams []*sseStream
		for range n {
			streams = append(streams, openSSE(t, srv.URL+"/sse/items?snapshot=1"))
		}
		eventually(t, "all connected", func() bool { return m.Count() == n })
		return streams
	}
	for _, s := range open(20) {
		s.next(t, true) // a heartbeat: the writer has run
		s.close()
	}
	eventually(t, "all disconnected", func() bool { return m.Count() == 0 })
	goroutinesBack(t, idle)

	streams := open(20)
	if err := m.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	for _, s := range streams {
		s.ended(t)
	}
	srv.Close()
	goroutinesBack(t, before)
}

// TestASnapshotWhoseEventsCouldNotBeKeptIsReadAgain: the writes made
// while a subscribe's snapshot is read outgrow what its connection may
// keep, and the history is off, so the snapshot cannot be joined to the
// events after it. The subscribe reads another, and is answered with one
// initial message, not a reset (which a client would take for the end of
// the stream it had, not for the answer to its subscribe).
func TestASnapshotWhoseEventsCouldNotBeKeptIsReadAgain(t *testing.T) {
	db := testkit.SQLite(t, nil)
	arm, reading, release := slowSnapshots(t, db)
	_, _, srv := sseApp(t, db, ws.HistorySize(0), ws.SendQueueBytes(1000))
	write(t, srv, "POST", "/products", `{"name":"apple","price":1}`)
	plain := openSSE(t, srv.URL+"/sse/products")
	arm()
	s := openSSE(t, srv.URL+"/sse/products?snapshot=1")
	<-reading
	const figs = 14 // some 100 bytes each kept: past 1,000 at the 11th
	// The fan-out hands each event to every stream in turn: once the plain
	// one has the last, the held one has kept (or dropped) them all. The
	// plain one reads each before the next write, as its send queue holds
	// fewer than figs.
	for i := range figs {
		write(t, srv, "POST", "/products", fmt.Sprintf(`{"name":"fig%d","price":2}`, i))
		if w := plain.message(t); w.Type != "create" {
			t.Fatalf("the plain stream got %s, want a create", w.Type)
		}
	}
	release()
	w := s.message(t)
	var rows []Product
	if err := json.Unmarshal(w.Data, &rows); w.Type != "initial" || err != nil || len(rows) != 1+figs {
		t.Fatalf("the answer to the subscribe: %s with %d rows (%v), want an initial with all %d", w.Type, len(rows), err, 1+figs)
	}
	write(t, srv, "POST", "/products", `{"name":"kiwi","price":3}`)
	if w := s.message(t); w.Type != "create" || !strings.Contains(string(w.Data), `"kiwi"`) {
		t.Fatalf("after the initial: %s %s, want the kiwi's create", w.Type, w.Data)
	}
}
