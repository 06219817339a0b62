package ws_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/fastapi-easy/easy-go/easy"
	"github.com/fastapi-easy/easy-go/easy/ws"
	"github.com/fastapi-easy/easy-go/internal/testkit"
)

// outboxRow is a row of an outbox table (easy_outbox_products for
// products) and the resource it is of.
type outboxRow struct {
	Resource string
	Seq      uint64
	Op       string
	RowKey   string
	RowData  *string
}

// outboxRows returns the rows of every outbox table, by resource and seq.
func outboxRows(t *testing.T, db *gorm.DB) []outboxRow {
	t.Helper()
	var selects []string
	for _, table := range testkit.Tables(t, db) {
		if resource, ok := strings.CutPrefix(table, "easy_outbox_"); ok && resource != "seq" {
			selects = append(selects, fmt.Sprintf("SELECT '%s' AS resource, seq, op, row_key, row_data FROM %s", resource, table))
		}
	}
	if len(selects) == 0 {
		t.Fatal("no outbox tables")
	}
	var rows []outboxRow
	if err := db.Raw(strings.Join(selects, " UNION ALL ") + " ORDER BY resource, seq").Scan(&rows).Error; err != nil {
		t.Fatal(err)
	}
	return rows
}

// TestOutboxHoldsExactlyTheCommittedEvents writes through every commit
// case the capture knows (single writes, a rollback, a savepoint rolled
// back inside a committed transaction, a bulk update, a soft delete) and
// checks that the outbox holds exactly the events the client received,
// with the same seqs.
func TestOutboxHoldsExactlyTheCommittedEvents(t *testing.T) {
	testkit.Each(t, nil, func(t *testing.T, db *gorm.DB) {
		app, srv := realtimeApp(t, db)
		db = app.DB()
		products := &stream{t: t, c: listen(t, srv, "products")}
		notes := &stream{t: t, c: listen(t, srv, "notes")}
		no := errors.New("no")

		db.Create(&Product{Name: "a", Price: 1})
		db.Transaction(func(tx *gorm.DB) error {
			tx.Create(&Product{Name: "rolled back"})
			return no
		})
		db.Transaction(func(tx *gorm.DB) error {
			tx.Create(&Product{Name: "b", Price: 2})
			tx.Transaction(func(tx *gorm.DB) error {
				tx.Create(&Product{Name: "savepoint rolled back"})
				return no
			})
			return nil
		})
		db.Model(&Product{}).Where("price > ?", 0).Update("price", 5)
		db.Create(&Note{Text: "n"})
		db.Delete(&Note{}, 1) // soft

		var b Product // its id is 2 on SQLite, which reuses the one rolled back; 3 on PostgreSQL
		if err := db.Where("name = ?", "b").First(&b).Error; err != nil {
			t.Fatal(err)
		}
		bid := strconv.Itoa(int(b.ID))
		var got []wire
		for _, e := range [][3]string{
			{"create", "1", `{"id":1,"name":"a","price":1}`},
			{"create", bid, `{"id":` + bid + `,"name":"b","price":2}`},
			{"update", "1", `{"id":1,"name":"a","price":5}`},
			{"update", bid, `{"id":` + bid + `,"name":"b","price":5}`},
		} {
			got = append(got, products.expect(e[0], e[1], e[2]))
		}
		got = append(got, notes.expect("create", "1", `{"id":1,"text":"n"}`))
		got = append(got, notes.expect("delete", "1", "-"))

		rows := outboxRows(t, db)
		if len(rows) != len(got) {
			t.Fatalf("outbox has %d rows, the clients got %d events: %+v", len(rows), len(got), rows)
		}
		// ORDER BY resource puts notes first.
		want := append(got[4:], got[:4]...)
		for i, row := range rows {
			w := want[i]
			data := ""
			if row.RowData != nil {
				data = *row.RowData
			}
			if row.Resource != w.Resource || row.Seq != w.Seq || row.Op != w.Type || row.RowKey != string(w.ID) || data != string(w.Data) {
				t.Errorf("outbox row %+v (data %s), event %+v", row, data, w)
			}
		}
		var deletes, withData int
		if err := db.Raw("SELECT COUNT(*), COUNT(row_data) FROM easy_outbox_notes WHERE op = 'delete'").Row().Scan(&deletes, &withData); err != nil || deletes != 1 || withData != 0 {
			t.Errorf("%d deletes in the outbox, %d of them with data (%v): want 1, with NULL", deletes, withData, err)
		}
		if db.Dialector.Name() == "sqlite" {
			// Key and data are written as bytes; SQLite keeps them as text
			// only because the INSERT casts them, for whoever reads the table.
			for _, table := range []string{"easy_outbox_products", "easy_outbox_notes"} {
				var blobs int
				err := db.Raw("SELECT COUNT(*) FROM " + table + " WHERE typeof(row_key) <> 'text' OR typeof(row_data) NOT IN ('text', 'null')").Scan(&blobs).Error
				if err != nil || blobs != 0 {
					t.Errorf("%s: %d rows hold a key or data that is not text (%v)", table, blobs, err)
				}
			}
		}
	})
}

