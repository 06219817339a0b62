package capture_test

import (
	"encoding/json"
	"slices"
	"testing"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/fastapi-easy/easy-go/internal/capture"
)

// TestSingleWrite proves that one write outside a transaction publishes
// exactly one change after it commits, with the row as the database has it.
func TestSingleWrite(t *testing.T) {
	tests := []struct {
		name  string
		write func(db *gorm.DB) error
		want  []string // one string per commit, see summary
		data  string   // Data of the last change, if not ""
	}{
		{
			name:  "Create",
			write: func(db *gorm.DB) error { return db.Create(&Item{Name: "b", Price: 2}).Error },
			want:  []string{"create:items:2"},
			data:  `{"id":2,"name":"b","price":2,"tags":null}`,
		},
		{
			name:  "Save new row",
			write: func(db *gorm.DB) error { return db.Save(&Item{Name: "b", Price: 2}).Error },
			want:  []string{"create:items:2"},
		},
		{
			name:  "Save new row with key",
			write: func(db *gorm.DB) error { return db.Save(&Item{ID: 7, Name: "b", Price: 2}).Error },
			want:  []string{"create:items:7"},
			data:  `{"id":7,"name":"b","price":2,"tags":null}`,
		},
		{
			name:  "Save existing row",
			write: func(db *gorm.DB) error { return db.Save(&Item{ID: 1, Name: "z", Price: 9}).Error },
			want:  []string{"update:items:1"},
			data:  `{"id":1,"name":"z","price":9,"tags":null}`,
		},
		{
			name:  "Updates with a struct is the whole row",
			write: func(db *gorm.DB) error { return db.Model(&Item{ID: 1}).Updates(Item{Price: 5}).Error },
			want:  []string{"update:items:1"},
			data:  `{"id":1,"name":"a","price":5,"tags":["x"]}`,
		},
		{
			name:  "Updates with a map",
			write: func(db *gorm.DB) error { return db.Model(&Item{ID: 1}).Updates(map[string]any{"price": 6}).Error },
			want:  []string{"update:items:1"},
			data:  `{"id":1,"name":"a","price":6,"tags":["x"]}`,
		},
		{
			name:  "Update one column",
			write: func(db *gorm.DB) error { return db.Model(&Item{ID: 1}).Update("name", "q").Error },
			want:  []string{"update:items:1"},
			data:  `{"id":1,"name":"q","price":1,"tags":["x"]}`,
		},
		{
			name: "UpdateColumn",
			write: func(db *gorm.DB) error {
				return db.Model(&Item{ID: 1}).UpdateColumn("price", gorm.Expr("price * 3")).Error
			},
			want: []string{"update:items:1"},
			data: `{"id":1,"name":"a","price":3,"tags":["x"]}`,
		},
		{
			name:  "Delete by value",
			write: func(db *gorm.DB) error { return db.Delete(&Item{ID: 1}).Error },
			want:  []string{"delete:items:1"},
		},
		{
			name:  "Delete by key",
			write: func(db *gorm.DB) error { return db.Delete(&Item{}, 1).Error },
			want:  []string{"delete:items:1"},
		},
		{
			name: "Create from a map",
			write: func(db *gorm.DB) error {
				return db.Model(&Item{}).Create(map[string]any{"name": "m", "price": 4}).Error
			},
			want: []string{"create:items:2"},
			data: `{"id":2,"name":"m","price":4,"tags":null}`,
		},
		{
			name:  "FirstOrCreate",
			write: func(db *gorm.DB) error { return db.Where(Item{Name: "f"}).FirstOrCreate(&Item{}).Error },
			want:  []string{"create:items:2"},
		},
		{
			name:  "string key",
			write: func(db *gorm.DB) error { return db.Create(&Tag{Code: "go", Label: "Go"}).Error },
			want:  []string{"create:tags:go"},
			data:  `{"code":"go","label":"Go"}`,
		},
		{
			name:  "composite key",
			write: func(db *gorm.DB) error { return db.Model(&Pair{A: 1, B: "x"}).Update("v", 2).Error },
			want:  []string{"update:pairs:[1 x]"},
			data:  `{"a":1,"b":"x","v":2}`,
		},
		{
			name:  "update of no row",
			write: func(db *gorm.DB) error { return db.Model(&Item{ID: 99}).Update("name", "q").Error },
		},
		{
			name:  "delete of no row",
			write: func(db *gorm.DB) error { return db.Delete(&Item{}, 99).Error },
		},
	}
	forEachDB(t, func(t *testing.T, e *env) {
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				e.reset(t)
				e.seed(t, &Item{ID: 1, Name: "a", Price: 1, Tags: []string{"x"}}, &Pair{A: 1, B: "x", V: 1})
				must(t, tt.write(e.db))
				got := e.rec.take()
				if !slices.Equal(summary(got), tt.want) {
					t.Fatalf("published %q, want %q", summary(got), tt.want)
				}
				if tt.data != "" {
					last := got[len(got)-1]
					if d := string(last[len(last)-1].Data); d != tt.data {
						t.Errorf("data %s, want %s", d, tt.data)
					}
				}
			})
		}
	})
}

