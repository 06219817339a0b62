package crud_test

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"testing"

	"gorm.io/driver/postgres"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"

	"github.com/fastapi-easy/easy-go/easy"
	"github.com/fastapi-easy/easy-go/easy/crud"
	"github.com/fastapi-easy/easy-go/easy/query"
	"github.com/fastapi-easy/easy-go/easy/route"
	"github.com/fastapi-easy/easy-go/internal/testkit"
)

// Category and Product are a belongs-to pair with a foreign key.
type Category struct {
	ID   uint   `json:"id" gorm:"primaryKey"`
	Name string `json:"name" required:"true"`
}

type Product struct {
	ID         uint      `json:"id" gorm:"primaryKey"`
	Name       string    `json:"name" required:"true"`
	SKU        string    `json:"sku" gorm:"uniqueIndex:idx_product_sku_shop"`
	Shop       string    `json:"shop" gorm:"uniqueIndex:idx_product_sku_shop"`
	CategoryID uint      `json:"category_id"`
	Category   *Category `json:"category,omitempty" gorm:"constraint:OnDelete:RESTRICT"`
}

// TestConflicts checks that unique and foreign-key violations are 409s
// naming the field, never SQL, whether gorm translates the driver's errors
// (as the App's own database does) or not (a database given by easy.DB).
func TestConflicts(t *testing.T) {
	for _, mode := range []struct {
		name string
		cfg  *gorm.Config
	}{
		{"translated", nil},
		{"raw", &gorm.Config{TranslateError: false}},
	} {
		t.Run(mode.name, func(t *testing.T) {
			testkit.Each(t, mode.cfg, func(t *testing.T, db *gorm.DB) {
				s := serve(t, db, easy.CRUDRouter[Item](), easy.CRUDRouter[Category](), easy.CRUDRouter[Product]())
				s.do("POST", "/items", `{"name":"apple"}`)
				s.do("POST", "/items", `{"name":"pear"}`)
				s.expect("POST", "/items", `{"name":"apple","price":2}`, 409, `{"detail":"Item with this name already exists"}`)
				s.expect("PUT", "/items/2", `{"name":"apple"}`, 409, `{"detail":"Item with this name already exists"}`)
				s.expect("PATCH", "/items/2", `{"name":"apple"}`, 409, `{"detail":"Item with this name already exists"}`)
				s.expect("GET", "/items/2", "", 200, `{"id":2,"name":"pear","price":0,"stock":0,"active":false,"note":null}`)

				s.do("POST", "/categories", `{"name":"fruit"}`)
				s.expect("POST", "/products", `{"name":"kiwi","sku":"k1","shop":"a","category_id":1}`, 201,
					`{"id":1,"name":"kiwi","sku":"k1","shop":"a","category_id":1}`)
				s.expect("POST", "/products", `{"name":"kiwi","sku":"k1","shop":"a","category_id":1}`, 409,
					`{"detail":"Product with this sku and shop already exists"}`)
				s.expect("POST", "/products", `{"name":"fig","sku":"f1","shop":"a","category_id":9}`, 409,
					`{"detail":"Product refers by category_id to a row that does not exist"}`)
				s.expect("PATCH", "/products/1", `{"category_id":9}`, 409,
					`{"detail":"Product refers by category_id to a row that does not exist"}`)
				s.expect("DELETE", "/categories/1", "", 409, `{"detail":"Category is still referenced by other rows"}`)
				if count(t, db, &Item{}) != 2 || count(t, db, &Product{}) != 1 || count(t, db, &Category{}) != 1 {
					t.Errorf("a conflict wrote rows")
				}
			})
		})
	}
}

// TestUnavailable checks that a database that cannot be reached is a 503.
func TestUnavailable(t *testing.T) {
	t.Run("closed", func(t *testing.T) {
		db := testkit.SQLite(t, nil)
		s := serve(t, db, easy.CRUDRouter[Item]())
		sqlDB, _ := db.DB()
		sqlDB.Close()
		for _, r := range []struct{ method, path, body string }{
			{"GET", "/items", ""}, {"GET", "/items/1", ""}, {"POST", "/items", `{"name":"a"}`},
			{"PUT", "/items/1", `{"name":"a"}`}, {"PATCH", "/items/1", `{}`}, {"DELETE", "/items/1", ""},
		} {
			res := s.expect(r.method, r.path, r.body, 503, `{"detail":"Service Unavailable"}`)
			if res.header.Get("Retry-After") == "" {
				t.Errorf("%s %s: no Retry-After", r.method, r.path)
			}
		}
	})
	t.Run("refused", func(t *testing.T) {
		// Nothing listens on port 1.
		db, err := gorm.Open(postgres.Open("postgres://easy:easy@127.0.0.1:1/easy?sslmode=disable&connect_timeout=2"),
			&gorm.Config{DisableAutomaticPing: true, Logger: logger.Discard})
		if err != nil {
			t.Fatal(err)
		}
		s := serveWith(t, db, []easy.Option{easy.NoMigrate()}, easy.CRUDRouter[Item]())
		s.expect("GET", "/items", "", 503, `{"detail":"Service Unavailable"}`)
		s.expect("POST", "/items", `{"name":"a"}`, 503, `{"detail":"Service Unavailable"}`)
	})
}

