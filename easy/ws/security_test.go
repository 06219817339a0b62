package ws_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/golang-jwt/jwt/v5"
	"gorm.io/gorm"

	"github.com/fastapi-easy/easy-go/easy"
	"github.com/fastapi-easy/easy-go/easy/crud"
	"github.com/fastapi-easy/easy-go/easy/query"
	"github.com/fastapi-easy/easy-go/easy/security"
	"github.com/fastapi-easy/easy-go/easy/ws"
	"github.com/fastapi-easy/easy-go/internal/testkit"
)

// OwnedNote is a row its owner alone may read, over REST and realtime.
type OwnedNote struct {
	ID    uint   `json:"id" gorm:"primaryKey"`
	Owner string `json:"owner" easy:"readonly"`
	Text  string `json:"text" required:"true"`
}

var wsSecret = []byte("realtime-secret-0123456789abcdef")

func wsToken(t *testing.T, sub string, ttl time.Duration) string {
	t.Helper()
	tok, err := jwt.NewWithClaims(jwt.SigningMethodHS256, security.Claims{RegisteredClaims: jwt.RegisteredClaims{
		Subject: sub, ExpiresAt: jwt.NewNumericDate(time.Now().Add(ttl)),
	}}).SignedString(wsSecret)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// securedRealtime serves OwnedNote over CRUD and realtime with one bearer
// scheme and one row policy: a user sees their own notes.
func securedRealtime(t *testing.T, db *gorm.DB) *httptest.Server {
	t.Helper()
	bearer := security.HTTPBearer(security.JWT[security.Claims](security.JWTConfig{Key: wsSecret}),
		security.TokenQuery("access_token"), security.TokenCookie("access_token"))
	app := easy.New(easy.DB(db), easy.Logger(slog.New(slog.NewTextHandler(io.Discard, nil))))
	owner := query.Rows("owner", func(ctx context.Context) (any, error) { return bearer.From(ctx).Subject, nil })
	app.Include(easy.CRUDRouter[OwnedNote](crud.Uses(bearer), crud.Policy(owner)))
	ws.NewManager(ws.Heartbeat(0), ws.Secure(bearer), ws.Policy(OwnedNote{}, owner)).Watch(app, OwnedNote{})
	srv := httptest.NewServer(app)
	t.Cleanup(func() {
		app.Close(context.Background())
		srv.Close()
	})
	return srv
}

func authed(t *testing.T, srv *httptest.Server, token, method, path, body string) string {
	t.Helper()
	req, _ := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+token)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if res.StatusCode >= 300 {
		t.Fatalf("%s %s: %d %s", method, path, res.StatusCode, b)
	}
	return string(b)
}

// untilText reads events until one whose data has text, and returns the
// events read, each as "type id owner".
func untilText(t *testing.T, c *websocket.Conn, text string) []string {
	t.Helper()
	var seen []string
	for {
		ev := event(t, next(t, c))
		var row OwnedNote
		json.Unmarshal(ev.Data, &row)
		seen = append(seen, ev.Type+" "+string(ev.ID)+" "+row.Owner)
		if row.Text == text {
			return seen
		}
	}
}

// Two users connected at once, each writing: each receives the events and
// the snapshot of their own rows only, whether the token came in the
// Authorization header, the access_token query parameter or a cookie.
func TestRealtimeIsolation(t *testing.T) {
	testkit.Each(t, nil, func(t *testing.T, db *gorm.DB) {
		srv := securedRealtime(t, db)
		alice, bob := wsToken(t, "alice", time.Hour), wsToken(t, "bob", time.Hour)
		url := wsURL(srv, "/ws/owned_notes")
		ca := dial(t, url, func(o *websocket.DialOptions) { o.HTTPHeader = http.Header{"Authorization": {"Bearer " + alice}} })
		cb := dial(t, url+"?access_token="+bob)
		cc := dial(t, url, func(o *websocket.DialOptions) { o.HTTPHeader = http.Header{"Cookie": {"access_token=" + bob}} })
		for _, c := range []*websocket.Conn{ca, cb, cc} {
			send(t, c, `{"type":"ping"}`)
			expect(t, c, `{"type":"pong"}`)
		}

		authed(t, srv, alice, "POST", "/owned_notes", `{"text":"a1"}`)
		authed(t, srv, bob, "POST", "/owned_notes", `{"text":"b1"}`)
		authed(t, srv, alice, "PATCH", "/owned_notes/1", `{"text":"a1 changed"}`)
		authed(t, srv, bob, "DELETE", "/owned_notes/2", "")
		authed(t, srv, bob, "POST", "/owned_notes", `{"text":"b-last"}`)
		authed(t, srv, alice, "POST", "/owned_notes", `{"text":"a-last"}`)

		if got, want := strings.Join(untilText(t, ca, "a-last"), ", "), "create 1 alice, update 1 alice, create 4 alice"; got != want {
			t.Errorf("alice's events: %s, want %s", got, want)
		}
		for _, c := range []*websocket.Conn{cb, cc} {
			if got, want := strings.Join(untilText(t, c, "b-last"), ", "), "create 2 bob, delete 2 , create 3 bob"; got != want {
				t.Errorf("bob's events: %s, want %s", got, want)
			}
		}

		send(t, ca, `{"type":"subscribe"}`)
		if ev := event(t, next(t, ca)); ev.Type != "initial" || !sameJSON(ev.Data, `[{"id":1,"owner":"alice","text":"a1 changed"},{"id":4,"owner":"alice","text":"a-last"}]`) {
			t.Errorf("alice's snapshot: %s %s", ev.Type, ev.Data)
		}
		send(t, cb, `{"type":"subscribe"}`)
		if ev := event(t, next(t, cb)); ev.Type != "initial" || !sameJSON(ev.Data, `[{"id":3,"owner":"bob","text":"b-last"}]`) {
			t.Errorf("bob's snapshot: %s %s", ev.Type, ev.Data)
		}
	})
}

