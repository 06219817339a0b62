package ws_test

import (
	"context"
	"database/sql"
	"errors"
	"io"
	"log/slog"
	"net/http/httptest"
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

// processApp starts an app on db that watches products, as the server and
// a job built from it each do, without a broker.
func processApp(t *testing.T, db *gorm.DB) (*ws.Manager, *easy.App) {
	t.Helper()
	app := easy.New(easy.DB(db), easy.Logger(slog.New(slog.NewTextHandler(io.Discard, nil))))
	app.Include(easy.CRUDRouter[Product]())
	m := ws.NewManager(ws.Heartbeat(0))
	m.Watch(app, Product{})
	t.Cleanup(func() { app.Close(context.Background()) })
	return m, app
}

// serverThenJob starts the server's app on a database of kind, with a
// client of /ws/products that has the create of product 1, then a job
// built from the same app on the same database (it reads the same last
// seq), which creates product 2.
func serverThenJob(t *testing.T, kind string) (*ws.Manager, *easy.App, *httptest.Server, *stream) {
	t.Helper()
	serverDB, jobDB := sameDatabase(t, kind)
	server, serverApp := processApp(t, serverDB)
	srv := testkit.Serve(t, serverApp)
	s := &stream{t: t, c: dial(t, "ws"+srv.URL[len("http"):]+"/ws/products")}
	if err := serverApp.DB().Create(&Product{Name: "a", Price: 1}).Error; err != nil {
		t.Fatal(err)
	}
	s.expect("create", "1", "")
	_, jobApp := processApp(t, jobDB)
	if err := jobApp.DB().Create(&Product{Name: "from job", Price: 2}).Error; err != nil {
		t.Fatalf("job's write: %v", err)
	}
	return server, serverApp, srv, s
}

// processes are a server's app and a job's on one database, both started
// before either writes, with a client of the server's /ws/products.
type processes struct {
	server, job       *ws.Manager
	serverApp, jobApp *easy.App
	srv               *httptest.Server // the server's
	s                 *stream
}

// twoProcesses starts processes on a database of kind.
func twoProcesses(t *testing.T, kind string) processes {
	t.Helper()
	serverDB, jobDB := sameDatabase(t, kind)
	var p processes
	p.server, p.serverApp = processApp(t, serverDB)
	p.job, p.jobApp = processApp(t, jobDB)
	p.srv = testkit.Serve(t, p.serverApp)
	p.s = &stream{t: t, c: dial(t, "ws"+p.srv.URL[len("http"):]+"/ws/products")}
	return p
}

// createProduct creates a product named name through app.
func createProduct(t *testing.T, app *easy.App, name string) {
	t.Helper()
	if err := app.DB().Create(&Product{Name: name, Price: 1}).Error; err != nil {
		t.Fatalf("create %s: %v", name, err)
	}
}

// TestSecondProcessOnOneDatabaseLeavesWritesWorking: without a broker a
// job built from the app (or a second replica) writes to the database the
// server writes to, as realtime.md advises for writes made while the
// server is down. Each numbered its outbox rows from its own memory, so
// the server's next write took the seq the job had taken: its outbox
// INSERT broke the primary key and the write failed with 409, and every
// later one too.
func TestSecondProcessOnOneDatabaseLeavesWritesWorking(t *testing.T) {
	t.Cleanup(ws.SetOutboxFollowEvery(time.Hour)) // the server learns of the job's write only by writing
	for _, kind := range []string{"sqlite", "postgres"} {
		t.Run(kind, func(t *testing.T) {
			server, serverApp, srv, s := serverThenJob(t, kind)
			if err := serverApp.DB().Create(&Product{Name: "c", Price: 3}).Error; err != nil {
				t.Errorf("the server's write failed because a job wrote through ws.Setup meanwhile: %v", err)
			}
			var n int64
			serverApp.DB().Model(&Product{}).Where("name = ?", "c").Count(&n)
			if n != 1 {
				t.Errorf("row c stored: %d rows, want 1", n)
			}
			for i := range 3 {
				code, body := request(t, srv, "POST", "/products", `{"name":"later","price":1}`)
				if code != 201 {
					t.Errorf("POST /products #%d after the job's write: %d %s", i, code, body)
				}
			}
			// The server's client gets the job's event before the server's own, with no gap.
			s.expect("create", "2", `{"id":2,"name":"from job","price":2}`)
			s.expect("create", "3", "")
			for _, id := range []string{"4", "5", "6"} {
				s.expect("create", id, "")
			}
			if got := server.Seq("products"); got != s.last {
				t.Errorf("server seq %d, its client's last %d", got, s.last)
			}
		})
	}
}

// TestServerSendsAnotherProcessesEvents: the server's WebSocket client
// receives the events another process on the same database commits, in
// seq order with no gap and no duplicate: when the server writes nothing
// (its follower reads the table), and interleaved with its own writes
// (each of its commits delivers what came before it first). Both start on
// an empty outbox: the client gets one reset when the server adopts the
// numbers of the job, which wrote first.
func TestServerSendsAnotherProcessesEvents(t *testing.T) {
	t.Cleanup(ws.SetOutboxFollowEvery(50 * time.Millisecond))
	for _, kind := range []string{"sqlite", "postgres"} {
		t.Run(kind, func(t *testing.T) {
			p := twoProcesses(t, kind)
			server, job, serverApp, jobApp, s := p.server, p.job, p.serverApp, p.jobApp, p.s
			// Both started on an empty outbox, each on a seq of its own: the
			// first write sets the log's, and the other process adopts it.
			createProduct(t, jobApp, "job 1")
			if w := receive(t, s.c); w.Type != "reset" {
				t.Fatalf("got %+v, want reset: the server adopts the job's numbers", w)
			}
			s.last = job.Seq("products")
			createProduct(t, serverApp, "server 2")
			s.expect("create", "2", "")
			createProduct(t, jobApp, "job 3") // the server writes nothing: its follower finds it
			s.expect("create", "3", `{"id":3,"name":"job 3","price":1}`)
			for i := range 20 { // job and server in turn, then bursts of the job's
				createProduct(t, jobApp, "job")
				if i%4 != 3 {
					createProduct(t, serverApp, "server")
				}
			}
			for id := 4; id < 4+20+15; id++ { // in commit order, which is the ids' here
				s.expect("create", strconv.Itoa(id), "")
			}
			if got, want := server.Seq("products"), s.last; got != want {
				t.Errorf("server seq %d, its client's last %d", got, want)
			}
			createProduct(t, jobApp, "last")
			s.expect("create", "39", `{"id":39,"name":"last","price":1}`)
			if got, want := job.Seq("products"), s.last; got != want {
				t.Errorf("job seq %d, the server's client's last %d", got, want)
			}
		})
	}
}

// TestStaleSnapshotCommitFailsWithoutAConflict: on PostgreSQL a
// transaction at REPEATABLE READ cannot see a commit of another process
// made after its snapshot, nor the seq that commit took. Its own commit
// then fails with an error that says to retry it (not a unique violation,
// which the CRUD router would report as 409), it neither hangs nor drops
// an event, and the next write goes on after the other process's event.
func TestStaleSnapshotCommitFailsWithoutAConflict(t *testing.T) {
	t.Cleanup(ws.SetOutboxFollowEvery(time.Hour))
	p := twoProcesses(t, "postgres")
	serverApp, jobApp, srv, s := p.serverApp, p.jobApp, p.srv, p.s
	createProduct(t, serverApp, "a")
	s.expect("create", "1", "")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err := serverApp.DB().WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var n int64
		if err := tx.Model(&Product{}).Count(&n).Error; err != nil { // takes the snapshot
			return err
		}
		if err := jobApp.DB().Create(&Product{Name: "from job", Price: 2}).Error; err != nil {
			t.Fatalf("job's write: %v", err)
		}
		return tx.Create(&Product{Name: "stale", Price: 3}).Error
	}, &sql.TxOptions{Isolation: sql.LevelRepeatableRead})
	if err == nil || !strings.Contains(err.Error(), "retry the transaction") {
		t.Fatalf("commit at REPEATABLE READ after another process's: %v, want the error that says to retry", err)
	}
	var pg interface{ SQLState() string }
	if errors.As(err, &pg) {
		t.Errorf("the error unwraps to SQLSTATE %s: the CRUD router would take it for the client's", pg.SQLState())
	}
	code, body := request(t, srv, "POST", "/products", `{"name":"retried","price":3}`)
	if code != 201 {
		t.Fatalf("POST /products after the failed commit: %d %s", code, body)
	}
	s.expect("create", "2", `{"id":2,"name":"from job","price":2}`)
	s.expect("create", "4", `{"id":4,"name":"retried","price":3}`) // id 3 went with the rolled-back insert
}

