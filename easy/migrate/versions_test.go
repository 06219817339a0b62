package migrate_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"testing/fstest"

	"gorm.io/gorm"

	"github.com/fastapi-easy/easy-go/easy/migrate"
	"github.com/fastapi-easy/easy-go/internal/testkit"
)

// notes are three migrations that record in the table runs each time one
// of them runs, and work on the same SQL in PostgreSQL and SQLite.
var notes = fstest.MapFS{
	"00001_create_notes.sql": {Data: []byte(`-- +goose Up
CREATE TABLE runs (version INTEGER NOT NULL);
CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT NOT NULL);
INSERT INTO runs (version) VALUES (1);

-- +goose Down
DROP TABLE notes;
DROP TABLE runs;
`)},
	"00002_add_done.sql": {Data: []byte(`-- +goose Up
ALTER TABLE notes ADD COLUMN done BOOLEAN NOT NULL DEFAULT false;
INSERT INTO runs (version) VALUES (2);

-- +goose Down
ALTER TABLE notes DROP COLUMN done;
`)},
	"00003_seed.sql": {Data: []byte(`-- +goose Up
INSERT INTO notes (id, body) VALUES (1, 'first');
INSERT INTO runs (version) VALUES (3);

-- +goose Down
DELETE FROM notes WHERE id = 1;
`)},
}

// Note is the model of the table the migrations make.
type Note struct {
	ID   int    `json:"id" gorm:"primaryKey"`
	Body string `json:"body"`
	Done bool   `json:"done"`
}

// withFile returns fsys with one more file.
func withFile(fsys fstest.MapFS, name, data string) fstest.MapFS {
	out := fstest.MapFS{name: {Data: []byte(data)}}
	for k, v := range fsys {
		out[k] = v
	}
	return out
}

// states sums up a status as "VERSION:applied" or "VERSION:pending".
func states(list []migrate.Migration) []string {
	var out []string
	for _, m := range list {
		state := "pending"
		if m.Applied {
			state = "applied"
		}
		out = append(out, fmt.Sprintf("%d:%s", m.Version, state))
	}
	return out
}

func names(list []migrate.Migration) []string {
	var out []string
	for _, m := range list {
		out = append(out, m.Name)
	}
	return out
}