// TestOutboxStaysBoundedUnderLoad writes as fast as four writers can and
// checks that the table never holds many more than the history size, and
// that what it holds ends at exactly that: the latest events.
func TestOutboxStaysBoundedUnderLoad(t *testing.T) {
	defer ws.SetOutboxTrimEvery(50 * time.Millisecond)()
	testkit.Each(t, nil, func(t *testing.T, db *gorm.DB) {
		const keep, writers, each = 50, 4, 500
		app := easy.New(easy.DB(db), easy.Logger(slog.New(slog.NewTextHandler(io.Discard, nil))))
		app.Include(easy.CRUDRouter[Product]())
		m := ws.NewManager(ws.Heartbeat(0), ws.HistorySize(keep))
		m.Watch(app, Product{})
		t.Cleanup(func() { app.Close(context.Background()) })
		db = app.DB()
		count := func() int {
			var n int
			if err := db.Raw("SELECT COUNT(*) FROM easy_outbox_products").Scan(&n).Error; err != nil {
				t.Error(err)
			}
			return n
		}

		stop := make(chan struct{})
		peak := 0
		sampled := make(chan struct{})
		go func() {
			defer close(sampled)
			for {
				select {
				case <-stop:
					return
				case <-time.After(5 * time.Millisecond):
				}
				peak = max(peak, count())
			}
		}()
		var wg sync.WaitGroup
		for w := range writers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range each {
					if err := db.Create(&Product{Name: fmt.Sprintf("%d-%d", w, i)}).Error; err != nil {
						t.Error(err)
						return
					}
				}
			}()
		}
		wg.Wait()
		close(stop)
		<-sampled

		// The trimmer wakes after half a history (at least 64) of writes;
		// while it deletes, writers go on, and on a loaded machine (the race
		// detector, other packages' tests) it may be scheduled late. Ten
		// times the history size is a bound that leaves room for that, and
		// that an unbounded table passes in its first quarter of the writes.
		if peak > 10*keep {
			t.Errorf("the outbox held %d rows at its peak, for a history of %d", peak, keep)
		}
		eventually(t, "the outbox trimmed to the history size", func() bool { return count() == keep })
		rows := outboxRows(t, db)
		last := m.Seq("products")
		if rows[0].Seq != last-keep+1 || rows[len(rows)-1].Seq != last {
			t.Errorf("the outbox holds seqs %d to %d, want the last %d up to %d", rows[0].Seq, rows[len(rows)-1].Seq, keep, last)
		}
		t.Logf("%d writes, peak %d rows", writers*each, peak)
	})
}

// TestOutboxForgetsOldEvents checks the age bound: an idle table ends
// with only the latest event of each resource, the one the next start
// numbers from.
func TestOutboxForgetsOldEvents(t *testing.T) {
	defer ws.SetOutboxTrimEvery(20 * time.Millisecond)()
	testkit.Each(t, nil, func(t *testing.T, db *gorm.DB) {
		app := easy.New(easy.DB(db), easy.Logger(slog.New(slog.NewTextHandler(io.Discard, nil))))
		app.Include(easy.CRUDRouter[Product]())
		m := ws.NewManager(ws.Heartbeat(0), ws.OutboxMaxAge(100*time.Millisecond))
		m.Watch(app, Product{})
		t.Cleanup(func() { app.Close(context.Background()) })
		db = app.DB()
		for i := range 20 {
			db.Create(&Product{Name: strconv.Itoa(i)})
		}
		eventually(t, "one row left", func() bool { return len(outboxRows(t, db)) == 1 })
		if rows := outboxRows(t, db); rows[0].Seq != m.Seq("products") {
			t.Errorf("kept seq %d, want the last, %d", rows[0].Seq, m.Seq("products"))
		}
	})
}