// TestPublishAfterAnotherProcessesWrite: Manager.Publish on a watched
// resource numbers its events after those another process wrote, as a
// write does, and delivers those first. It numbered from memory, took the
// seq of the job's event, and its events were dropped (only logged).
func TestPublishAfterAnotherProcessesWrite(t *testing.T) {
	t.Cleanup(ws.SetOutboxFollowEvery(time.Hour)) // the server learns of the job's write only by publishing
	for _, kind := range []string{"sqlite", "postgres"} {
		t.Run(kind, func(t *testing.T) {
			server, _, _, s := serverThenJob(t, kind)
			server.Publish("products", ws.Change{Op: ws.TypeUpdate, Key: 1, Data: []byte(`{"id":1,"name":"a","price":9}`)})
			s.expect("create", "2", `{"id":2,"name":"from job","price":2}`)
			s.expect("update", "1", `{"id":1,"name":"a","price":9}`)
			if got := server.Seq("products"); got != s.last {
				t.Errorf("server seq %d, its client's last %d", got, s.last)
			}
		})
	}
}

// TestFirstWriteBesideAnotherProcessesOnPostgreSQL: on PostgreSQL a
// process that has not yet seen another writes with insertIfLast, which
// waits for no lock. While another process numbers an event (here raw SQL
// that does what claim does: the lock, the last seq, the INSERT) and has
// not committed, the write goes on once it has, with the next seq. It read
// the same last seq, met the other's row on the primary key, and failed.
func TestFirstWriteBesideAnotherProcessesOnPostgreSQL(t *testing.T) {
	t.Cleanup(ws.SetOutboxFollowEvery(time.Hour))
	serverDB, jobDB := sameDatabase(t, "postgres")
	_, serverApp := processApp(t, serverDB)
	processApp(t, jobDB)
	if err := serverApp.DB().Create(&Product{Name: "a", Price: 1}).Error; err != nil {
		t.Fatal(err)
	}
	raw, err := jobDB.DB()
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	tx, err := raw.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, "SELECT pg_advisory_xact_lock(hashtext('easy_outbox'), hashtext($1))", "easy_outbox_products"); err != nil {
		t.Fatal(err)
	}
	var last int64
	if err := tx.QueryRowContext(ctx, "SELECT MAX(seq) FROM easy_outbox_products").Scan(&last); err != nil {
		t.Fatal(err)
	}
	if _, err := tx.ExecContext(ctx, "INSERT INTO easy_outbox_products (seq, op, row_key, row_data, created) VALUES ($1,'create','99','{\"id\":99}',$2)",
		last+1, time.Now().UnixMicro()); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var werr error
	wg.Add(1)
	go func() {
		defer wg.Done()
		werr = serverApp.DB().Create(&Product{Name: "b", Price: 2}).Error
	}()
	time.Sleep(300 * time.Millisecond) // the server's INSERT finds the lock held, and its claim waits for it
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	if werr != nil {
		t.Errorf("the server's write at READ COMMITTED failed because another process committed meanwhile: %v", werr)
	}
}