// TestBatchCreate proves that a batch create publishes one change per row,
// with the key the database gave it and the row as written.
func TestBatchCreate(t *testing.T) {
	forEachDB(t, func(t *testing.T, e *env) {
		t.Run("slice of pointers", func(t *testing.T) {
			must(t, e.db.Create(items("a", "b", "c")).Error)
			got := e.rec.take()
			if want := []string{"create:items:1 create:items:2 create:items:3"}; !slices.Equal(summary(got), want) {
				t.Fatalf("published %q, want %q", summary(got), want)
			}
			if d := string(got[0][2].Data); d != `{"id":3,"name":"c","price":3,"tags":null}` {
				t.Errorf("data %s", d)
			}
		})
		t.Run("slice of values", func(t *testing.T) {
			must(t, e.db.Create([]Item{{Name: "d"}, {Name: "e"}}).Error)
			if got, want := summary(e.rec.take()), []string{"create:items:4 create:items:5"}; !slices.Equal(got, want) {
				t.Fatalf("published %q, want %q", got, want)
			}
		})
		t.Run("upsert reads the row back", func(t *testing.T) {
			upsert := clause.OnConflict{Columns: []clause.Column{{Name: "name"}}, DoUpdates: clause.AssignmentColumns([]string{"price"})}
			must(t, e.db.Clauses(upsert).Create(&Item{Name: "a", Price: 99}).Error)
			got := e.rec.take()
			if want := []string{"create:items:1"}; !slices.Equal(summary(got), want) {
				t.Fatalf("published %q, want %q", summary(got), want)
			}
			if d := string(got[0][0].Data); d != `{"id":1,"name":"a","price":99,"tags":null}` {
				t.Errorf("data %s", d)
			}
		})
		t.Run("ON CONFLICT DO NOTHING leaves out the rows not inserted", func(t *testing.T) {
			batch := []*Item{{Name: "a"}, {Name: "f"}}
			must(t, e.db.Clauses(clause.OnConflict{DoNothing: true}).Create(batch).Error)
			if got, want := names(e.rec.take()), []string{"create:f"}; !slices.Equal(got, want) {
				t.Fatalf("published %q, want %q", got, want)
			}
		})
	})
}

