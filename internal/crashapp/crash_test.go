package crashapp

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/redis/go-redis/v9"

	"github.com/fastapi-easy/easy-go/easy/ws"
	"github.com/fastapi-easy/easy-go/internal/testkit"
)

// childEnv makes the test binary the app (see Serve) instead of running
// the tests.
const childEnv = "EASY_CRASHAPP_CHILD"

// With these, the children share their events through Redis.
const (
	redisEnv  = "EASY_CRASHAPP_REDIS"
	prefixEnv = "EASY_CRASHAPP_PREFIX"
)

func TestMain(m *testing.M) {
	if os.Getenv(childEnv) == "1" {
		// Keep every event, so that the test can compare the whole stream
		// with the table; trimming has a test of its own in package ws.
		opts := []ws.Option{ws.HistorySize(1 << 20)}
		if u := os.Getenv(redisEnv); u != "" {
			o, err := redis.ParseURL(u)
			if err != nil {
				fmt.Fprintln(os.Stderr, err)
				os.Exit(1)
			}
			opts = append(opts, ws.ShareVia(ws.NewRedisBroker(redis.NewClient(o), os.Getenv(prefixEnv))))
		}
		if err := Serve(context.Background(), os.Stdout, opts...); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// TestSIGKILLLosesNoCommittedEvent runs the app as a child process, drives
// concurrent REST writes at it (creates, updates, deletes, bulk updates,
// and requests that fail), kills it with SIGKILL at a random moment and
// restarts it, several rounds. A client that resumes with its last seq
// after each restart must end with exactly one event per committed change,
// gap-free, in each row's commit order, and none for a failed request.
func TestSIGKILLLosesNoCommittedEvent(t *testing.T) {
	dbs := []struct {
		name string
		url  func(t *testing.T) string
	}{
		{"sqlite", func(t *testing.T) string { return "sqlite:" + filepath.Join(t.TempDir(), "crash.db") }},
		{"postgres", func(t *testing.T) string { return testkit.PostgresDatabase(t) }},
	}
	for _, d := range dbs {
		t.Run(d.name, func(t *testing.T) {
			url := d.url(t)
			seed := uint64(time.Now().UnixNano())
			t.Logf("seed %d", seed)
			rng := rand.New(rand.NewPCG(seed, 1))
			var s stream
			var all []result
			const rounds = 4
			for round := range rounds {
				addr, kill := startChild(t, url)
				done := s.follow(t, addr)
				collect := drive(addr, round, rng, time.Duration(300+rng.IntN(600))*time.Millisecond)
				kill()
				all = append(all, collect()...)
				<-done
			}
			// A last start: the client resumes and catches up with the table.
			addr, kill := startChild(t, url)
			s.catchUpAndCheck(t, url, all, kill, s.follow(t, addr))
		})
	}
}

// TestSIGKILLOneOfTwoInstances runs two instances of the app on one
// PostgreSQL database, sharing events through Redis, with writers on both;
// one is killed with SIGKILL mid-burst and restarted, three times. A client
// of the other, never disconnected, must get every committed write's
// event exactly once, gap-free and in each row's commit order, including
// those the killed instance committed and never appended: the surviving
// instance's relay finds them in the outbox.
func TestSIGKILLOneOfTwoInstances(t *testing.T) {
	url := testkit.PostgresDatabase(t)
	env := []string{redisEnv + "=" + testkit.Require(t, testkit.RedisEnv), prefixEnv + "=" + fmt.Sprintf("crash%d", time.Now().UnixNano())}
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rngA, rngB := rand.New(rand.NewPCG(seed, 1)), rand.New(rand.NewPCG(seed, 2))
	addrB, killB := startChild(t, url, env...)
	var s stream
	done := s.follow(t, addrB)
	var all []result
	for round := range 3 {
		addrA, killA := startChild(t, url, env...)
		d := time.Duration(300+rngA.IntN(600)) * time.Millisecond
		var collectB func() []result
		driving := make(chan struct{})
		go func() {
			collectB = drive(addrB, 10+round, rngB, d+200*time.Millisecond)
			close(driving)
		}()
		collectA := drive(addrA, round, rngA, d)
		killA()
		all = append(all, collectA()...)
		<-driving
		all = append(all, collectB()...)
	}
	s.catchUpAndCheck(t, url, all, killB, done)
}

// catchUpAndCheck waits (20 s at most) until the client has the outbox's
// last event, kills the app it follows, waits for its stream to end (done)
// and checks what it received against the writers' results and the table.
func (s *stream) catchUpAndCheck(t *testing.T, url string, results []result, kill func(), done chan struct{}) {
	t.Helper()
	db := testkit.OpenURL(t, url)
	var maxSeq uint64
	deadline := time.Now().Add(20 * time.Second)
	for {
		if err := db.Raw("SELECT MAX(seq) FROM easy_outbox_items").Scan(&maxSeq).Error; err != nil {
			t.Fatal(err)
		}
		if s.last() >= maxSeq || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	kill()
	<-done
	var rows []Item
	if err := db.Order("id").Find(&rows).Error; err != nil {
		t.Fatal(err)
	}
	s.check(t, results, rows, maxSeq)
}

// startChild starts the app on the database of url and returns its
// address and a function that kills it with SIGKILL and waits for it.
func startChild(t *testing.T, url string, env ...string) (string, func()) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(append(os.Environ(), childEnv+"=1", "DATABASE_URL="+url), env...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := bufio.NewScanner(out)
	for lines.Scan() {
		if addr, ok := strings.CutPrefix(lines.Text(), "listening "); ok {
			go func() { // drain the rest until the child dies
				for lines.Scan() {
				}
			}()
			return addr, func() {
				cmd.Process.Signal(syscall.SIGKILL)
				cmd.Wait()
			}
		}
	}
	cmd.Process.Kill()
	cmd.Wait()
	t.Fatalf("the app did not start: %s", stderr.String())
	return "", nil
}

// event is an event as the client received it.
type event struct {
	Type string          `json:"type"`
	ID   uint            `json:"id"`
	Data json.RawMessage `json:"data"`
	Seq  uint64          `json:"seq"`
	item Item
}

// stream is what the client received over every run of the app.
type stream struct {
	mu     sync.Mutex
	events []event
	resets int
}

func (s *stream) last() uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.events) == 0 {
		return 0
	}
	return s.events[len(s.events)-1].Seq
}

// follow connects to the app, resuming after the last event received, and
// records what arrives until the app is gone; done is closed then. A
// connection the server closes while it still serves (a slow consumer's
// 1013 when a bulk write's events outrun this reader) is resumed as a
// client with reconnect does; a resume that fails is a reset, counted.
func (s *stream) follow(t *testing.T, addr string) (done chan struct{}) {
	t.Helper()
	c, err := s.dial(addr)
	if err != nil {
		t.Fatalf("dial %s: %v", addr, err)
	}
	done = make(chan struct{})
	go func() {
		defer close(done)
		for c != nil {
			err := s.read(t, c)
			c.CloseNow()
			if err != nil {
				return
			}
			c, _ = s.dial(addr) // nil once the app is gone
		}
	}()
	return done
}

// dial connects to the app's /ws/items, resuming after the last event
// received.
func (s *stream) dial(addr string) (*websocket.Conn, error) {
	u := "ws://" + addr + "/ws/items"
	if seq := s.last(); seq > 0 {
		u += "?since=" + strconv.FormatUint(seq, 10)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, _, err := websocket.Dial(ctx, u, nil)
	if err != nil {
		return nil, err
	}
	c.SetReadLimit(1 << 20)
	return c, nil
}

// read records what c receives until it ends. It returns an error only
// for a bad message, which it has reported.
func (s *stream) read(t *testing.T, c *websocket.Conn) error {
	for {
		_, msg, err := c.Read(context.Background())
		if err != nil {
			return nil
		}
		var ev event
		if err := json.Unmarshal(msg, &ev); err != nil {
			t.Errorf("bad message %s: %v", msg, err)
			return err
		}
		s.mu.Lock()
		switch ev.Type {
		case "create", "update", "delete":
			if ev.Data != nil {
				json.Unmarshal(ev.Data, &ev.item)
			}
			s.events = append(s.events, ev)
		case "reset":
			s.resets++
		}
		s.mu.Unlock()
	}
}

// result is one write request and what came of it.
type result struct {
	writer int
	op     string // create, update, delete, bulk
	token  string // the name it wrote
	id     uint   // the row, for create (from the reply), update and delete
	status int    // 0 when the request failed without a reply
	n      int64  // rows a bulk update wrote
}

// drive runs four writers against the app for d, then tells them to stop
// and returns a function that waits for them and returns what they did.
func drive(addr string, round int, rng *rand.Rand, d time.Duration) (collect func() []result) {
	client := &http.Client{Timeout: 5 * time.Second}
	base := "http://" + addr
	var mu sync.Mutex
	var out []result
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for w := range 4 {
		wr := rand.New(rand.NewPCG(rng.Uint64(), uint64(w)))
		wg.Add(1)
		go func() {
			defer wg.Done()
			var mine []uint
			for n := 0; ; n++ {
				select {
				case <-stop:
					return
				default:
				}
				r := result{writer: w, token: fmt.Sprintf("w%d-r%d-%d", w, round, n)}
				var method, path, body string
				switch p := wr.IntN(100); {
				case p < 40 || len(mine) == 0:
					r.op, method, path = "create", "POST", "/items"
					body = fmt.Sprintf(`{"name":%q,"price":%d}`, r.token, wr.IntN(100))
				case p < 70:
					r.id = mine[wr.IntN(len(mine))]
					r.op, method, path = "update", "PATCH", fmt.Sprintf("/items/%d", r.id)
					body = fmt.Sprintf(`{"name":%q}`, r.token)
				case p < 80:
					i := wr.IntN(len(mine))
					r.id = mine[i]
					mine = append(mine[:i], mine[i+1:]...)
					r.op, method, path = "delete", "DELETE", fmt.Sprintf("/items/%d", r.id)
				case p < 85:
					r.op, method, path = "bulk", "POST", "/bulk"
					body = fmt.Sprintf(`{"name":%q,"mod":%d}`, r.token, 2+wr.IntN(5))
				case p < 93: // refused by validation: 422
					r.id = mine[wr.IntN(len(mine))]
					r.op, method, path = "update", "PATCH", fmt.Sprintf("/items/%d", r.id)
					body = fmt.Sprintf(`{"name":%q,"price":-1}`, r.token)
				default: // no such row: 404
					r.op, method, path = "update", "PATCH", "/items/999999999"
					body = fmt.Sprintf(`{"name":%q}`, r.token)
				}
				req, _ := http.NewRequest(method, base+path, strings.NewReader(body))
				req.Header.Set("Content-Type", "application/json")
				resp, err := client.Do(req)
				if err == nil {
					var reply struct {
						ID       uint  `json:"id"`
						Affected int64 `json:"affected"`
					}
					r.status = resp.StatusCode
					err = json.NewDecoder(resp.Body).Decode(&reply)
					resp.Body.Close()
					if err != nil {
						r.status = 0 // cut off mid-reply: unknown
					}
					if r.op == "create" && r.status == 201 {
						r.id = reply.ID
						mine = append(mine, r.id)
					}
					r.n = reply.Affected
				}
				mu.Lock()
				out = append(out, r)
				mu.Unlock()
				if err != nil {
					return // the app is gone
				}
			}
		}()
	}
	time.Sleep(d)
	close(stop)
	// The caller kills the app, which ends the requests still waiting for
	// a reply, then collects.
	return func() []result {
		wg.Wait()
		return out
	}
}

// check compares what the client received with what the writers were
// told and with the table.
func (s *stream) check(t *testing.T, results []result, rows []Item, maxSeq uint64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.resets != 0 {
		t.Errorf("%d resets: a resume failed", s.resets)
	}
	if len(s.events) == 0 {
		t.Fatal("no events")
	}
	for i := 1; i < len(s.events); i++ {
		if s.events[i].Seq != s.events[i-1].Seq+1 {
			t.Fatalf("seq %d follows %d", s.events[i].Seq, s.events[i-1].Seq)
		}
	}
	if last := s.events[len(s.events)-1].Seq; last != maxSeq {
		t.Errorf("last seq %d, table's %d", last, maxSeq)
	}
	// Each token in the events, with the seqs that carry it.
	byToken := map[string][]event{}
	deletes := map[uint]int{}
	for _, ev := range s.events {
		if ev.Type == "delete" {
			deletes[ev.ID]++
			continue
		}
		byToken[ev.item.Name] = append(byToken[ev.item.Name], ev)
	}
	sent := map[string]bool{}
	committed, failed, unknown := 0, 0, 0
	for _, r := range results {
		sent[r.token] = true
		evs := byToken[r.token]
		switch {
		case r.status == 0:
			unknown++
			if r.op != "bulk" && r.op != "delete" && len(evs) > 1 {
				t.Errorf("%s %s (no reply): %d events", r.op, r.token, len(evs))
			}
		case r.status >= 400:
			failed++
			if len(evs) != 0 {
				t.Errorf("%s %s failed with %d, yet has %d events", r.op, r.token, r.status, len(evs))
			}
		default:
			committed++
			switch r.op {
			case "create", "update":
				want := map[string]string{"create": "create", "update": "update"}[r.op]
				if len(evs) != 1 || evs[0].Type != want || evs[0].ID != r.id {
					t.Errorf("%s %s of row %d: events %+v", r.op, r.token, r.id, evs)
				}
			case "bulk":
				ids := map[uint]bool{}
				for _, ev := range evs {
					ids[ev.ID] = true
				}
				if int64(len(evs)) != r.n || len(ids) != len(evs) {
					t.Errorf("bulk %s wrote %d rows: events %+v", r.token, r.n, evs)
				}
			case "delete":
				if deletes[r.id] != 1 {
					t.Errorf("delete of row %d: %d delete events", r.id, deletes[r.id])
				}
			}
		}
	}
	for tok := range byToken {
		if !sent[tok] {
			t.Errorf("an event carries %q, which no request wrote", tok)
		}
	}
	// Each writer's successful writes of a row arrive in the order it made them.
	seqOf := map[string]uint64{}
	for _, ev := range s.events {
		if ev.Type != "delete" {
			seqOf[ev.item.Name] = ev.Seq
		}
	}
	lastSeq := map[uint]uint64{}
	for _, r := range results {
		if r.status < 200 || r.status >= 300 || (r.op != "create" && r.op != "update") {
			continue
		}
		if seq := seqOf[r.token]; seq <= lastSeq[r.id] {
			t.Errorf("row %d: %s at seq %d, after a later write's %d", r.id, r.token, seq, lastSeq[r.id])
		} else {
			lastSeq[r.id] = seq
		}
	}
	// Applying the events in seq order gives the table.
	state := map[uint]Item{}
	for _, ev := range s.events {
		switch ev.Type {
		case "create":
			if _, ok := state[ev.ID]; ok {
				t.Errorf("seq %d creates row %d, which exists", ev.Seq, ev.ID)
			}
			state[ev.ID] = ev.item
		case "update":
			if _, ok := state[ev.ID]; !ok {
				t.Errorf("seq %d updates row %d, which does not exist", ev.Seq, ev.ID)
			}
			state[ev.ID] = ev.item
		case "delete":
			if _, ok := state[ev.ID]; !ok {
				t.Errorf("seq %d deletes row %d, which does not exist", ev.Seq, ev.ID)
			}
			delete(state, ev.ID)
		}
	}
	if len(state) != len(rows) {
		t.Errorf("events leave %d rows, the table has %d", len(state), len(rows))
	}
	for _, row := range rows {
		if got, ok := state[row.ID]; !ok || got != row {
			t.Errorf("row %d: table %+v, events %+v", row.ID, row, got)
		}
	}
	t.Logf("%d events; %d writes committed, %d refused, %d cut off by a kill", len(s.events), committed, failed, unknown)
	if committed == 0 || failed == 0 {
		t.Errorf("the writers did too little to prove anything")
	}
}
