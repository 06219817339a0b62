package crud_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"testing"

	"gorm.io/gorm"

	"github.com/fastapi-easy/easy-go/easy"
	"github.com/fastapi-easy/easy-go/easy/crud"
	testdb "github.com/fastapi-easy/easy-go/internal/testkit"
)

// Audit is written by hooks in the transaction of the route.
type Audit struct {
	ID     uint `gorm:"primaryKey"`
	Action string
	TaskID uint
}

type userKey struct{}

// withUser puts the X-User header in the request's context, as an
// authentication middleware would.
func withUser(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := context.WithValue(r.Context(), userKey{}, r.Header.Get("X-User"))
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

func user(ctx context.Context) string { s, _ := ctx.Value(userKey{}).(string); return s }

func audit(tx *gorm.DB, action string, id uint) error {
	return tx.Create(&Audit{Action: action, TaskID: id}).Error
}

// hookedTasks is a router whose hooks own rows by user, audit each write in
// its transaction, refuse and fail on cue.
func hookedTasks() *crud.Router[Task] {
	return easy.CRUDRouter[Task](
		crud.Middleware(withUser),
		crud.Errors(http.StatusForbidden),
		crud.BeforeCreate(func(ctx context.Context, tx *gorm.DB, t *Task) error {
			if t.Title == "forbidden" {
				return easy.Forbidden("Not allowed")
			}
			t.Owner = user(ctx)
			return audit(tx, "before create", 0)
		}),
		crud.AfterCreate(func(ctx context.Context, tx *gorm.DB, t *Task) error {
			if err := audit(tx, "create", t.ID); err != nil {
				return err
			}
			if t.Title == "rollback" {
				return errors.New("after create failed")
			}
			return nil
		}),
		crud.BeforeUpdate(func(ctx context.Context, tx *gorm.DB, t *Task) error {
			if t.Owner != user(ctx) {
				return easy.Forbidden("Not your task")
			}
			if t.Title == "shout" {
				t.Title = "SHOUT" // a hook's change is written
			}
			return audit(tx, "update", t.ID)
		}),
		crud.AfterUpdate(func(ctx context.Context, tx *gorm.DB, t *Task) error {
			if t.Title == "rollback" {
				return easy.NewHTTPError(http.StatusConflict, "Rolled back")
			}
			return nil
		}),
		crud.BeforeDelete(func(ctx context.Context, tx *gorm.DB, t *Task) error {
			if t.Owner != user(ctx) {
				return easy.Forbidden("Not your task")
			}
			return audit(tx, "delete", t.ID)
		}),
		crud.AfterDelete(func(ctx context.Context, tx *gorm.DB, t *Task) error {
			if t.Title == "keep" {
				return errors.New("after delete failed")
			}
			return nil
		}),
		crud.BeforeGet(func(ctx context.Context, tx *gorm.DB, t *Task) error {
			if t.ID == 99 {
				return easy.Forbidden("Task 99 is secret")
			}
			return nil
		}),
		crud.AfterGet(func(ctx context.Context, tx *gorm.DB, t *Task) error {
			if t.Owner != user(ctx) {
				return easy.NotFound("Task not found")
			}
			return nil
		}),
		crud.BeforeList(func(ctx context.Context, q *crud.Query) error {
			if q.Limit > 10 {
				q.Limit = 10
			}
			q.Filters = append(q.Filters, crud.Condition{Field: "owner", Op: crud.Eq, Value: user(ctx)})
			return nil
		}),
		crud.AfterList(func(ctx context.Context, items []Task) error {
			for i := range items {
				items[i].Title += "!"
			}
			return nil
		}),
	)
}

// as sends a request as a user.
func (s *server) as(userName, method, path, body string) response {
	s.t.Helper()
	return s.doHeader(method, path, body, http.Header{"X-User": {userName}})
}

// TestHooks checks that hooks see and change rows, share the write's
// transaction, abort with their HTTP error writing nothing, and roll the
// write back when an after-hook fails.
func TestHooks(t *testing.T) {
	testdb.Each(t, nil, func(t *testing.T, db *gorm.DB) {
		if err := db.AutoMigrate(&Audit{}); err != nil {
			t.Fatal(err)
		}
		s := serve(t, db, hookedTasks())
		audits := func() int64 { return count(t, db, &Audit{}) }
		tasks := func() int64 { return count(t, db, &Task{}) }

		// A before-hook's HTTP error is the response; nothing is written.
		if res := s.as("ann", "POST", "/tasks", `{"title":"forbidden"}`); res.status != 403 || res.body != `{"detail":"Not allowed"}` {
			t.Errorf("forbidden create: %d %s", res.status, res.body)
		}
		if tasks() != 0 || audits() != 0 {
			t.Errorf("forbidden create wrote: %d tasks, %d audits", tasks(), audits())
		}
		// An after-hook's error rolls back the row and what the hooks wrote.
		if res := s.as("ann", "POST", "/tasks", `{"title":"rollback"}`); res.status != 500 || res.body != `{"detail":"Internal Server Error"}` {
			t.Errorf("rolled back create: %d %s", res.status, res.body)
		}
		if tasks() != 0 || audits() != 0 {
			t.Errorf("rolled back create wrote: %d tasks, %d audits", tasks(), audits())
		}
		// A hook sets a read-only field.
		// (PostgreSQL does not give back the key of the rolled back row.)
		res := s.as("ann", "POST", "/tasks", `{"title":"mine"}`)
		mine := decode[Task](t, res.body)
		if res.status != 201 || mine.Owner != "ann" {
			t.Fatalf("create: %d %s", res.status, res.body)
		}
		one := fmt.Sprintf("/tasks/%d", mine.ID)
		if audits() != 2 {
			t.Errorf("audits after create = %d, want 2", audits())
		}
		his := fmt.Sprintf("/tasks/%d", decode[Task](t, s.as("bob", "POST", "/tasks", `{"title":"his"}`).body).ID)

		// Reads: BeforeGet refuses, AfterGet hides another's row.
		if res := s.as("ann", "GET", "/tasks/99", ""); res.status != 403 {
			t.Errorf("secret read: %d %s", res.status, res.body)
		}
		if res := s.as("ann", "GET", his, ""); res.status != 404 || res.body != `{"detail":"Task not found"}` {
			t.Errorf("another's read: %d %s", res.status, res.body)
		}
		if res := s.as("ann", "GET", one, ""); res.status != 200 {
			t.Errorf("own read: %d %s", res.status, res.body)
		}

		// BeforeList narrows the list to the user's rows; AfterList changes them.
		res = s.as("ann", "GET", "/tasks?limit=500", "")
		list := decode[[]Task](t, res.body)
		if res.status != 200 || len(list) != 1 || list[0].Title != "mine!" || res.header.Get("X-Total-Count") != "1" {
			t.Errorf("list: %d %s", res.status, res.body)
		}

		// Updates: a refused one changes nothing; a hook's change is written;
		// an after-hook's error rolls it back.
		before := audits()
		if res := s.as("bob", "PATCH", one, `{"title":"stolen"}`); res.status != 403 || res.body != `{"detail":"Not your task"}` {
			t.Errorf("another's update: %d %s", res.status, res.body)
		}
		if res := s.as("ann", "PUT", one, `{"title":"shout"}`); res.status != 200 || decode[Task](t, res.body).Title != "SHOUT" {
			t.Errorf("hooked update: %d %s", res.status, res.body)
		}
		if res := s.as("ann", "PATCH", one, `{"title":"rollback"}`); res.status != 409 || res.body != `{"detail":"Rolled back"}` {
			t.Errorf("rolled back update: %d %s", res.status, res.body)
		}
		var stored Task
		db.First(&stored, mine.ID)
		if stored.Title != "SHOUT" || stored.Owner != "ann" {
			t.Errorf("stored after updates: %+v", stored)
		}
		if got := audits() - before; got != 1 {
			t.Errorf("audits of updates = %d, want 1", got)
		}

		// Deletes: refused, rolled back, done.
		if res := s.as("bob", "DELETE", one, ""); res.status != 403 {
			t.Errorf("another's delete: %d %s", res.status, res.body)
		}
		s.as("ann", "PATCH", one, `{"title":"keep"}`)
		if res := s.as("ann", "DELETE", one, ""); res.status != 500 {
			t.Errorf("rolled back delete: %d %s", res.status, res.body)
		}
		var live int64
		db.Model(&Task{}).Where("id = ?", mine.ID).Count(&live)
		if live != 1 {
			t.Errorf("task 1 deleted despite the failed after-hook")
		}
		s.as("ann", "PATCH", one, `{"title":"done"}`)
		if res := s.as("ann", "DELETE", one, ""); res.status != 200 {
			t.Errorf("delete: %d %s", res.status, res.body)
		}
	})
}

// TestHookTypes checks that a hook for another model is a setup mistake.
func TestHookTypes(t *testing.T) {
	defer func() {
		got, _ := recover().(string)
		want := "crud: BeforeCreate hook is a func(context.Context, *gorm.DB, *crud_test.Task) error, not a func(context.Context, *gorm.DB, *crud_test.Item) error"
		if got != want {
			t.Errorf("panic %q\n want %q", got, want)
		}
	}()
	crud.New[Item](crud.BeforeCreate(func(context.Context, *gorm.DB, *Task) error { return nil }))
}

// TestDeleteAllHooks checks that DELETE on the collection runs the delete
// hooks on every row, and that one refusal rolls the whole delete back.
func TestDeleteAllHooks(t *testing.T) {
	testdb.Each(t, nil, func(t *testing.T, db *gorm.DB) {
		var seen []uint
		s := serve(t, db, easy.CRUDRouter[Item](crud.DeleteAll(true),
			crud.BeforeDelete(func(ctx context.Context, tx *gorm.DB, it *Item) error {
				seen = append(seen, it.ID)
				if it.Name == "date" {
					return easy.Forbidden("Keep the dates")
				}
				return nil
			})))
		seedItems(t, db)
		s.expect("DELETE", "/items", "", 403, `{"detail":"Keep the dates"}`)
		if n := count(t, db, &Item{}); n != 5 {
			t.Errorf("rows = %d after a refused delete-all, want 5", n)
		}
		if !slices.Equal(seen, []uint{1, 2, 3, 4, 5}) {
			t.Errorf("hook saw %v", seen)
		}
		s.expect("DELETE", "/items/5", "", 403, `{"detail":"Keep the dates"}`)
		s.do("PATCH", "/items/5", `{"name":"fig"}`)
		s.expect("DELETE", "/items", "", 200, `{"deleted":5}`)
		if n := count(t, db, &Item{}); n != 0 {
			t.Errorf("rows = %d, want 0", n)
		}
	})
}