// TestBulkWrite proves that an update or delete by WHERE clause publishes one
// change per row it wrote, with its key and, for an update, the whole row as
// it is after the write, with RETURNING and with the key query alike.
func TestBulkWrite(t *testing.T) {
	tests := []struct {
		name  string
		write func(db *gorm.DB) error
		want  string // sorted, see sortedSummary
		price float64
	}{
		{
			name:  "Where Updates with a struct",
			write: func(db *gorm.DB) error { return db.Where("price > ?", 2).Updates(&Item{Price: 10}).Error },
			want:  "update:items:3 update:items:4 update:items:5",
			price: 10,
		},
		{
			name: "Model Where Updates with a map",
			write: func(db *gorm.DB) error {
				return db.Model(&Item{}).Where("price > ?", 2).Updates(map[string]any{"price": 8}).Error
			},
			want:  "update:items:3 update:items:4 update:items:5",
			price: 8,
		},
		{
			name:  "Model Where Update",
			write: func(db *gorm.DB) error { return db.Model(&Item{}).Where("price > ?", 2).Update("price", 7).Error },
			want:  "update:items:3 update:items:4 update:items:5",
			price: 7,
		},
		{
			name: "Table Where Updates",
			write: func(db *gorm.DB) error {
				return db.Table("items").Where("price > ?", 2).Updates(map[string]any{"price": 6}).Error
			},
			want:  "update:items:3 update:items:4 update:items:5",
			price: 6,
		},
		{
			name: "Update of a slice of models",
			write: func(db *gorm.DB) error {
				return db.Model(&[]Item{{ID: 3}, {ID: 4}, {ID: 5}}).Update("price", 11).Error
			},
			want:  "update:items:3 update:items:4 update:items:5",
			price: 11,
		},
		{
			name: "update with its own RETURNING",
			write: func(db *gorm.DB) error {
				return db.Model(&Item{}).Clauses(clause.Returning{}).Where("price > ?", 2).Update("price", 12).Error
			},
			want:  "update:items:3 update:items:4 update:items:5",
			price: 12,
		},
		{
			name:  "Where Delete",
			write: func(db *gorm.DB) error { return db.Where("price > ?", 2).Delete(&Item{}).Error },
			want:  "delete:items:3 delete:items:4 delete:items:5",
		},
		{
			name: "delete with its own RETURNING",
			write: func(db *gorm.DB) error {
				var gone []Item
				return db.Clauses(clause.Returning{}).Where("price > ?", 2).Delete(&gone).Error
			},
			want: "delete:items:3 delete:items:4 delete:items:5",
		},
		{
			name:  "Delete of a slice of models",
			write: func(db *gorm.DB) error { return db.Delete(&[]Item{{ID: 3}, {ID: 4}, {ID: 5}}).Error },
			want:  "delete:items:3 delete:items:4 delete:items:5",
		},
		{
			name:  "matching no row",
			write: func(db *gorm.DB) error { return db.Where("price > ?", 100).Delete(&Item{}).Error },
		},
	}
	forEachDB(t, func(t *testing.T, e *env) {
		for _, keyQuery := range []bool{false, true} {
			strategy := "returning"
			if keyQuery {
				strategy = "key-query"
			}
			capture.SetKeyQuery(e.c, keyQuery)
			for _, tt := range tests {
				t.Run(strategy+"/"+tt.name, func(t *testing.T) {
					e.reset(t)
					e.seed(t, items("a", "b", "c", "d", "e"))
					must(t, tt.write(e.db))
					got := e.rec.take()
					var want []string
					if tt.want != "" {
						want = []string{tt.want}
					}
					if !slices.Equal(sortedSummary(got), want) {
						t.Fatalf("published %q, want %q", sortedSummary(got), want)
					}
					for _, c := range got {
						for _, ch := range c {
							if ch.Op != capture.Update {
								continue
							}
							row := ch.Row.(*Item)
							if row.Price != tt.price || row.Name == "" {
								t.Errorf("row %+v, want the whole row with price %v", row, tt.price)
							}
							var fromData Item
							must(t, json.Unmarshal(ch.Data, &fromData))
							if fromData.Price != tt.price || fromData.ID != row.ID || fromData.Name != row.Name {
								t.Errorf("data %s does not match row %+v", ch.Data, row)
							}
						}
					}
				})
			}
		}
		capture.SetKeyQuery(e.c, false)
	})
}

