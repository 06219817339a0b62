package capture_test

import (
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	_ "github.com/jackc/pgx/v5/stdlib"
	"gorm.io/driver/postgres"
	"gorm.io/driver/sqlite"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"

	"github.com/fastapi-easy/easy-go/internal/capture"
)

// The models of the tests. Item has a generated integer key, a unique column
// and a slice (so copies must be deep); Doc is soft-deleted; Tag has a string
// key chosen by the caller; Pair has a composite key; Note is never watched.
type (
	Item struct {
		ID    uint     `json:"id" gorm:"primaryKey"`
		Name  string   `json:"name" gorm:"uniqueIndex"`
		Price float64  `json:"price"`
		Tags  []string `json:"tags" gorm:"serializer:json"`
	}
	Doc struct {
		ID        uint           `json:"id"`
		Title     string         `json:"title"`
		DeletedAt gorm.DeletedAt `json:"-"`
	}
	Tag struct {
		Code  string `json:"code" gorm:"primaryKey"`
		Label string `json:"label"`
	}
	Pair struct {
		A int    `json:"a" gorm:"primaryKey;autoIncrement:false"`
		B string `json:"b" gorm:"primaryKey"`
		V int    `json:"v"`
	}
	Note struct {
		ID   uint
		Text string
	}
	// Basket has many Fruits, saved with it; Hooked writes a Tag from its
	// AfterCreate hook.
	Basket struct {
		ID     uint    `json:"id"`
		Fruits []Fruit `json:"fruits"`
	}
	Fruit struct {
		ID       uint   `json:"id"`
		BasketID uint   `json:"basket_id"`
		Name     string `json:"name"`
	}
	Hooked struct {
		ID   uint   `json:"id"`
		Name string `json:"name"`
	}
)

func (h *Hooked) AfterCreate(tx *gorm.DB) error {
	return tx.Create(&Tag{Code: "hook-" + h.Name}).Error
}

func watchedModels() []any {
	return []any{&Item{}, &Doc{}, &Tag{}, &Pair{}, &Basket{}, &Fruit{}, &Hooked{}}
}

// mode is one database and GORM configuration every behaviour is tested in.
type mode struct {
	name     string
	postgres bool
	skipTx   bool   // SkipDefaultTransaction
	prepare  bool   // PrepareStmt
	sqlite   string // extra SQLite DSN parameters, for benchmarks
}

func (m mode) config() *gorm.Config {
	return &gorm.Config{
		Logger:                 logger.Discard,
		SkipDefaultTransaction: m.skipTx,
		PrepareStmt:            m.prepare,
	}
}

func modes() []mode {
	var out []mode
	for _, pg := range []bool{false, true} {
		db := "sqlite"
		if pg {
			db = "postgres"
		}
		out = append(out,
			mode{name: db, postgres: pg},
			mode{name: db + "/skip-default-tx", postgres: pg, skipTx: true},
			mode{name: db + "/prepare-stmt", postgres: pg, prepare: true},
		)
	}
	return out
}

// env is one fresh database with the models migrated and watched.
type env struct {
	mode
	db  *gorm.DB
	c   *capture.Capture
	rec *recorder
}

// forEachDB runs fn in every mode, each with a fresh database.
func forEachDB(t *testing.T, fn func(t *testing.T, e *env)) {
	t.Helper()
	for _, m := range modes() {
		t.Run(m.name, func(t *testing.T) {
			e := &env{mode: m, db: openDB(t, m), rec: &recorder{}}
			var err error
			e.c, err = capture.Watch(e.db, e.rec.sink, watchedModels()...)
			if err != nil {
				t.Fatal(err)
			}
			fn(t, e)
		})
	}
}

// openDB opens an empty database for m with the test models migrated: a
// SQLite file in t.TempDir(), or a PostgreSQL schema of its own, dropped at
// the end, when EASY_TEST_POSTGRES_DSN is set.
func openDB(t testing.TB, m mode) *gorm.DB {
	t.Helper()
	var dialector gorm.Dialector
	if m.postgres {
		dialector = postgres.Open(pgSchema(t))
	} else {
		path := filepath.Join(t.TempDir(), "test.db")
		dialector = sqlite.Open("file:" + path + "?_journal_mode=WAL&_busy_timeout=5000&_foreign_keys=on" + m.sqlite)
	}
	db, err := gorm.Open(dialector, m.config())
	if err != nil {
		t.Fatal(err)
	}
	sqlDB, err := db.DB()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sqlDB.Close() })
	if err := db.AutoMigrate(&Item{}, &Doc{}, &Tag{}, &Pair{}, &Note{}, &Basket{}, &Fruit{}, &Hooked{}); err != nil {
		t.Fatal(err)
	}
	return db
}

