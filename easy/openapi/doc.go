// Package openapi builds the OpenAPI 3.1 document of an easy app with
// swaggest/openapi-go, from the same Go types that bind and validate each
// request, and serves it with an embedded Swagger UI.
//
//	spec := openapi.New(openapi.Info{Title: "Shop", Version: "1.0.0"})
//	err := spec.Add(openapi.Operation{
//		Method: "GET", Path: "/items/{id}", ID: "get_item",
//		Input: new(GetItemIn), Output: new(Item), Errors: []int{404, 422},
//	})
//	mux.Handle("/openapi.json", spec.JSONHandler())
//	mux.Handle("/docs/*", openapi.Docs("Shop", "/openapi.json", "/docs"))
//
// Schema names are the Go type names (Item, not MainItem); a type can
// choose its own by implementing Namer.
//
// The realtime API has an AsyncAPI 3.0 document built on the Spec, which
// shares its schemas and security schemes (NewAsyncAPI, AddChannel), and a
// page of its own (AsyncAPIDocs), embedded as Swagger UI is.
package openapi
