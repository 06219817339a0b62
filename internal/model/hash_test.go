package model_test

import (
	"reflect"
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/fastapi-easy/easy-go/internal/model"
)

type row struct {
	ID        uint           `json:"id" gorm:"primaryKey"`
	Name      string         `json:"name"`
	Note      *string        `json:"note"`
	Price     float64        `json:"price"`
	At        time.Time      `json:"at"`
	Tags      []string       `json:"tags" gorm:"serializer:json"`
	DeletedAt gorm.DeletedAt `json:"deleted_at"`
	Extra     string         `json:"extra" gorm:"-"`
}

// TestHash checks that a row's hash depends on its column values alone:
// not on the zone a time is read in, nor on what a database drops (the
// nanoseconds past the microsecond), nor on fields that are not columns;
// and that any change of a column changes it.
func TestHash(t *testing.T) {
	typ := reflect.TypeFor[row]()
	sch, err := model.Parse(typ, nil)
	if err != nil {
		t.Fatal(err)
	}
	m, err := model.New(typ, sch, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2024, 5, 1, 10, 0, 0, 123456789, time.UTC)
	note := "n"
	base := row{ID: 1, Name: "a", Note: &note, Price: 1.5, At: at, Tags: []string{"x"}}
	same := []row{
		{ID: 1, Name: "a", Note: new("n"), Price: 1.5, At: at.In(time.FixedZone("X", 3600)), Tags: []string{"x"}},
		{ID: 1, Name: "a", Note: &note, Price: 1.5, At: at.Truncate(time.Microsecond), Tags: []string{"x"}, Extra: "not a column"},
	}
	other := []row{
		{ID: 2, Name: "a", Note: &note, Price: 1.5, At: at, Tags: []string{"x"}},
		{ID: 1, Name: "b", Note: &note, Price: 1.5, At: at, Tags: []string{"x"}},
		{ID: 1, Name: "a", Price: 1.5, At: at, Tags: []string{"x"}},
		{ID: 1, Name: "a", Note: new(""), Price: 1.5, At: at, Tags: []string{"x"}},
		{ID: 1, Name: "a", Note: &note, Price: 1.25, At: at, Tags: []string{"x"}},
		{ID: 1, Name: "a", Note: &note, Price: 1.5, At: at.Add(time.Microsecond), Tags: []string{"x"}},
		{ID: 1, Name: "a", Note: &note, Price: 1.5, At: at, Tags: []string{"x", "y"}},
		{ID: 1, Name: "a", Note: &note, Price: 1.5, At: at, Tags: []string{"x"}, DeletedAt: gorm.DeletedAt{Time: at, Valid: true}},
		{ID: 1, Name: "a\x00", Note: &note, Price: 1.5, At: at, Tags: []string{"x"}},
	}
	want := m.Hash(&base)
	for i := range same {
		if got := m.Hash(&same[i]); got != want {
			t.Errorf("%+v hashes apart from %+v", same[i], base)
		}
	}
	seen := map[[32]byte]int{}
	for i := range other {
		h := m.Hash(&other[i])
		if h == want {
			t.Errorf("%+v hashes as %+v", other[i], base)
		}
		if j, ok := seen[h]; ok {
			t.Errorf("rows %d and %d hash alike", i, j)
		}
		seen[h] = i
	}
}
