package crud_test

import (
	"context"
	"errors"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"go/types"
	"net/http"
	"slices"
	"strings"
	"testing"

	"gorm.io/gorm"

	"github.com/fastapi-easy/easy-go/easy"
	"github.com/fastapi-easy/easy-go/easy/crud"
	"github.com/fastapi-easy/easy-go/easy/query"
	"github.com/fastapi-easy/easy-go/internal/testkit"
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
	return easy.CRUDRouter[Task](crud.Middleware(withUser), crud.Errors(http.StatusForbidden)).
		BeforeCreate(func(ctx context.Context, tx *gorm.DB, t *Task) error {
			if t.Title == "forbidden" {
				return easy.Forbidden("Not allowed")
			}
			t.Owner = user(ctx)
			return audit(tx, "before create", 0)
		}).
		AfterCreate(func(ctx context.Context, tx *gorm.DB, t *Task) error {
			if err := audit(tx, "create", t.ID); err != nil {
				return err
			}
			if t.Title == "rollback" {
				return errors.New("after create failed")
			}
			return nil
		}).
		BeforeUpdate(func(ctx context.Context, tx *gorm.DB, t *Task) error {
			if t.Owner != user(ctx) {
				return easy.Forbidden("Not your task")
			}
			if t.Title == "shout" {
				t.Title = "SHOUT" // a hook's change is written
			}
			return audit(tx, "update", t.ID)
		}).
		AfterUpdate(func(ctx context.Context, tx *gorm.DB, t *Task) error {
			if t.Title == "rollback" {
				return easy.NewHTTPError(http.StatusConflict, "Rolled back")
			}
			return nil
		}).
		BeforeDelete(func(ctx context.Context, tx *gorm.DB, t *Task) error {
			if t.Owner != user(ctx) {
				return easy.Forbidden("Not your task")
			}
			return audit(tx, "delete", t.ID)
		}).
		AfterDelete(func(ctx context.Context, tx *gorm.DB, t *Task) error {
			if t.Title == "keep" {
				return errors.New("after delete failed")
			}
			return nil
		}).
		BeforeGet(func(ctx context.Context, tx *gorm.DB, t *Task) error {
			if t.ID == 99 {
				return easy.Forbidden("Task 99 is secret")
			}
			return nil
		}).
		AfterGet(func(ctx context.Context, tx *gorm.DB, t *Task) error {
			if t.Owner != user(ctx) {
				return easy.NotFound("Task not found")
			}
			return nil
		}).
		BeforeList(func(ctx context.Context, q *query.Query) error {
			if q.Limit > 10 {
				q.Limit = 10
			}
			q.Filters = append(q.Filters, query.Condition{Field: "owner", Op: query.Eq, Value: user(ctx)})
			return nil
		}).
		AfterList(func(ctx context.Context, items []Task) error {
			for i := range items {
				items[i].Title += "!"
			}
			return nil
		})
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
	testkit.Each(t, nil, func(t *testing.T, db *gorm.DB) {
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

// Ticket has a column with no json tag: only a hook writes it.
type Ticket struct {
	ID      uint   `json:"id" gorm:"primaryKey"`
	Title   string `json:"title"`
	OwnerID uint
}

// TestUntaggedColumnKept checks that a column without a json tag, which
// no body can carry, keeps the value a hook gave it through PUT, PATCH
// and a batch's replace and update, instead of taking its zero value.
func TestUntaggedColumnKept(t *testing.T) {
	testkit.Each(t, nil, func(t *testing.T, db *gorm.DB) {
		s := serve(t, db, easy.CRUDRouter[Ticket](crud.Batch()).
			BeforeCreate(func(ctx context.Context, tx *gorm.DB, k *Ticket) error {
				k.OwnerID = 7
				return nil
			}))
		if res := s.do("POST", "/tickets", `{"title":"a","OwnerID":3}`); res.status != 201 {
			t.Fatalf("create: %d %s", res.status, res.body)
		}
		owner := func() uint {
			var k Ticket
			if err := db.First(&k).Error; err != nil {
				t.Fatal(err)
			}
			return k.OwnerID
		}
		for _, w := range []struct{ method, path, body string }{
			{"PUT", "/tickets/1", `{"title":"b","OwnerID":3}`},
			{"PATCH", "/tickets/1", `{"title":"c","OwnerID":3}`},
			{"POST", "/tickets/batch", `[{"op":"replace","id":1,"body":{"title":"d"}},{"op":"update","id":1,"body":{"title":"e"}}]`},
		} {
			if res := s.do(w.method, w.path, w.body); res.status != 200 {
				t.Fatalf("%s %s: %d %s", w.method, w.path, res.status, res.body)
			}
			if got := owner(); got != 7 {
				t.Errorf("%s %s: OwnerID = %d, want 7", w.method, w.path, got)
			}
		}
	})
}

// TestHookTypes checks that the compiler refuses a hook or a custom input
// written for another model, naming both types, and takes the same code
// written for the router's model. (BeforeList gets the query, whatever
// the model.)
func TestHookTypes(t *testing.T) {
	const src = `package p

import (
	"context"

	"gorm.io/gorm"

	"github.com/fastapi-easy/easy-go/easy/crud"
)

type Item struct{ ID uint }
type Task struct{ ID uint }
type NewItem struct{ Name string }

func _(r *crud.Router[Item]) {
	r.BeforeCreate(func(context.Context, *gorm.DB, *MODEL) error { return nil })
	r.AfterCreate(func(context.Context, *gorm.DB, *MODEL) error { return nil })
	r.BeforeUpdate(func(context.Context, *gorm.DB, *MODEL) error { return nil })
	r.AfterUpdate(func(context.Context, *gorm.DB, *MODEL) error { return nil })
	r.BeforeDelete(func(context.Context, *gorm.DB, *MODEL) error { return nil })
	r.AfterDelete(func(context.Context, *gorm.DB, *MODEL) error { return nil })
	r.BeforeGet(func(context.Context, *gorm.DB, *MODEL) error { return nil })
	r.AfterGet(func(context.Context, *gorm.DB, *MODEL) error { return nil })
	r.AfterList(func(context.Context, []MODEL) error { return nil })
	r.CreateInput(crud.Convert(func(context.Context, *NewItem, *MODEL) error { return nil }))
	r.UpdateInput(crud.Convert(func(context.Context, *NewItem, *MODEL) error { return nil }))
}
`
	methods := []string{"BeforeCreate", "AfterCreate", "BeforeUpdate", "AfterUpdate", "BeforeDelete",
		"AfterDelete", "BeforeGet", "AfterGet", "AfterList", "CreateInput", "UpdateInput"}
	fset := token.NewFileSet()
	imp := testkit.Importer(fset, testkit.Exports(t, "github.com/fastapi-easy/easy-go/easy/crud"))
	check := func(model string) map[int][]string {
		t.Helper()
		f, err := parser.ParseFile(fset, model+".go", strings.ReplaceAll(src, "MODEL", model), 0)
		if err != nil {
			t.Fatal(err)
		}
		errs := map[int][]string{} // by line
		conf := types.Config{Importer: imp, Error: func(err error) {
			e := err.(types.Error)
			line := e.Fset.Position(e.Pos).Line
			errs[line] = append(errs[line], e.Msg)
		}}
		conf.Check("p", fset, []*ast.File{f}, nil)
		return errs
	}

	if errs := check("Item"); len(errs) > 0 {
		t.Errorf("the hooks of the router's model do not type-check: %v", errs)
	}
	errs := check("Task")
	first := strings.Count(src[:strings.Index(src, "\tr.BeforeCreate")], "\n") + 1
	for i, method := range methods {
		msgs := errs[first+i]
		delete(errs, first+i)
		want := []string{"in argument to r." + method, "*Task", "*Item"}
		switch method {
		case "AfterList":
			want = []string{"in argument to r." + method, "[]Task", "[]Item"}
		case "CreateInput", "UpdateInput":
			want = []string{"in argument to r." + method, "crud.Input[Task]", "crud.Input[Item]"}
		}
		if len(msgs) != 1 {
			t.Errorf("%s for another model: errors %q, want one", method, msgs)
			continue
		}
		for _, w := range want {
			if !strings.Contains(msgs[0], w) {
				t.Errorf("%s for another model: error %q does not say %q", method, msgs[0], w)
			}
		}
	}
	if len(errs) > 0 {
		t.Errorf("other errors: %v", errs)
	}
}

// TestHookMistakes checks that a nil hook or input, and one added once
// the router serves requests, panic at once.
func TestHookMistakes(t *testing.T) {
	mounted := easy.CRUDRouter[Item]()
	serve(t, testkit.SQLite(t, nil), mounted)
	cases := []struct {
		name string
		call func()
		want string
	}{
		{"nil item hook", func() { crud.New[Item]().AfterGet(nil) }, "crud: AfterGet: nil function"},
		{"nil list hook", func() { crud.New[Item]().BeforeList(nil) }, "crud: BeforeList: nil function"},
		{"nil conversion", func() { crud.Convert[NewItem, Item](nil) }, "crud: Convert: nil function"},
		{"zero input", func() { crud.New[Item]().CreateInput(crud.Input[Item]{}) }, "crud: CreateInput: the Input was not made by Convert"},
		{"mounted", func() {
			mounted.BeforeCreate(func(context.Context, *gorm.DB, *Item) error { return nil })
		}, "crud: BeforeCreate: the Router is mounted; set it up before it is included"},
		{"mounted input", func() {
			mounted.UpdateInput(crud.Convert(func(context.Context, *Rename, *Item) error { return nil }))
		}, "crud: UpdateInput: the Router is mounted; set it up before it is included"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			defer func() {
				if got, _ := recover().(string); got != c.want {
					t.Errorf("panic %q, want %q", got, c.want)
				}
			}()
			c.call()
		})
	}
}

// TestDeleteAllHooks checks that DELETE on the collection runs the delete
// hooks on every row, and that one refusal rolls the whole delete back.
func TestDeleteAllHooks(t *testing.T) {
	testkit.Each(t, nil, func(t *testing.T, db *gorm.DB) {
		var seen []uint
		s := serve(t, db, easy.CRUDRouter[Item](crud.DeleteAll()).
			BeforeDelete(func(ctx context.Context, tx *gorm.DB, it *Item) error {
				seen = append(seen, it.ID)
				if it.Name == "date" {
					return easy.Forbidden("Keep the dates")
				}
				return nil
			}))
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
