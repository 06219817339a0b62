// Package easy is a web framework in the style of FastAPI, built on
// generics. From Go types alone it gives a typed HTTP API with validation,
// an OpenAPI 3.1 document with Swagger UI, a CRUD API over GORM and
// realtime change events over WebSocket (package easy/ws).
//
//	type HelloIn struct {
//		Name  string `path:"name" minLength:"1"`
//		Shout bool   `query:"shout"`
//	}
//
//	app := easy.New()
//	easy.Get(app, "/hello/{name}", func(ctx context.Context, in *HelloIn) (*Greeting, error) {
//		return &Greeting{Message: "Hello, " + in.Name}, nil
//	})
//	log.Fatal(app.Run(":8000")) // Swagger UI at /docs, the spec at /openapi.json
//
// An input struct's fields tagged path, query, header and cookie are
// parameters and its fields tagged json are the body, as
// swaggest/openapi-go reads them. The constraint tags (required, minimum,
// maximum, exclusiveMinimum, exclusiveMaximum, minLength, maxLength,
// pattern, enum, format, minItems, maxItems, default) are both shown in the
// document and enforced; a request that breaks them gets FastAPI's 422 with
// every problem listed.
//
// Errors are JSON {"detail": ...}. A handler returns an *HTTPError (see
// NewHTTPError, NotFound, Conflict, ...) for a client error; any other
// error is a 500 that is logged and shows nothing internal.
package easy