// TestSoftDelete proves that a soft delete is a delete, that a row deleted
// softly already is not deleted again, and that Unscoped deletes publish too.
func TestSoftDelete(t *testing.T) {
	forEachDB(t, func(t *testing.T, e *env) {
		e.seed(t, &Doc{Title: "a"}, &Doc{Title: "b"}, &Doc{Title: "c"})
		steps := []struct {
			name  string
			write func(db *gorm.DB) error
			want  []string
		}{
			{"soft Delete", func(db *gorm.DB) error { return db.Delete(&Doc{ID: 1}).Error }, []string{"delete:docs:1"}},
			{"soft Delete again", func(db *gorm.DB) error { return db.Delete(&Doc{ID: 1}).Error }, nil},
			{"Unscoped Delete of a soft-deleted row", func(db *gorm.DB) error { return db.Unscoped().Delete(&Doc{ID: 1}).Error }, []string{"delete:docs:1"}},
			{"Unscoped Delete", func(db *gorm.DB) error { return db.Unscoped().Delete(&Doc{ID: 2}).Error }, []string{"delete:docs:2"}},
			{"soft Where Delete", func(db *gorm.DB) error { return db.Where("title <> ?", "").Delete(&Doc{}).Error }, []string{"delete:docs:3"}},
		}
		for _, s := range steps {
			must(t, s.write(e.db))
			if got := summary(e.rec.take()); !slices.Equal(got, s.want) {
				t.Fatalf("%s: published %q, want %q", s.name, got, s.want)
			}
		}
	})
}

// TestRowIsCopy proves that a change keeps its own copy of the row: the
// caller changing its value after the write changes neither Row nor Data.
func TestRowIsCopy(t *testing.T) {
	forEachDB(t, func(t *testing.T, e *env) {
		it := &Item{Name: "a", Price: 1, Tags: []string{"x"}}
		must(t, e.db.Create(it).Error)
		it.Name, it.Tags[0] = "changed", "changed"
		got := e.rec.take()
		row := got[0][0].Row.(*Item)
		if row == it || row.Name != "a" || row.Tags[0] != "x" {
			t.Fatalf("row %+v follows the caller's value", row)
		}
		if d := string(got[0][0].Data); d != `{"id":1,"name":"a","price":1,"tags":["x"]}` {
			t.Fatalf("data %s", d)
		}
	})
}

// TestNestedWrites proves that the writes GORM makes for a statement, saving
// associations or running hooks, join its transaction and follow it in order.
func TestNestedWrites(t *testing.T) {
	forEachDB(t, func(t *testing.T, e *env) {
		must(t, e.db.Create(&Basket{Fruits: []Fruit{{Name: "apple"}, {Name: "pear"}}}).Error)
		must(t, e.db.Create(&Hooked{Name: "x"}).Error)
		got := e.rec.take()
		want := []string{"create:baskets:1 create:fruits:1 create:fruits:2", "create:hookeds:1 create:tags:hook-x"}
		if !slices.Equal(summary(got), want) {
			t.Fatalf("published %q, want %q", summary(got), want)
		}
		if d := string(got[0][2].Data); d != `{"id":2,"basket_id":1,"name":"pear"}` {
			t.Errorf("data %s", d)
		}
	})
}

// TestDeleteCarriesTheRow proves that a delete's change holds the row as
// it was deleted (so realtime rules can authorise it by its columns) and
// no Data, for one row and for a bulk delete.
func TestDeleteCarriesTheRow(t *testing.T) {
	forEachDB(t, func(t *testing.T, e *env) {
		e.seed(t, &Item{Name: "a", Price: 1}, &Item{Name: "b", Price: 2}, &Item{Name: "c", Price: 3})
		must(t, e.db.Delete(&Item{ID: 1}).Error)
		must(t, e.db.Where("price > ?", 1).Delete(&Item{}).Error)
		var got []string
		for _, c := range e.rec.take() {
			for _, ch := range c {
				row, ok := ch.Row.(*Item)
				if ch.Op != capture.Delete || !ok || ch.Data != nil {
					t.Fatalf("change %+v: want a delete with its row and no data", ch)
				}
				got = append(got, row.Name)
			}
		}
		slices.Sort(got)
		if !slices.Equal(got, []string{"a", "b", "c"}) {
			t.Fatalf("deleted rows %q, want a b c", got)
		}
	})
}
