package crud_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/fastapi-easy/easy-go/easy"
	"github.com/fastapi-easy/easy-go/easy/crud"
	"github.com/fastapi-easy/easy-go/easy/query"
	"github.com/fastapi-easy/easy-go/internal/testkit"
)

// walk follows a list from path through X-Next-Cursor to its last page,
// checking each page's Link header, and returns the ids of every page. It
// calls each of between before each page but the first.
func (s *server) walk(path string, between ...func()) [][]uint {
	s.t.Helper()
	var pages [][]uint
	for {
		if len(pages) > 0 {
			for _, fn := range between {
				fn()
			}
		}
		res := s.do("GET", path, "")
		if res.status != 200 {
			s.t.Fatalf("GET %s: %d %s", path, res.status, res.body)
		}
		pages = append(pages, ids(s.t, res.body))
		next := res.header.Get("X-Next-Cursor")
		link := res.header.Get("Link")
		if next == "" {
			if link != "" {
				s.t.Fatalf("GET %s: Link %q on the last page", path, link)
			}
			return pages
		}
		if len(pages) > 1 && res.header.Get("X-Total-Count") != "" {
			s.t.Fatalf("GET %s: a cursor page has X-Total-Count", path)
		}
		target, ok := strings.CutPrefix(link, "<")
		target, rel, _ := strings.Cut(target, ">")
		u, err := url.Parse(target)
		if !ok || rel != `; rel="next"` || err != nil || u.Query().Get("cursor") != next || u.Query().Has("skip") {
			s.t.Fatalf("GET %s: Link %q does not lead to cursor %s", path, link, next)
		}
		path = target
	}
}

// TestCursorWalk walks lists page by page with cursors, over every kind
// of sort (ties, NULLs, descending, several keys) and filters, on each
// database: the pages, joined, are the list read in one go.
func TestCursorWalk(t *testing.T) {
	sorts := []string{"", "-id", "price", "-price", "note", "-note", "name", "-name", "active,-stock", "-price,note", "note,-price", "stock,id", "-id,price"}
	filters := []string{"", "price__gte=2", "or[note__isnull]=true&or[stock__lt]=3", "name__startswith=zz"}
	testkit.Each(t, nil, func(t *testing.T, db *gorm.DB) {
		s := serve(t, db, easy.CRUDRouter[Item]())
		var items []Item
		for i := range 23 {
			it := Item{Name: fmt.Sprintf("item %02d", (i*7)%23), Price: float64(i % 4), Stock: i % 5, Active: i%3 == 0}
			if i%4 != 1 {
				it.Note = ptr(fmt.Sprintf("n%d", i%6))
			}
			items = append(items, it)
		}
		if err := db.Create(&items).Error; err != nil {
			t.Fatal(err)
		}
		for _, sort := range sorts {
			for _, filter := range filters {
				q := "sort=" + url.QueryEscape(sort) + "&" + filter
				all := ids(t, s.do("GET", "/items?limit=1000&"+q, "").body)
				for _, limit := range []int{1, 4, 23} {
					pages := s.walk(fmt.Sprintf("/items?limit=%d&%s", limit, q))
					var got []uint
					for i, p := range pages {
						if len(p) > limit || len(p) < limit && i < len(pages)-1 {
							t.Errorf("%s limit %d: page %d has %d rows", q, limit, i, len(p))
						}
						got = append(got, p...)
					}
					if !slices.Equal(got, all) {
						t.Errorf("%s limit %d: the pages hold\n%v\nthe list\n%v", q, limit, got, all)
					}
				}
			}
		}
		// A walk may start at any offset page: its cursor continues it.
		res := s.do("GET", "/items?skip=10&limit=5&sort=-price", "")
		rest := s.walk("/items?limit=5&sort=-price&cursor=" + res.header.Get("X-Next-Cursor"))
		all := ids(t, s.do("GET", "/items?limit=1000&sort=-price", "").body)
		if got := slices.Concat(append([][]uint{ids(t, res.body)}, rest...)...); !slices.Equal(got, all[10:]) {
			t.Errorf("from skip=10: %v, want %v", got, all[10:])
		}
	})
}

// Part has a float32 field: the databases store its values widened to
// float64, 0.1 as 0.10000000149011612.
type Part struct {
	ID    uint    `json:"id" gorm:"primaryKey"`
	Price float32 `json:"price"`
}