// TestTwoProcessesWriteAtOnceFromAnEmptyOutbox: the same, with two apps
// on an empty outbox on PostgreSQL, each with four writers: every write
// commits.
func TestTwoProcessesWriteAtOnceFromAnEmptyOutbox(t *testing.T) {
	t.Cleanup(ws.SetOutboxFollowEvery(time.Hour))
	serverDB, jobDB := sameDatabase(t, "postgres")
	_, serverApp := processApp(t, serverDB)
	_, jobApp := processApp(t, jobDB)
	var mu sync.Mutex
	var errs []error
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			db := serverApp.DB()
			if w%2 == 1 {
				db = jobApp.DB()
			}
			for range 25 {
				if err := db.Create(&Product{Name: "x", Price: 1}).Error; err != nil {
					mu.Lock()
					errs = append(errs, err)
					mu.Unlock()
				}
			}
		}()
	}
	wg.Wait()
	if len(errs) > 0 {
		t.Errorf("%d of 200 writes failed, first: %v", len(errs), errs[0])
	}
}

// TestAProcessThatHasNotJoinedTheOutboxTrimsNothing: two processes start
// on an empty outbox, each on a seq of its own, the time it started, in
// µs. The one that started later, until it has read or written the table,
// trims nothing: it trimmed by its own seq, above every seq of the
// earlier one, and deleted the earlier one's rows, the last one included.
// The follower is slowed down here to make that certain; with the
// defaults (follow every 500 ms, trim every 1 s) it was a race.
func TestAProcessThatHasNotJoinedTheOutboxTrimsNothing(t *testing.T) {
	t.Cleanup(ws.SetOutboxFollowEvery(time.Hour))
	t.Cleanup(ws.SetOutboxTrimEvery(20 * time.Millisecond))
	for _, kind := range []string{"sqlite", "postgres"} {
		t.Run(kind, func(t *testing.T) {
			serverDB, jobDB := sameDatabase(t, kind)
			_, serverApp := processApp(t, serverDB)
			time.Sleep(20 * time.Millisecond)
			processApp(t, jobDB) // started later: a larger seq
			for i := range 3 {
				if err := serverApp.DB().Create(&Product{Name: "a", Price: float64(i)}).Error; err != nil {
					t.Fatal(err)
				}
			}
			time.Sleep(300 * time.Millisecond)
			var n int64
			if err := serverDB.Raw("SELECT COUNT(*) FROM easy_outbox_products").Scan(&n).Error; err != nil {
				t.Fatal(err)
			}
			if n != 3 {
				t.Errorf("outbox rows of the server's 3 commits: %d left, want 3 (the job's trimmer deleted them)", n)
			}
		})
	}
}