// A connection is refused before the upgrade without a valid token, and
// closed with 1008 when its token expires.
func TestRealtimeAuthentication(t *testing.T) {
	srv := securedRealtime(t, testkit.SQLite(t, nil))
	url := wsURL(srv, "/ws/owned_notes")
	for name, c := range map[string]struct {
		query  string
		status int
		body   string
	}{
		"missing": {"", 401, `{"detail":"Not authenticated"}`},
		"expired": {"?access_token=" + wsToken(t, "alice", -time.Minute), 401, `{"detail":"Could not validate credentials"}`},
		"forged":  {"?access_token=" + wsToken(t, "alice", time.Hour) + "x", 401, `{"detail":"Could not validate credentials"}`},
	} {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		_, res, err := websocket.Dial(ctx, url+c.query, nil)
		cancel()
		if err == nil || res == nil {
			t.Errorf("%s: dial succeeded (%v)", name, err)
			continue
		}
		b, _ := io.ReadAll(res.Body)
		if res.StatusCode != c.status || string(b) != c.body {
			t.Errorf("%s: got %d %s, want %d %s", name, res.StatusCode, b, c.status, c.body)
		}
	}

	c := dial(t, url+"?access_token="+wsToken(t, "alice", 1500*time.Millisecond))
	expectClose(t, c, websocket.StatusPolicyViolation)
}

// A user's snapshot holds their rows however many rows of other users come
// first: the row policy limits the rows in SQL, before the snapshot's
// limit, as it limits the REST list. Bob's 1,200 rows come before
// alice's last one; alice's snapshot and list hold all six of hers, a
// limit of three gives three of hers, and none of bob's ever reaches her.
func TestSnapshotHoldsAUsersRowsBehindOthers(t *testing.T) {
	testkit.Each(t, nil, func(t *testing.T, db *gorm.DB) {
		srv := securedRealtime(t, db)
		alice := wsToken(t, "alice", time.Hour)
		mine := make([]OwnedNote, 5)
		for i := range mine {
			mine[i] = OwnedNote{Text: fmt.Sprintf("a%d", i), Owner: "alice"}
		}
		if err := db.Create(&mine).Error; err != nil {
			t.Fatal(err)
		}
		theirs := make([]OwnedNote, 1200)
		for i := range theirs {
			theirs[i] = OwnedNote{Text: fmt.Sprintf("b%d", i), Owner: "bob"}
		}
		if err := db.CreateInBatches(&theirs, 300).Error; err != nil {
			t.Fatal(err)
		}
		authed(t, srv, alice, "POST", "/owned_notes", `{"text":"a-newest"}`)

		var list []OwnedNote
		json.Unmarshal([]byte(authed(t, srv, alice, "GET", "/owned_notes", "")), &list)
		c := dial(t, wsURL(srv, "/ws/owned_notes")+"?access_token="+alice)
		send(t, c, `{"type":"subscribe"}`)
		ev := event(t, next(t, c))
		var snap []OwnedNote
		json.Unmarshal(ev.Data, &snap)
		for name, rows := range map[string][]OwnedNote{"list": list, "snapshot": snap} {
			if len(rows) != 6 || rows[5].Text != "a-newest" {
				t.Errorf("alice's %s holds %d rows (last %+v), want her 6 ending with a-newest", name, len(rows), rows[len(rows)-1:])
			}
			for _, r := range rows {
				if r.Owner != "alice" {
					t.Errorf("alice's %s holds %+v", name, r)
				}
			}
		}

		send(t, c, `{"type":"subscribe","limit":3}`)
		ev = event(t, next(t, c))
		if ev.Type != "initial" || !sameJSON(ev.Data, fmt.Sprintf(`[{"id":%d,"owner":"alice","text":"a0"},{"id":%d,"owner":"alice","text":"a1"},{"id":%d,"owner":"alice","text":"a2"}]`,
			mine[0].ID, mine[1].ID, mine[2].ID)) {
			t.Errorf("alice's snapshot of 3: %s %s", ev.Type, ev.Data)
		}
	})
}