// TestOutboxTrimsByAgeOnlyTheOldest: a row's time is the wall clock's
// when it was written, and after the clock was set back a row may look
// older than the one before it. The trim by age deletes the oldest rows,
// up to the newest that is too old, and never that row alone: the table
// keeps one seq after the other.
func TestOutboxTrimsByAgeOnlyTheOldest(t *testing.T) {
	defer ws.SetOutboxTrimEvery(20 * time.Millisecond)()
	testkit.Each(t, nil, func(t *testing.T, db *gorm.DB) {
		app := easy.New(easy.DB(db), easy.Logger(slog.New(slog.NewTextHandler(io.Discard, nil))))
		app.Include(easy.CRUDRouter[Product]())
		m := ws.NewManager(ws.Heartbeat(0), ws.OutboxMaxAge(time.Hour))
		m.Watch(app, Product{})
		t.Cleanup(func() { app.Close(context.Background()) })
		db = app.DB()
		db.Create(&Product{Name: "p1"})
		first := m.Seq("products")
		for i := 2; i <= 5; i++ {
			db.Create(&Product{Name: "p" + strconv.Itoa(i)})
		}
		// The third row was written while the clock was two hours behind.
		if err := db.Exec("UPDATE easy_outbox_products SET created = ? WHERE seq = ?",
			time.Now().Add(-2*time.Hour).UnixMicro(), first+2).Error; err != nil {
			t.Fatal(err)
		}
		eventually(t, "the trim", func() bool { return len(outboxRows(t, db)) < 5 })
		var seqs []uint64
		for _, r := range outboxRows(t, db) {
			seqs = append(seqs, r.Seq)
		}
		if want := []uint64{first + 3, first + 4}; !slices.Equal(seqs, want) {
			t.Errorf("after the trim the table holds %v, want %v", seqs, want)
		}
	})
}

// TestOutboxWithAHoleResumesOrResets: a table read back at start with a
// hole in it (a row deleted out of turn) gives the history the events
// after the hole: a client that resumes from before the hole gets a
// reset, one that resumes after it gets the events, and the App closes.
func TestOutboxWithAHoleResumesOrResets(t *testing.T) {
	for _, kind := range []string{"sqlite", "postgres"} {
		t.Run(kind, func(t *testing.T) {
			start := twoStarts(t, kind)
			m, app, _ := start()
			db := app.DB()
			db.Create(&Product{Name: "p1", Price: 1})
			since := m.Seq("products")
			for i := 2; i <= 5; i++ {
				db.Create(&Product{Name: "p" + strconv.Itoa(i), Price: float64(i)})
			}
			if err := db.Exec("DELETE FROM easy_outbox_products WHERE seq = ?", since+2).Error; err != nil {
				t.Fatal(err)
			}
			app.Close(context.Background())

			_, app, url := start()
			before := dial(t, url+"?since="+strconv.FormatUint(since, 10))
			if w := receive(t, before); w.Type != ws.TypeReset {
				t.Errorf("resumed from before the hole: %+v, want a reset", w)
			}
			after := &stream{t: t, c: dial(t, url+"?since="+strconv.FormatUint(since+2, 10)), last: since + 2}
			after.expect("create", "4", `{"id":4,"name":"p4","price":4}`)
			after.expect("create", "5", `{"id":5,"name":"p5","price":5}`)

			closed := make(chan struct{})
			go func() { app.Close(context.Background()); close(closed) }()
			select {
			case <-closed:
			case <-time.After(10 * time.Second):
				t.Fatal("the App did not close in 10 s")
			}
		})
	}
}