// pgSchema creates a schema of its own for one test and returns a DSN whose
// search_path points at it, or skips the test without a server.
func pgSchema(t testing.TB) string {
	t.Helper()
	dsn := os.Getenv("EASY_TEST_POSTGRES_DSN")
	if dsn == "" {
		if os.Getenv("EASY_TEST_REQUIRE") == "all" {
			t.Fatal("EASY_TEST_POSTGRES_DSN is not set and EASY_TEST_REQUIRE=all")
		}
		t.Skip("EASY_TEST_POSTGRES_DSN is not set")
	}
	admin, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { admin.Close() })
	b := make([]byte, 6)
	rand.Read(b)
	name := "capture_" + hex.EncodeToString(b)
	if _, err := admin.Exec("CREATE SCHEMA " + name); err != nil {
		t.Fatal(err)
	}
	// Registered before the db's own cleanup, so it runs after the db closed.
	t.Cleanup(func() {
		if _, err := admin.Exec("DROP SCHEMA " + name + " CASCADE"); err != nil {
			t.Errorf("drop schema %s: %v", name, err)
		}
	})
	sep := "?"
	if strings.Contains(dsn, "?") {
		sep = "&"
	}
	return dsn + sep + "search_path=" + name
}

// recorder is a Sink that keeps every commit it is given.
type recorder struct {
	mu      sync.Mutex
	commits [][]capture.Change
	onSink  func([]capture.Change) // called under mu, for tests that check the sink's context
}

func (r *recorder) sink(changes []capture.Change) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.onSink != nil {
		r.onSink(changes)
	}
	r.commits = append(r.commits, changes)
}

// take returns the commits recorded so far and forgets them.
func (r *recorder) take() [][]capture.Change {
	r.mu.Lock()
	defer r.mu.Unlock()
	c := r.commits
	r.commits = nil
	return c
}

// changes returns the number of changes recorded so far.
func (r *recorder) changes() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, c := range r.commits {
		n += len(c)
	}
	return n
}

// summary renders commits as one string per commit, "op:table:key" per change,
// so a test compares what was published in one line.
func summary(commits [][]capture.Change) []string {
	out := make([]string, 0, len(commits))
	for _, c := range commits {
		parts := make([]string, len(c))
		for i, ch := range c {
			parts[i] = fmt.Sprintf("%s:%s:%v", ch.Op, ch.Table, ch.Key)
		}
		out = append(out, strings.Join(parts, " "))
	}
	return out
}

// names renders commits of items like summary, naming each row by its name
// ("op:name", or "delete:key"), for tests whose keys differ between
// databases: SQLite gives a rolled-back key again, PostgreSQL does not.
func names(commits [][]capture.Change) []string {
	out := make([]string, 0, len(commits))
	for _, c := range commits {
		parts := make([]string, len(c))
		for i, ch := range c {
			if it, ok := ch.Row.(*Item); ok && ch.Op != capture.Delete {
				parts[i] = fmt.Sprintf("%s:%s", ch.Op, it.Name)
			} else {
				parts[i] = fmt.Sprintf("%s:%v", ch.Op, ch.Key)
			}
		}
		out = append(out, strings.Join(parts, " "))
	}
	return out
}

// sortedSummary is summary with the changes of each commit sorted, for bulk
// writes whose row order the database chooses.
func sortedSummary(commits [][]capture.Change) []string {
	out := summary(commits)
	for i, s := range out {
		parts := strings.Split(s, " ")
		slices.Sort(parts)
		out[i] = strings.Join(parts, " ")
	}
	return out
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// reset empties every table and restarts the generated keys, so a subtest
// starts from nothing.
func (e *env) reset(t testing.TB) {
	t.Helper()
	if e.postgres {
		must(t, e.db.Exec("TRUNCATE items, docs, tags, pairs, notes, fruits, baskets, hookeds RESTART IDENTITY").Error)
	} else {
		for _, table := range []string{"items", "docs", "tags", "pairs", "notes", "fruits", "baskets", "hookeds", "sqlite_sequence"} {
			must(t, e.db.Exec("DELETE FROM "+table).Error)
		}
	}
	e.rec.take()
}

// seed writes rows and forgets what they published, so a test sees only its
// own writes. On PostgreSQL it moves the key sequences past keys given
// explicitly, as SQLite does by itself.
func (e *env) seed(t testing.TB, rows ...any) {
	t.Helper()
	for _, r := range rows {
		must(t, e.db.Create(r).Error)
	}
	if e.postgres {
		for _, table := range []string{"items", "docs"} {
			must(t, e.db.Exec("SELECT setval(pg_get_serial_sequence('"+table+"', 'id'), (SELECT COALESCE(MAX(id), 0) + 1 FROM "+table+"), false)").Error)
		}
	}
	e.rec.take()
}

func items(names ...string) []*Item {
	out := make([]*Item, len(names))
	for i, n := range names {
		out[i] = &Item{Name: n, Price: float64(i + 1)}
	}
	return out
}
