package capture_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"gorm.io/gorm"

	"github.com/fastapi-easy/easy-go/internal/capture"
)

// noteOutbox writes a Note per change, "op:table:name", in the
// transaction it is given, and refuses a commit that creates an Item named
// "refuse".
type noteOutbox struct {
	postgres bool
	failed   int
}

func (o *noteOutbox) Write(ctx context.Context, tx capture.Execer, changes []capture.Change) error {
	for _, c := range changes {
		name := ""
		if it, ok := c.Row.(*Item); ok {
			name = it.Name
		}
		if name == "refuse" {
			return errors.New("refused")
		}
		q := "INSERT INTO notes (text) VALUES (?)"
		if o.postgres {
			q = "INSERT INTO notes (text) VALUES ($1)"
		}
		if _, err := tx.ExecContext(ctx, q, string(c.Op)+":"+c.Table+":"+name); err != nil {
			return err
		}
	}
	return nil
}

func (o *noteOutbox) Failed() { o.failed++ }

// TestOutboxIsWrittenInTheTransaction proves that the outbox's writes
// commit with the changes, in one transaction, and that an outbox error
// rolls the whole transaction back and reaches the caller.
func TestOutboxIsWrittenInTheTransaction(t *testing.T) {
	forEachDB(t, func(t *testing.T, e *env) {
		o := &noteOutbox{postgres: e.postgres}
		e.c.WriteOutbox(o)
		notes := func() []string {
			var texts []string
			must(t, e.db.Model(&Note{}).Order("id").Pluck("text", &texts).Error)
			return texts
		}

		must(t, e.db.Create(&Item{Name: "a"}).Error)
		must(t, e.db.Transaction(func(tx *gorm.DB) error {
			must(t, tx.Create(&Item{Name: "b"}).Error)
			tx.Transaction(func(tx *gorm.DB) error {
				must(t, tx.Create(&Item{Name: "savepoint"}).Error)
				return errors.New("no")
			})
			return tx.Model(&Item{}).Where("name = ?", "a").Update("price", 2).Error
		}))
		e.db.Transaction(func(tx *gorm.DB) error {
			must(t, tx.Create(&Item{Name: "rolled back"}).Error)
			return errors.New("no")
		})
		err := e.db.Create(&Item{Name: "refuse"}).Error
		if err == nil || !strings.Contains(err.Error(), "capture: outbox: refused") {
			t.Fatalf("create refused by the outbox: error %v", err)
		}

		want := []string{"create:items:a", "create:items:b", "update:items:a"}
		if got := notes(); !slices.Equal(got, want) {
			t.Errorf("notes %q, want %q", got, want)
		}
		var n int64
		must(t, e.db.Model(&Item{}).Where("name = ?", "refuse").Count(&n).Error)
		if n != 0 {
			t.Error("the refused item was committed")
		}
		if got := len(e.rec.take()); got != 2 {
			t.Errorf("%d commits reached the sink, want 2", got)
		}
		if o.failed != 0 {
			t.Errorf("Failed called %d times", o.failed)
		}
	})
}