// TestOutboxPublishBesideAnOpenWriteOnSQLite: Manager.Publish on a
// watched resource while a write transaction is open on SQLite waits for
// that transaction, which commits at once, and then publishes. It took
// the commit lock before SQLite's write lock, which the writer held while
// it waited for the commit lock: the two waited for each other until the
// busy timeout (5 s), and the published events were lost.
func TestOutboxPublishBesideAnOpenWriteOnSQLite(t *testing.T) {
	db := testkit.SQLite(t, nil)
	app := easy.New(easy.DB(db), easy.Logger(slog.New(slog.NewTextHandler(io.Discard, nil))))
	app.Include(easy.CRUDRouter[Product]())
	m := ws.NewManager(ws.Heartbeat(0))
	m.Watch(app, Product{})
	srv := testkit.Serve(t, app)
	t.Cleanup(func() { app.Close(context.Background()) })
	db = app.DB()
	db.Create(&Product{Name: "a", Price: 1})
	s := &stream{t: t, c: listen(t, srv, "products"), last: m.Seq("products")}

	tx := db.Begin() // SQLite's write lock is the transaction's from here (BEGIN IMMEDIATE)
	if err := tx.Create(&Product{Name: "b", Price: 2}).Error; err != nil {
		t.Fatal(err)
	}
	published := make(chan struct{})
	go func() {
		m.Publish("products", ws.Change{Op: ws.TypeUpdate, Key: 1, Data: []byte(`{"id":1,"name":"a","price":9}`)})
		close(published)
	}()
	time.Sleep(200 * time.Millisecond) // Publish is under way
	began := time.Now()
	if err := tx.Commit().Error; err != nil {
		t.Fatalf("commit: %v", err)
	}
	if took := time.Since(began); took > 2*time.Second {
		t.Errorf("the commit waited %v for a Publish that waited for it", took)
	}
	<-published
	s.expect("create", "2", `{"id":2,"name":"b","price":2}`)
	s.expect("update", "1", `{"id":1,"name":"a","price":9}`)
}

// Child has a foreign key checked at COMMIT, so that a COMMIT can fail
// after the outbox was written.
type Child struct {
	ID       uint `json:"id" gorm:"primaryKey"`
	ParentID uint `json:"parent_id"`
}

// TestOutboxAfterAFailedCommit: a COMMIT that fails after the outbox rows
// were written (a deferred foreign key) leaves no event and no hole in
// the seqs.
func TestOutboxAfterAFailedCommit(t *testing.T) {
	testkit.Each(t, nil, func(t *testing.T, db *gorm.DB) {
		for _, q := range []string{
			"CREATE TABLE products (id INTEGER PRIMARY KEY, name TEXT, price REAL)",
			"CREATE TABLE children (id INTEGER PRIMARY KEY, parent_id INTEGER REFERENCES products(id) DEFERRABLE INITIALLY DEFERRED)",
		} {
			if err := db.Exec(q).Error; err != nil {
				t.Fatal(err)
			}
		}
		app := easy.New(easy.DB(db), easy.Logger(slog.New(slog.NewTextHandler(io.Discard, nil))), easy.NoMigrate())
		ws.NewManager(ws.Heartbeat(0)).Watch(app, Child{}, Product{})
		srv := testkit.Serve(t, app)
		t.Cleanup(func() { app.Close(context.Background()) })
		children := &stream{t: t, c: listen(t, srv, "children")}
		db = app.DB()

		if err := db.Create(&Product{ID: 1, Name: "p"}).Error; err != nil {
			t.Fatal(err)
		}
		if err := db.Create(&Child{ID: 1, ParentID: 1}).Error; err != nil {
			t.Fatal(err)
		}
		first := children.expect("create", "1", `{"id":1,"parent_id":1}`)
		if err := db.Create(&Child{ID: 2, ParentID: 99}).Error; err == nil {
			t.Fatal("a child of no parent was committed")
		}
		if err := db.Create(&Child{ID: 3, ParentID: 1}).Error; err != nil {
			t.Fatal(err)
		}
		if w := children.expect("create", "3", `{"id":3,"parent_id":1}`); w.Seq != first.Seq+1 {
			t.Fatalf("seq %d after %d", w.Seq, first.Seq)
		}
		var seqs []uint64
		db.Raw("SELECT seq FROM easy_outbox_children ORDER BY seq").Scan(&seqs)
		if len(seqs) != 2 || seqs[0] != first.Seq || seqs[1] != first.Seq+1 {
			t.Fatalf("outbox seqs %v, want %d and %d", seqs, first.Seq, first.Seq+1)
		}
	})
}

