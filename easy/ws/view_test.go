package ws_test

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"gorm.io/gorm"

	"github.com/fastapi-easy/easy-go/easy/ws"
	"github.com/fastapi-easy/easy-go/internal/testkit"
)

// events reads n messages and returns each as "type id".
func events(t *testing.T, c *websocket.Conn, n int) []string {
	t.Helper()
	out := make([]string, n)
	for i := range out {
		ev := event(t, next(t, c))
		out[i] = ev.Type + " " + string(ev.ID)
	}
	return out
}

func sameEvents(t *testing.T, who string, got []string, want ...string) {
	t.Helper()
	if strings.Join(got, ", ") != strings.Join(want, ", ") {
		t.Fatalf("%s got\n  %s\nwant\n  %s", who, strings.Join(got, ", "), strings.Join(want, ", "))
	}
}

// A subscriber's view is the rows that pass its filter: an update that
// takes a row it holds out of the filter reaches it as a delete, one that
// brings a row in as an update, and updates of rows it neither holds nor
// wants reach it not at all. The last write of each sequence is a
// sentinel: the events read before it are all that came.
func TestFilteredSubscriptionSeesRowsLeaveAndEnter(t *testing.T) {
	testkit.Each(t, nil, func(t *testing.T, db *gorm.DB) {
		_, srv := realtimeApp(t, db)
		write(t, srv, "POST", "/products", `{"name":"apple","price":12}`)
		write(t, srv, "POST", "/products", `{"name":"pear","price":3}`)

		c := listen(t, srv, "products")
		send(t, c, `{"type":"subscribe","filter":{"price__gt":"10"}}`)
		if ev := event(t, next(t, c)); ev.Type != "initial" || !sameJSON(ev.Data, `[{"id":1,"name":"apple","price":12}]`) {
			t.Fatalf("initial: %+v %s", ev, ev.Data)
		}

		write(t, srv, "PATCH", "/products/2", `{"price":4}`)   // pear, never wanted: nothing
		write(t, srv, "PATCH", "/products/1", `{"price":5}`)   // apple leaves
		write(t, srv, "PATCH", "/products/1", `{"price":5.5}`) // apple, gone already: nothing
		write(t, srv, "PATCH", "/products/2", `{"price":20}`)  // pear enters
		write(t, srv, "PATCH", "/products/2", `{"price":21}`)  // pear changes
		write(t, srv, "DELETE", "/products/2", "")             // pear goes
		write(t, srv, "DELETE", "/products/1", "")             // apple, not held: nothing
		write(t, srv, "POST", "/products", `{"name":"fig","price":1}`)
		write(t, srv, "POST", "/products", `{"name":"kiwi","price":11}`)
		sameEvents(t, "the filtered subscriber", events(t, c, 5),
			"delete 1", "update 2", "update 2", "delete 2", "create 4")
	})
}

// A connection that narrowed its events with ?filter= but read no
// snapshot may hold any row (read over REST, say): every update that
// fails its filter reaches it as a delete, so that no row it holds stays
// stale. Creates that fail the filter still do not reach it.
func TestFilterWithoutSnapshotSendsDeletesForRowsThatFailIt(t *testing.T) {
	_, srv := realtimeApp(t, testkit.SQLite(t, nil))
	write(t, srv, "POST", "/products", `{"name":"pear","price":3}`)
	c := dial(t, wsURL(srv, "/ws/products?filter="+url.QueryEscape(`{"price__gt":"10"}`)))
	send(t, c, `{"type":"ping"}`)
	expect(t, c, `{"type":"pong"}`)

	write(t, srv, "PATCH", "/products/1", `{"price":4}`)
	write(t, srv, "POST", "/products", `{"name":"fig","price":1}`)
	write(t, srv, "PATCH", "/products/1", `{"price":40}`)
	sameEvents(t, "the connection", events(t, c, 2), "delete 1", "update 1")
}

