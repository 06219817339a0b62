package query_test

import (
	"context"
	"fmt"

	"github.com/fastapi-easy/easy-go/easy/query"
)

type Fruit struct {
	ID    uint    `json:"id" gorm:"primaryKey"`
	Name  string  `json:"name"`
	Price float64 `json:"price"`
	Owner string  `json:"owner"`
}

// ParseFilter parses filters of the list language to match rows in
// memory, as a realtime subscription filters events.
func ExampleParseFilter() {
	f, err := query.ParseFilter[Fruit](map[string]string{"price__lte": "5", "name__ilike": "APP"})
	if err != nil {
		panic(err)
	}
	fmt.Println(f.Match(&Fruit{Name: "Apple", Price: 1.5}))
	fmt.Println(f.Match(&Fruit{Name: "pineapple", Price: 7}))

	_, err = query.ParseFilter[Fruit](map[string]string{"price__gt": "cheap"})
	fmt.Println(err)
	// Output:
	// true
	// false
	// validation failed: [query price__gt]: Input should be a valid number, unable to parse string as a number
}

type userKey struct{}

// Rows is a row policy: written once, the CRUD router applies it in SQL
// and the realtime endpoint to each event. Here, a request sees the rows
// it owns.
func ExampleRows() {
	owner := query.Rows("owner", func(ctx context.Context) (any, error) {
		return ctx.Value(userKey{}), nil
	})
	p, err := query.New(Fruit{}, nil, query.Config{})
	if err != nil {
		panic(err)
	}
	ctx := context.WithValue(context.Background(), userKey{}, "alice")
	mine, err := p.Scope(ctx, owner)
	if err != nil {
		panic(err)
	}
	fmt.Println(mine.Match(Fruit{Name: "fig", Owner: "alice"}), mine.Match(Fruit{Name: "kiwi", Owner: "bob"}))

	var created Fruit
	mine.Fill(&created) // a row alice creates is hers, whatever she sent
	fmt.Println(created.Owner)
	// Output:
	// true false
	// alice
}