// TestOutboxResumesAcrossARestart publishes through writes and through
// Manager.Publish (a change that is no database write), restarts the app
// on the same database, and resumes with ?since: the events after it come
// from the table, with their seqs, and the stream goes on from there.
func TestOutboxResumesAcrossARestart(t *testing.T) {
	for _, kind := range []string{"sqlite", "postgres"} {
		t.Run(kind, func(t *testing.T) { resumeAcrossARestart(t, kind) })
	}
}

// twoStarts returns a function that starts the products app on a database
// of kind, twice at most, each time on a connection of its own to the same
// database, and returns its Manager, the App and the URL of /ws/products.
func twoStarts(t *testing.T, kind string) func() (*ws.Manager, *easy.App, string) {
	first, second := sameDatabase(t, kind)
	dbs := []*gorm.DB{first, second}
	return func() (*ws.Manager, *easy.App, string) {
		app := easy.New(easy.DB(dbs[0]), easy.Logger(slog.New(slog.NewTextHandler(io.Discard, nil))))
		dbs = dbs[1:]
		app.Include(easy.CRUDRouter[Product]())
		m := ws.NewManager(ws.Heartbeat(0))
		m.Watch(app, Product{})
		srv := testkit.Serve(t, app)
		return m, app, "ws" + srv.URL[len("http"):] + "/ws/products"
	}
}

func resumeAcrossARestart(t *testing.T, kind string) {
	start := twoStarts(t, kind)
	m, app, url := start()
	db := app.DB()
	db.Create(&Product{Name: "a", Price: 1})
	since := m.Seq("products")
	db.Create(&Product{Name: "b", Price: 2})
	m.Publish("products", ws.Change{Op: ws.TypeUpdate, Key: 1, Data: []byte(`{"id":1,"name":"a","price":9}`)})
	db.Delete(&Product{}, 2)
	last := m.Seq("products")
	if last != since+3 {
		t.Fatalf("seq %d, want %d", last, since+3)
	}
	app.Close(context.Background())

	m, app, url = start()
	t.Cleanup(func() { app.Close(context.Background()) })
	if got := m.Seq("products"); got != last {
		t.Fatalf("after the restart seq %d, want %d", got, last)
	}
	s := &stream{t: t, c: dial(t, url+"?since="+strconv.FormatUint(since, 10)), last: since}
	s.expect("create", "2", `{"id":2,"name":"b","price":2}`)
	s.expect("update", "1", `{"id":1,"name":"a","price":9}`)
	s.expect("delete", "2", "-")
	app.DB().Create(&Product{Name: "c", Price: 3})
	s.expect("create", "3", `{"id":3,"name":"c","price":3}`)
}

// TestOutboxLeavesOtherResourcesAlone: a resource added with AddResource
// beside the watched ones publishes from memory, as without the outbox.
func TestOutboxLeavesOtherResourcesAlone(t *testing.T) {
	db := testkit.SQLite(t, nil)
	app := easy.New(easy.DB(db), easy.Logger(slog.New(slog.NewTextHandler(io.Discard, nil))))
	app.Include(easy.CRUDRouter[Product]())
	m := ws.NewManager(ws.Heartbeat(0))
	m.Watch(app, Product{})
	m.AddResource("ticks", nil)
	t.Cleanup(func() { app.Close(context.Background()) })
	srv := testkit.Serve(t, app)
	ticks := &stream{t: t, c: listen(t, srv, "ticks")}
	base := m.Seq("ticks")
	for i := range 3 {
		m.Publish("ticks", ws.Change{Op: ws.TypeCreate, Key: i, Data: []byte(`{"n":` + strconv.Itoa(i) + `}`)})
	}
	for i := range 3 {
		if w := ticks.expect("create", strconv.Itoa(i), `{"n":`+strconv.Itoa(i)+`}`); w.Seq != base+uint64(i)+1 {
			t.Fatalf("seq %d, want %d", w.Seq, base+uint64(i)+1)
		}
	}
	if rows := outboxRows(t, app.DB()); len(rows) != 0 {
		t.Errorf("the outbox holds %+v", rows)
	}
}