// With a row scope, a row that leaves a user's scope (its owner changed
// by application code) reaches that user as a delete and the new owner as
// an update; nobody hears of a row outside their scope that they never
// held, whether they subscribed or not.
func TestRowLeavingAUsersScopeIsDeletedFromTheirView(t *testing.T) {
	testkit.Each(t, nil, func(t *testing.T, db *gorm.DB) {
		srv := securedRealtime(t, db)
		alice, bob := wsToken(t, "alice", time.Hour), wsToken(t, "bob", time.Hour)
		authed(t, srv, alice, "POST", "/owned_notes", `{"text":"a1"}`)
		authed(t, srv, bob, "POST", "/owned_notes", `{"text":"b1"}`)

		url := wsURL(srv, "/ws/owned_notes")
		as := func(token string) func(*websocket.DialOptions) {
			return func(o *websocket.DialOptions) { o.HTTPHeader = http.Header{"Authorization": {"Bearer " + token}} }
		}
		subscribed := map[string]*websocket.Conn{"alice": dial(t, url, as(alice)), "bob": dial(t, url, as(bob))}
		for who, c := range subscribed {
			send(t, c, `{"type":"subscribe"}`)
			if ev := event(t, next(t, c)); ev.Type != "initial" {
				t.Fatalf("%s: %+v", who, ev)
			}
		}
		following := dial(t, url, as(alice)) // no snapshot: what it holds is unknown
		send(t, following, `{"type":"ping"}`)
		expect(t, following, `{"type":"pong"}`)

		if err := db.Model(&OwnedNote{}).Where("id = ?", 1).Update("owner", "bob").Error; err != nil {
			t.Fatal(err)
		}
		authed(t, srv, bob, "PATCH", "/owned_notes/2", `{"text":"b1 changed"}`)
		authed(t, srv, bob, "POST", "/owned_notes", `{"text":"b2"}`)
		authed(t, srv, alice, "POST", "/owned_notes", `{"text":"a-last"}`) // after every write of bob's
		authed(t, srv, bob, "POST", "/owned_notes", `{"text":"b-last"}`)   // after alice's

		sameEvents(t, "alice, subscribed", events(t, subscribed["alice"], 2), "delete 1", "create 4")
		sameEvents(t, "alice, following", events(t, following, 1), "create 4")
		sameEvents(t, "bob, subscribed", events(t, subscribed["bob"], 4), "update 1", "update 2", "create 3", "create 5")
	})
}

// The delete that takes a row out of a view is the update's event for that
// subscriber: it carries the update's seq, and no data.
func TestLeaveCarriesTheEventsSeq(t *testing.T) {
	_, srv := realtimeApp(t, testkit.SQLite(t, nil))
	write(t, srv, "POST", "/products", `{"name":"apple","price":12}`)
	all := listen(t, srv, "products")
	send(t, all, `{"type":"ping"}`)
	expect(t, all, `{"type":"pong"}`)
	c := listen(t, srv, "products")
	send(t, c, `{"type":"subscribe","filter":{"price__gt":"10"}}`)
	event(t, next(t, c))

	write(t, srv, "PATCH", "/products/1", `{"price":5}`)
	update := event(t, next(t, all))
	want := fmt.Sprintf(`{"type":"delete","resource":"products","id":1,"seq":%d}`, update.Seq)
	if got := next(t, c); update.Type != "update" || got != want {
		t.Fatalf("everyone got %+v, the subscriber %s; want %s", update, got, want)
	}
}

// A subscription follows the rows of its view up to a bound; past it, it
// goes on as one whose rows are unknown, still right, with more deletes.
func TestSubscriptionPastTheBoundOnRowsSendsDeletesForAnyRowThatFails(t *testing.T) {
	t.Cleanup(ws.SetMaxHeld(2)) // first, so that it is undone after the app is closed
	_, srv := realtimeApp(t, testkit.SQLite(t, nil))
	for _, p := range []string{`{"name":"pear","price":3}`, `{"name":"apple","price":12}`} {
		write(t, srv, "POST", "/products", p)
	}
	c := listen(t, srv, "products")
	send(t, c, `{"type":"subscribe","filter":{"price__gt":"10"}}`)
	event(t, next(t, c)) // initial: apple, one row held

	write(t, srv, "PATCH", "/products/1", `{"price":4}`)             // pear, not held: nothing
	write(t, srv, "POST", "/products", `{"name":"fig","price":11}`)  // two held
	write(t, srv, "POST", "/products", `{"name":"kiwi","price":13}`) // past the bound
	write(t, srv, "PATCH", "/products/1", `{"price":5}`)             // pear, unknown now: a delete
	sameEvents(t, "the subscriber", events(t, c, 3), "create 3", "create 4", "delete 1")
}

