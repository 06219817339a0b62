package openapi_test

import (
	"encoding/json"
	"fmt"

	"github.com/fastapi-easy/easy-go/easy/openapi"
)

type GetItemIn struct {
	ID int `path:"id" minimum:"1"`
}

type Item struct {
	ID   int    `json:"id"`
	Name string `json:"name" required:"true"`
}

// Money chooses its own schema name.
type Money struct {
	Cents int `json:"cents"`
}

func (Money) SchemaName() string { return "Amount" }

type Priced struct {
	Item
	Price Money `json:"price"`
}

// A Spec collects operations; their inputs and outputs are reflected
// into parameters and schemas, their errors into FastAPI's error bodies.
func ExampleSpec_Add() {
	spec := openapi.New(openapi.Info{Title: "Shop", Version: "1.0.0"})
	err := spec.Add(openapi.Operation{
		Method: "GET", Path: "/items/{id}", ID: "get_item",
		Input: new(GetItemIn), Output: new(Priced), Errors: []int{404, 422},
	})
	if err != nil {
		panic(err)
	}
	b, _ := spec.MarshalJSON()
	var doc struct {
		Paths map[string]map[string]struct {
			Responses map[string]any `json:"responses"`
		} `json:"paths"`
		Components struct {
			Schemas map[string]any `json:"schemas"`
		} `json:"components"`
	}
	json.Unmarshal(b, &doc)
	for code := range doc.Paths["/items/{id}"]["get"].Responses {
		fmt.Println("response", code)
	}
	for _, name := range []string{"Priced", "Amount", "HTTPError", "HTTPValidationError"} {
		_, ok := doc.Components.Schemas[name]
		fmt.Println(name, ok)
	}
	// Unordered output:
	// Priced true
	// Amount true
	// HTTPError true
	// HTTPValidationError true
	// response 200
	// response 404
	// response 422
}