// TestCursorWalkFloat32 walks a list sorted by a float32 field whose ties
// fill more than a page, on each database: the cursor's value compares as
// the stored one, so every row comes once and the walk ends.
func TestCursorWalkFloat32(t *testing.T) {
	testkit.Each(t, nil, func(t *testing.T, db *gorm.DB) {
		s := serve(t, db, easy.CRUDRouter[Part]())
		parts := []Part{{Price: 0.2}, {Price: 0.1}, {Price: 0.1}, {Price: 0.1}, {Price: 0.3}, {Price: 0.1}, {Price: 0.1}, {Price: 0.2}}
		if err := db.Create(&parts).Error; err != nil {
			t.Fatal(err)
		}
		for _, sort := range []string{"price", "-price"} {
			all := ids(t, s.do("GET", "/parts?limit=100&sort="+sort, "").body)
			pages := 0
			var got []uint
			for _, p := range s.walk("/parts?limit=2&sort="+sort, func() {
				if pages++; pages > len(parts) {
					t.Fatalf("sort=%s: the walk goes on past %d pages", sort, pages)
				}
			}) {
				got = append(got, p...)
			}
			if !slices.Equal(got, all) {
				t.Errorf("sort=%s: the pages hold %v, the list %v", sort, got, all)
			}
		}
	})
}

// TestCursorInvalid sends cursors that were changed, made for another
// order, another router or another key, and a cursor with skip: each is a
// 422 naming the cursor, never a database error.
func TestCursorInvalid(t *testing.T) {
	testkit.Each(t, nil, func(t *testing.T, db *gorm.DB) {
		s := serve(t, db, easy.CRUDRouter[Item](), easy.CRUDRouter[Task]())
		other := serve(t, db, crud.New[Item](crud.CursorKey([]byte("another key")), crud.Prefix("/keyed"), crud.Name("keyed", "keyeds")))
		seedItems(t, db)
		s.do("POST", "/tasks", `{"title":"a"}`)
		s.do("POST", "/tasks", `{"title":"b"}`)
		next := s.do("GET", "/items?limit=2&sort=-price", "").header.Get("X-Next-Cursor")
		task := s.do("GET", "/tasks?limit=1", "").header.Get("X-Next-Cursor")
		if next == "" || task == "" {
			t.Fatal("no cursor")
		}
		tampered := []byte(next)
		tampered[len(tampered)/2] ^= 1
		if tampered[len(tampered)/2] == '-'^1 || tampered[len(tampered)/2] == '_'^1 {
			tampered[len(tampered)/2] = 'A'
		}
		invalid := func(c string) string {
			return `{"detail":[{"type":"cursor_invalid","loc":["query","cursor"],"msg":"Invalid cursor: send the cursor of the page before, as it came","input":"` + c + `"}]}`
		}
		cases := []struct {
			path, want string
		}{
			{"/items?sort=-price&cursor=" + string(tampered), invalid(string(tampered))},
			{"/items?sort=-price&cursor=" + next[:len(next)-1], invalid(next[:len(next)-1])},
			{"/items?sort=-price&cursor=" + next + "A", invalid(next + "A")},
			{"/items?sort=-price&cursor=%27%20OR%201%3D1", invalid(`' OR 1=1`)},
			{"/items?sort=-price&cursor=AAAA", invalid("AAAA")},
			{"/items?cursor=" + task, invalid(task)}, // signed with the key of another table
			{"/items?sort=name&cursor=" + next, `{"detail":[{"type":"cursor_invalid","loc":["query","cursor"],"msg":"The cursor continues a list sorted by -price,id, not by name,id: send the same sort","input":"` + next + `"}]}`},
			{"/items?cursor=" + next, `{"detail":[{"type":"cursor_invalid","loc":["query","cursor"],"msg":"The cursor continues a list sorted by -price,id, not by id: send the same sort","input":"` + next + `"}]}`},
			{"/items?sort=-price&skip=2&cursor=" + next, `{"detail":[{"type":"value_error","loc":["query","skip"],"msg":"Value error, skip and cursor exclude each other: a cursor page starts after the last row of the page before","input":"2"}]}`},
			{"/keyed?sort=-price&cursor=" + next, invalid(next)},
		}
		for _, c := range cases {
			srv := s
			if strings.HasPrefix(c.path, "/keyed") {
				srv = other
			}
			srv.expect("GET", c.path, "", 422, c.want)
		}
		if res := s.do("GET", "/items?sort=-price&limit=2&cursor="+next, ""); res.status != 200 || len(ids(t, res.body)) != 2 {
			t.Errorf("the cursor itself: %d %s", res.status, res.body)
		}
	})
}