// A subscription whose snapshot was cut ("more") goes on as one whose
// rows are partly unknown: its client may have read the rest from the
// REST list, and a row of those that leaves the filter reaches it as a
// delete.
func TestACutSnapshotsSubscriptionSendsDeletesForAnyRowThatFails(t *testing.T) {
	_, srv := realtimeApp(t, testkit.SQLite(t, nil))
	for _, p := range []string{`{"name":"apple","price":12}`, `{"name":"fig","price":11}`, `{"name":"pear","price":3}`} {
		write(t, srv, "POST", "/products", p)
	}
	c := listen(t, srv, "products")
	send(t, c, `{"type":"subscribe","filter":{"price__gt":"10"},"limit":1}`)
	if ev := event(t, next(t, c)); ev.Type != "initial" || !ev.More || !sameJSON(ev.Data, `[{"id":1,"name":"apple","price":12}]`) {
		t.Fatalf("initial: %+v %s, want apple and more", ev, ev.Data)
	}
	// The client reads fig from GET /products?price__gt=10&id__gt=1.
	write(t, srv, "PATCH", "/products/2", `{"price":4}`)             // fig leaves: a delete
	write(t, srv, "POST", "/products", `{"name":"kiwi","price":13}`) // the sentinel
	sameEvents(t, "the subscriber", events(t, c, 2), "delete 2", "create 4")
}

// A cut snapshot's rows are still held: under a row policy, a row the
// snapshot sent that leaves the user's scope (its owner changed by
// application code) reaches them as a delete, as a row of a whole
// snapshot does; a row past the cut, which the client may have read from
// the REST list, gets its delete when it leaves the filter. One past the
// cut that leaves the scope is not named to them: the server does not
// know they hold it, and they may no longer see it.
func TestACutSnapshotsRowsLeaveTheViewUnderAPolicy(t *testing.T) {
	testkit.Each(t, nil, func(t *testing.T, db *gorm.DB) {
		srv := securedRealtime(t, db)
		alice, bob := wsToken(t, "alice", time.Hour), wsToken(t, "bob", time.Hour)
		for _, text := range []string{"a1", "a2", "a3", "a4"} {
			authed(t, srv, alice, "POST", "/owned_notes", `{"text":"`+text+`"}`)
		}
		authed(t, srv, bob, "POST", "/owned_notes", `{"text":"b1"}`)
		c := dial(t, wsURL(srv, "/ws/owned_notes"), func(o *websocket.DialOptions) {
			o.HTTPHeader = http.Header{"Authorization": {"Bearer " + alice}}
		})
		send(t, c, `{"type":"subscribe","filter":{"text__startswith":"a"},"limit":2}`)
		if ev := event(t, next(t, c)); ev.Type != "initial" || !ev.More ||
			!sameJSON(ev.Data, `[{"id":1,"owner":"alice","text":"a1"},{"id":2,"owner":"alice","text":"a2"}]`) {
			t.Fatalf("initial: %+v %s, want a1, a2 and more", ev, ev.Data)
		}
		// alice reads a3 and a4 from GET /owned_notes?text__startswith=a.
		if err := db.Model(&OwnedNote{}).Where("id = ?", 1).Update("owner", "bob").Error; err != nil {
			t.Fatal(err) // a1, of the snapshot, leaves alice's scope: a delete
		}
		authed(t, srv, alice, "PATCH", "/owned_notes/3", `{"text":"x3"}`) // a3, past the cut, leaves the filter: a delete
		if err := db.Model(&OwnedNote{}).Where("id = ?", 4).Update("owner", "bob").Error; err != nil {
			t.Fatal(err) // a4, past the cut, leaves the scope: not named
		}
		authed(t, srv, alice, "POST", "/owned_notes", `{"text":"a-last"}`) // the sentinel
		sameEvents(t, "alice", events(t, c, 3), "delete 1", "delete 3", "create 6")
	})
}