// An App whose SQLite pool has one connection, as many SQLite set-ups
// do: the outbox writes in the writer's own transaction, on its
// connection, so a watched write does not wait inside its transaction for
// a second connection (it did, for ever, when the outbox's INSERT was
// prepared at its first use on the pool).
func TestOutboxOnAPoolOfOneConnection(t *testing.T) {
	db := testkit.SQLite(t, nil)
	sqlDB, err := db.DB()
	if err != nil {
		t.Fatal(err)
	}
	sqlDB.SetMaxOpenConns(1)
	app, srv := realtimeApp(t, db)
	products := &stream{t: t, c: listen(t, srv, "products")}
	if status, body := timedRequest(t, srv, "POST", "/products", `{"name":"a","price":1}`); status != 201 {
		t.Fatalf("POST: %d %s", status, body)
	}
	products.expect("create", "1", `{"id":1,"name":"a","price":1}`)
	if rows := outboxRows(t, app.DB()); len(rows) != 1 || rows[0].Op != "create" {
		t.Fatalf("outbox rows %+v, want the create", rows)
	}
}

// TestOutboxWritesTextInEveryPgxMode writes and deletes a row through the
// outbox on PostgreSQL with each of pgx's exec modes (behind PgBouncer a
// DATABASE_URL may ask for simple_protocol): the table holds the key and
// the data as the client gets them, and NULL for a delete's data.
func TestOutboxWritesTextInEveryPgxMode(t *testing.T) {
	for _, mode := range []string{"cache_statement", "cache_describe", "describe_exec", "exec", "simple_protocol"} {
		t.Run(mode, func(t *testing.T) {
			db := testkit.Reopen(t, testkit.Postgres(t, nil), url.Values{"default_query_exec_mode": {mode}})
			app, srv := realtimeApp(t, db)
			db = app.DB()
			products := &stream{t: t, c: listen(t, srv, "products")}
			db.Create(&Product{Name: "a", Price: 1})
			db.Delete(&Product{}, 1)
			created := products.expect("create", "1", `{"id":1,"name":"a","price":1}`)
			deleted := products.expect("delete", "1", "-")
			rows := outboxRows(t, db)
			if len(rows) != 2 || rows[0].RowKey != "1" || rows[0].RowData == nil || *rows[0].RowData != string(created.Data) ||
				rows[1].Seq != deleted.Seq || rows[1].RowKey != "1" || rows[1].RowData != nil {
				t.Errorf("the outbox holds %+v", rows)
			}
		})
	}
}

// TestOutboxRelayReadsTheResourcesCommittedTo: with a broker, a commit
// wakes the outbox relay for its own resource, and the pass reads that
// resource's outbox table alone. The test sees which tables a pass reads
// by locking another resource's table: a pass that read it would wait on
// the lock, and the first resource's events would stop reaching the
// broker, by the second commit whatever order the tables were read in.
// (The timer's pass, which reads every table, is put off for the test.)
func TestOutboxRelayReadsTheResourcesCommittedTo(t *testing.T) {
	// Put back once the App has closed (cleanups run last first). Only
	// commits wake the relay, and a read of the locked table would wait
	// longer than the test does.
	t.Cleanup(ws.SetOutboxRelayPoll(time.Hour))
	t.Cleanup(ws.SetOutboxRelayStep(time.Minute))
	app, tail, lockNotes := relayOnPostgres(t)
	create := func(row any, resource string) {
		t.Helper()
		before := tail(resource)
		if err := app.DB().Create(row).Error; err != nil {
			t.Fatal(err)
		}
		eventually(t, "the broker has the event of "+resource, func() bool { return tail(resource) == before+1 })
	}
	create(&Product{Name: "a", Price: 1}, "products") // the relay's first pass reads every table
	create(&Note{Text: "a"}, "notes")

	lock := lockNotes()
	create(&Product{Name: "b", Price: 2}, "products")
	create(&Product{Name: "c", Price: 3}, "products")
	if err := lock.Rollback(); err != nil {
		t.Fatal(err)
	}
	create(&Note{Text: "b"}, "notes")
}