func TestUpStatusDown(t *testing.T) {
	testkit.Each(t, nil, func(t *testing.T, db *gorm.DB) {
		ctx := context.Background()
		s := migrate.New(db, migrate.Config{FS: notes})

		list, err := s.Status(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if got, want := states(list), []string{"1:pending", "2:pending", "3:pending"}; !slices.Equal(got, want) {
			t.Fatalf("status %q, want %q", got, want)
		}
		if err := s.Check(ctx); !errors.Is(err, migrate.ErrPending) ||
			err.Error() != "migrate: the database is behind its migrations: 00001_create_notes.sql, 00002_add_done.sql, 00003_seed.sql not applied" {
			t.Errorf("Check: %v", err)
		}

		applied, err := s.Up(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if got, want := names(applied), []string{"00001_create_notes.sql", "00002_add_done.sql", "00003_seed.sql"}; !slices.Equal(got, want) {
			t.Errorf("applied %q, want %q", got, want)
		}
		if err := s.Check(ctx); err != nil {
			t.Errorf("Check after Up: %v", err)
		}
		var done []bool
		if err := db.Raw("SELECT done FROM notes").Scan(&done).Error; err != nil || !slices.Equal(done, []bool{false}) {
			t.Errorf("notes.done = %v (%v), want [false]", done, err)
		}
		if applied, err := s.Up(ctx); err != nil || len(applied) != 0 {
			t.Errorf("Up again applied %q (%v), want nothing", names(applied), err)
		}

		undone, err := s.Down(ctx)
		if err != nil || undone.Name != "00003_seed.sql" {
			t.Fatalf("Down: %+v, %v", undone, err)
		}
		undone, err = s.Down(ctx)
		if err != nil || undone.Name != "00002_add_done.sql" {
			t.Fatalf("Down: %+v, %v", undone, err)
		}
		list, err = s.Status(ctx)
		if got, want := states(list), []string{"1:applied", "2:pending", "3:pending"}; err != nil || !slices.Equal(got, want) {
			t.Errorf("status after two downs %q (%v), want %q", got, err, want)
		}
		var n int64
		if err := db.Raw("SELECT count(*) FROM notes").Scan(&n).Error; err != nil || n != 0 {
			t.Errorf("notes has %d rows (%v), want 0", n, err)
		}
		if err := db.Exec("SELECT done FROM notes").Error; err == nil {
			t.Error("notes.done is still there after its migration was rolled back")
		}
		if _, err := s.Down(ctx); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Down(ctx); err == nil || err.Error() != "migrate: down: no migration is applied" {
			t.Errorf("Down at version 0: %v", err)
		}
		if got := testkit.Tables(t, db); !slices.Equal(got, []string{"goose_db_version"}) {
			t.Errorf("tables %q after every down, want [goose_db_version]", got)
		}
	})
}

// TestFailedMigrationIsRolledBack applies a migration whose second
// statement fails: its first is rolled back, the version stays where the
// migrations before it left it, and the error names the file and what
// the database said.
func TestFailedMigrationIsRolledBack(t *testing.T) {
	testkit.Each(t, nil, func(t *testing.T, db *gorm.DB) {
		ctx := context.Background()
		fsys := withFile(notes, "00004_broken.sql", `-- +goose Up
INSERT INTO notes (id, body) VALUES (100, 'half');
INSERT INTO no_such_table (id) VALUES (1);

-- +goose Down
`)
		s := migrate.New(db, migrate.Config{FS: fsys})
		applied, err := s.Up(ctx)
		if got, want := names(applied), []string{"00001_create_notes.sql", "00002_add_done.sql", "00003_seed.sql"}; !slices.Equal(got, want) {
			t.Errorf("applied %q, want %q", got, want)
		}
		var me *migrate.Error
		if !errors.As(err, &me) {
			t.Fatalf("Up: %v (%T), want a *migrate.Error", err, err)
		}
		if me.Migration.Name != "00004_broken.sql" || me.Migration.Version != 4 || me.Op != "up" || me.Version != 3 {
			t.Errorf("error %+v", me)
		}
		if msg := err.Error(); !strings.HasPrefix(msg, "migrate: up 00004_broken.sql failed, and the database stays at version 3: ") ||
			!strings.Contains(msg, "no_such_table") {
			t.Errorf("error %q", msg)
		}
		var n int64
		if err := db.Raw("SELECT count(*) FROM notes WHERE id = 100").Scan(&n).Error; err != nil || n != 0 {
			t.Errorf("the failed migration's first insert is there: %d rows (%v)", n, err)
		}
		list, err := s.Status(ctx)
		if got, want := states(list), []string{"1:applied", "2:applied", "3:applied", "4:pending"}; err != nil || !slices.Equal(got, want) {
			t.Errorf("status %q (%v), want %q", got, err, want)
		}
	})
}

// TestGoMigration runs a migration written in Go between two SQL ones, in
// the same transaction as its record: a failing one leaves nothing.
func TestGoMigration(t *testing.T) {
	testkit.Each(t, nil, func(t *testing.T, db *gorm.DB) {
		ctx := context.Background()
		shout := migrate.Go{Version: 4,
			Up: func(ctx context.Context, tx *gorm.DB) error {
				var all []Note
				if err := tx.Find(&all).Error; err != nil {
					return err
				}
				for _, n := range all {
					if err := tx.Model(&n).Update("body", strings.ToUpper(n.Body)).Error; err != nil {
						return err
					}
				}
				return nil
			},
			Down: func(ctx context.Context, tx *gorm.DB) error {
				return tx.Exec("UPDATE notes SET body = lower(body)").Error
			},
		}
		failing := migrate.Go{Version: 5, Up: func(ctx context.Context, tx *gorm.DB) error {
			if err := tx.Create(&Note{ID: 50, Body: "x"}).Error; err != nil {
				return err
			}
			return errors.New("no, thanks")
		}}
		s := migrate.New(db, migrate.Config{FS: notes, Go: []migrate.Go{shout, failing}})
		applied, err := s.Up(ctx)
		if got, want := names(applied), []string{"00001_create_notes.sql", "00002_add_done.sql", "00003_seed.sql", "Go migration 4"}; !slices.Equal(got, want) {
			t.Errorf("applied %q, want %q", got, want)
		}
		if err == nil || err.Error() != "migrate: up Go migration 5 failed, and the database stays at version 4: no, thanks" {
			t.Errorf("Up: %v", err)
		}
		var bodies []string
		if err := db.Raw("SELECT body FROM notes ORDER BY id").Scan(&bodies).Error; err != nil || !slices.Equal(bodies, []string{"FIRST"}) {
			t.Errorf("notes %q (%v), want [FIRST]", bodies, err)
		}
		if _, err := s.Down(ctx); err != nil {
			t.Fatal(err)
		}
		if err := db.Raw("SELECT body FROM notes ORDER BY id").Scan(&bodies).Error; err != nil || !slices.Equal(bodies, []string{"first"}) {
			t.Errorf("notes %q (%v) after down, want [first]", bodies, err)
		}
	})
}