// TestCursorWalkUnderWrites walks 10,000 rows sorted by a field full of
// ties while another goroutine inserts rows and deletes others, on each
// database: every row that exists for the whole walk is seen exactly
// once, and no row twice.
func TestCursorWalkUnderWrites(t *testing.T) {
	if testing.Short() {
		t.Skip("walks 10,000 rows")
	}
	testkit.Each(t, nil, func(t *testing.T, db *gorm.DB) {
		s := serve(t, db, easy.CRUDRouter[Item]())
		const n = 10_000
		rows := make([]Item, n)
		for i := range rows {
			rows[i] = Item{Name: fmt.Sprintf("row %05d", i), Price: float64(i % 37)}
		}
		if err := db.CreateInBatches(rows, 500).Error; err != nil {
			t.Fatal(err)
		}
		// Rows whose id is a multiple of 7 are deleted during the walk;
		// the others stay.
		stays := map[uint]bool{}
		var doomed []uint
		for _, r := range rows {
			if r.ID%7 == 0 {
				doomed = append(doomed, r.ID)
			} else {
				stays[r.ID] = true
			}
		}
		ctx, stop := context.WithCancel(t.Context())
		var wg sync.WaitGroup
		var writes atomic.Int64
		wg.Go(func() {
			defer stop() // a failed write ends the waits of the walk
			rnd := rand.New(rand.NewPCG(1, 2))
			for i := 0; ctx.Err() == nil; i++ {
				it := Item{Name: fmt.Sprintf("new %05d", i), Price: float64(rnd.IntN(37))}
				if err := db.WithContext(ctx).Create(&it).Error; err != nil {
					if ctx.Err() == nil {
						t.Errorf("insert: %v", err)
					}
					break
				}
				if len(doomed) > 0 {
					j := rnd.IntN(len(doomed))
					if err := db.WithContext(ctx).Delete(&Item{}, doomed[j]).Error; err != nil {
						if ctx.Err() == nil {
							t.Errorf("delete: %v", err)
						}
						break
					}
					doomed = slices.Delete(doomed, j, j+1)
				}
				writes.Add(1)
			}
		})
		// Each page waits for a write after the page before, so that writes
		// fall between every two pages, however the goroutines are run.
		var last int64
		pages := s.walk("/items?sort=-price&limit=100", func() {
			for writes.Load() == last && ctx.Err() == nil {
				time.Sleep(time.Millisecond)
			}
			last = writes.Load()
		})
		stop()
		wg.Wait()
		seen := map[uint]int{}
		for _, p := range pages {
			for _, id := range p {
				seen[id]++
				if seen[id] == 2 {
					t.Errorf("row %d seen twice", id)
				}
			}
		}
		missing := 0
		for id := range stays {
			if seen[id] != 1 {
				missing++
			}
		}
		if missing > 0 {
			t.Errorf("%d of the %d rows that stayed were not seen", missing, len(stays))
		}
		if n := writes.Load(); n < int64(len(pages)-1) {
			t.Errorf("only %d writes during %d pages", n, len(pages))
		}
		t.Logf("%d pages, %d inserts and deletes meanwhile", len(pages), writes.Load())
	})
}

// TestCursorWithHooks walks a list whose BeforeList hook adds a
// condition and an OR group, on each database: the cursor continues the
// list the hook makes.
func TestCursorWithHooks(t *testing.T) {
	testkit.Each(t, nil, func(t *testing.T, db *gorm.DB) {
		router := easy.CRUDRouter[Item]().BeforeList(func(ctx context.Context, q *query.Query) error {
			q.Filters = append(q.Filters, query.Condition{Field: "stock", Op: query.Gte, Value: 2},
				query.Condition{Field: "name", Op: query.StartsWith, Value: "item", Group: "g"},
				query.Condition{Field: "price", Op: query.Lt, Value: 0, Group: "g"})
			return nil
		})
		s := serve(t, db, router)
		var items []Item
		for i := range 30 {
			items = append(items, Item{Name: fmt.Sprintf("item %02d", i), Price: float64(i % 3), Stock: i % 5})
		}
		db.Create(&items)
		all := ids(t, s.do("GET", "/items?limit=1000&sort=-price", "").body)
		if len(all) != 18 {
			t.Fatalf("the hook's list has %d rows, want 18", len(all))
		}
		var got []uint
		for _, p := range s.walk("/items?limit=4&sort=-price") {
			got = append(got, p...)
		}
		if !slices.Equal(got, all) {
			t.Errorf("pages %v, list %v", got, all)
		}
	})
}

// A cursor's text is compared as the server wrote it, from the row as
// stored: a uuid column's "" (a field that is not a pointer, which SQLite
// stores) ends a page whose next one the cursor finds. It was read as a
// UUID, and the server's own cursor refused.
func TestCursorOnAUUIDColumnsStoredText(t *testing.T) {
	s := serve(t, testkit.SQLite(t, nil), easy.CRUDRouter[Voucher]())
	s.expect("POST", "/vouchers", `{"ref":""}`, 201, `{"id":1,"ref":""}`)
	s.expect("POST", "/vouchers", `{"ref":"0b7c7f2e-5d3a-4f7e-9a39-2f4d1c6b8e10"}`, 201, `{"id":2,"ref":"0b7c7f2e-5d3a-4f7e-9a39-2f4d1c6b8e10"}`)
	if got := s.walk("/vouchers?sort=ref&limit=1"); fmt.Sprint(got) != "[[1] [2] []]" && fmt.Sprint(got) != "[[1] [2]]" {
		t.Errorf("pages %v, want [[1] [2]]", got)
	}
}