// TestACrowdedProcessTriesItsShortcutAgain: on PostgreSQL a process that
// has seen another write claims its numbers (the lock and the read) before
// each commit, but only for a while (outboxCrowdedFor): it paid them for
// the rest of its life. Past that it tries insertIfLast again; when the
// other has written meanwhile, that finds the other's row, and the write
// claims and commits as before, its client getting every event in order.
func TestACrowdedProcessTriesItsShortcutAgain(t *testing.T) {
	t.Cleanup(ws.SetOutboxFollowEvery(time.Hour)) // the server learns of the job's writes only by writing
	t.Cleanup(ws.SetOutboxCrowdedFor(time.Hour))
	p := twoProcesses(t, "postgres")
	server, serverApp, jobApp, s := p.server, p.serverApp, p.jobApp, p.s
	createProduct(t, serverApp, "server 1")
	s.expect("create", "1", "")
	if ws.OutboxCrowded(server) {
		t.Fatal("crowded before any other process wrote")
	}
	createProduct(t, jobApp, "job 2")
	createProduct(t, serverApp, "server 3") // finds the job's event: crowded
	s.expect("create", "2", `{"id":2,"name":"job 2","price":1}`)
	s.expect("create", "3", "")
	if !ws.OutboxCrowded(server) {
		t.Fatal("not crowded after another process's event")
	}

	ws.SetOutboxCrowdedFor(0) // the while has passed
	createProduct(t, serverApp, "server 4")
	createProduct(t, jobApp, "job 5")
	createProduct(t, serverApp, "server 6") // the shortcut finds the job's row
	for _, id := range []string{"4", "5", "6"} {
		s.expect("create", id, "")
	}
	if got := server.Seq("products"); got != s.last {
		t.Errorf("server seq %d, its client's last %d", got, s.last)
	}
}