// A table another session holds locked holds up the relay's passes no
// longer than a step's bound: the full passes (here every 20 ms) go on to
// the other resources' tables, and the locked one's events follow once
// the lock is gone.
func TestOutboxRelayGoesOnPastALockedTable(t *testing.T) {
	// Put back once the App has closed (cleanups run last first): its
	// relay reads them until then.
	t.Cleanup(ws.SetOutboxRelayPoll(20 * time.Millisecond))
	t.Cleanup(ws.SetOutboxRelayStep(200 * time.Millisecond))
	app, tail, lockNotes := relayOnPostgres(t)
	lock := lockNotes()
	time.Sleep(100 * time.Millisecond) // full passes meet the lock
	before := tail("products")
	for i := range 3 {
		if err := app.DB().Create(&Product{Name: fmt.Sprint("p", i), Price: 1}).Error; err != nil {
			t.Fatal(err)
		}
	}
	eventually(t, "the broker has the products' events", func() bool { return tail("products") == before+3 })
	if err := lock.Rollback(); err != nil {
		t.Fatal(err)
	}
	before = tail("notes")
	if err := app.DB().Create(&Note{Text: "n"}).Error; err != nil {
		t.Fatal(err)
	}
	eventually(t, "the broker has the note's event", func() bool { return tail("notes") == before+1 })
}

// relayOnPostgres returns an App on PostgreSQL that watches Product and
// Note through a memory broker, the broker's last seq of a resource, and
// a function that locks the notes' outbox table in a transaction of its
// own (rolled back, if the test has not, before the App closes: its relay
// may wait on the lock).
func relayOnPostgres(t *testing.T) (app *easy.App, tail func(resource string) uint64, lockNotes func() *sql.Tx) {
	db := testkit.Postgres(t, nil)
	sqlDB, err := db.DB()
	if err != nil {
		t.Fatal(err)
	}
	app = easy.New(easy.DB(db), easy.Logger(slog.New(slog.NewTextHandler(io.Discard, nil))))
	app.Include(easy.CRUDRouter[Product](), easy.CRUDRouter[Note]())
	broker := ws.NewMemoryBroker()
	ws.NewManager(ws.Heartbeat(0), ws.ShareVia(broker)).Watch(app, Product{}, Note{})
	testkit.Serve(t, app)
	t.Cleanup(func() { app.Close(context.Background()) })
	ctx := context.Background()
	tail = func(resource string) uint64 {
		seq, _, err := broker.Tail(ctx, resource, 0)
		if err != nil {
			t.Fatal(err)
		}
		return seq
	}
	lockNotes = func() *sql.Tx {
		lock, err := sqlDB.BeginTx(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { lock.Rollback() })
		if _, err := lock.ExecContext(ctx, "LOCK TABLE easy_outbox_notes IN ACCESS EXCLUSIVE MODE"); err != nil {
			t.Fatal(err)
		}
		return lock
	}
	return app, tail, lockNotes
}

// TestTwoInstancesWritingTwoResourcesAtOnceDoNotDeadlock: with a broker,
// a commit that writes two watched resources takes their counters' row
// locks, and two instances committing such writes at once must take them
// in one order (PostgreSQL would end one of the two with a deadlock).
func TestTwoInstancesWritingTwoResourcesAtOnceDoNotDeadlock(t *testing.T) {
	da, db := sameDatabase(t, "postgres")
	broker := ws.NewMemoryBroker()
	var apps []*easy.App
	for _, d := range []*gorm.DB{da, db} {
		app := easy.New(easy.DB(d), easy.Logger(slog.New(slog.NewTextHandler(io.Discard, nil))))
		app.Include(easy.CRUDRouter[Product](), easy.CRUDRouter[Note]())
		ws.NewManager(ws.Heartbeat(0), ws.ShareVia(broker)).Watch(app, Product{}, Note{})
		t.Cleanup(func() { app.Close(context.Background()) })
		apps = append(apps, app)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 2)
	for _, app := range apps {
		wg.Go(func() {
			for i := range 200 {
				err := app.DB().Transaction(func(tx *gorm.DB) error {
					if err := tx.Create(&Product{Name: fmt.Sprint("p", i), Price: 1}).Error; err != nil {
						return err
					}
					return tx.Create(&Note{Text: fmt.Sprint("n", i)}).Error
				})
				if err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}
