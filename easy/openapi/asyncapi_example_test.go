package openapi_test

import (
	"encoding/json"
	"fmt"
	"net/http/httptest"

	"github.com/fastapi-easy/easy-go/easy/openapi"
)

// An AsyncAPI document shares its schemas with the OpenAPI document it is
// built on: the Item of a message is the Item component.
func ExampleNewAsyncAPI() {
	spec := openapi.New(openapi.Info{Title: "Shop", Version: "1.0.0"})
	doc := openapi.NewAsyncAPI(spec, openapi.Info{Title: "Shop", Version: "1.0.0"})
	err := doc.AddChannel(openapi.Channel{
		ID:      "items",
		Address: "/ws/items",
		Send: []openapi.Message{{Name: "create", Payload: map[string]any{
			"type":       "object",
			"properties": map[string]any{"data": openapi.SchemaOf{V: Item{}}},
		}}},
	})
	if err != nil {
		panic(err)
	}
	d, err := doc.Document(httptest.NewRequest("GET", "http://shop.example.com/asyncapi.json", nil))
	if err != nil {
		panic(err)
	}
	for _, path := range [][]string{
		{"servers", "websocket"},
		{"channels", "items", "messages", "create", "payload", "properties", "data"},
		{"operations", "items.send", "action"},
		{"components", "schemas", "Item", "required"},
	} {
		b, _ := json.Marshal(dig(d, path...))
		fmt.Println(string(b))
	}
	// Output:
	// {"description":"WebSocket; every message is a JSON text frame.","host":"shop.example.com","protocol":"ws"}
	// {"$ref":"#/components/schemas/Item"}
	// "send"
	// ["name"]
}