// TestInternalError checks that a database error that is no client's
// fault is a 500 that shows nothing of it, and is logged.
func TestInternalError(t *testing.T) {
	db := testkit.SQLite(t, nil)
	var logs bytes.Buffer
	app := easy.New(easy.DB(db), easy.Logger(slog.New(slog.NewTextHandler(&logs, nil))))
	app.Include(easy.CRUDRouter[Item]())
	s := &server{t: t, app: app, srv: newServer(t, app), db: db}
	if err := db.Migrator().DropTable(&Item{}); err != nil {
		t.Fatal(err)
	}
	s.expect("GET", "/items", "", 500, `{"detail":"Internal Server Error"}`)
	s.expect("POST", "/items", `{"name":"a"}`, 500, `{"detail":"Internal Server Error"}`)
	if !strings.Contains(logs.String(), "no such table") {
		t.Errorf("the cause is not logged: %s", logs.String())
	}
}

// TestMountErrors checks the mistakes Mount reports.
func TestMountErrors(t *testing.T) {
	type NoKey struct {
		Name string `json:"name"`
	}
	type TwoKeys struct {
		A int `json:"a" gorm:"primaryKey"`
		B int `json:"b" gorm:"primaryKey"`
	}
	type FloatKey struct {
		ID float64 `json:"id" gorm:"primaryKey"`
	}
	type Doc struct {
		ID   uint              `json:"id" gorm:"primaryKey"`
		Tags map[string]string `json:"tags" gorm:"type:json;serializer:json"`
	}
	cases := []struct {
		name   string
		router route.Mounter
		want   string
	}{
		{"no key", crud.New[NoKey](), "crud: crud_test.NoKey needs exactly one primary key field, it has 0"},
		{"two keys", crud.New[TwoKeys](), "crud: crud_test.TwoKeys needs exactly one primary key field, it has 2"},
		{"float key", crud.New[FloatKey](), "crud: the primary key of crud_test.FloatKey is a float64: it must be an integer or a string"},
		{"filterable", crud.New[Item](crud.Filterable("nope")), "crud: filtered: nope is not a field of crud_test.Item that can be filtered"},
		{"filterable json", crud.New[Sheet](crud.Filterable("data")),
			"crud: filtered: data of crud_test.Sheet is stored as json, which PostgreSQL can neither compare nor order: leave it out of Filterable, or store it as jsonb"},
		{"sortable json", crud.New[Sheet](crud.Sortable("doc", "extra")),
			"crud: sorted: extra of crud_test.Sheet is stored as json, which PostgreSQL can neither compare nor order: leave it out of Sortable, or store it as jsonb"},
		{"filterable json object", crud.New[Doc](crud.Filterable("tags")), // as jsonb it could not be filtered either
			"crud: filtered: tags is not a field of crud_test.Doc that can be filtered"},
		{"policy on json", crud.New[Sheet](crud.Policy(query.Rows("data", func(context.Context) (any, error) { return "{}", nil }))),
			"crud: Policy: Sheet.data is stored as json, which PostgreSQL cannot compare: store it as jsonb, or limit the rows by another field"},
		{"sortable point", crud.New[Place](crud.Sortable("spot")),
			"crud: sorted: spot of crud_test.Place is stored as point, which PostgreSQL can neither compare nor order: leave it out of Sortable"},
		{"policy on xml", crud.New[Place](crud.Policy(query.Rows("note", func(context.Context) (any, error) { return "<a/>", nil }))),
			"crud: Policy: Place.note is stored as xml, which PostgreSQL cannot compare: limit the rows by another field"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			app := easy.New(easy.DB(testkit.SQLite(t, nil)), easy.NoMigrate())
			defer func() {
				got, _ := recover().(string)
				if !strings.Contains(got, c.want) {
					t.Errorf("panic %q, want it to contain %q", got, c.want)
				}
			}()
			app.Include(c.router)
		})
	}
}
