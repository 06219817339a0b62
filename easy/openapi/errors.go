package openapi

import (
	"github.com/swaggest/jsonschema-go"
)

// The error bodies below are what package easy/problem writes, as
// schemas. They are unexported (users read and make errors with
// easy/problem) and name their components as FastAPI does.

// httpError is the body of every error response but 422. Its detail is
// any JSON value, as FastAPI's HTTPException's is: easy writes a string,
// but a handler's easy.NewHTTPError(409, map[string]any{...}) writes an
// object, and a client generated from a string schema could not read it.
type httpError struct {
	Detail any `json:"detail" required:"true" description:"What went wrong: a message, as in every error easy writes itself, or any JSON value a handler gives (easy.NewHTTPError)."`
}

func (httpError) SchemaName() string { return "HTTPError" }

// httpValidationError is the body of a 422 response, as FastAPI writes it.
//
// Its slices are never null on the wire, but jsonschema-go documents a Go
// slice without omitempty as nullable; nullable:"false" says otherwise.
// On Loc it also keeps the shared Location component from turning
// nullable, which jsonschema-go would do through the $ref.
type httpValidationError struct {
	Detail []validationError `json:"detail" required:"true" nullable:"false"`
}

func (httpValidationError) SchemaName() string { return "HTTPValidationError" }

// validationError is one problem with a request.
type validationError struct {
	Loc   location       `json:"loc" required:"true" nullable:"false"`
	Msg   string         `json:"msg" required:"true"`
	Type  string         `json:"type" required:"true"`
	Input any            `json:"input,omitempty"`
	Ctx   map[string]any `json:"ctx,omitempty"`
}

func (validationError) SchemaName() string { return "ValidationError" }

// location is where a problem is: "body", "query", "path", "header" or
// "cookie", then field names and list indexes.
type location []any

func (location) SchemaName() string { return "Location" }

// PrepareJSONSchema documents a location as a list of strings and integers.
func (location) PrepareJSONSchema(s *jsonschema.Schema) error {
	str := jsonschema.String.ToSchemaOrBool()
	integer := jsonschema.Integer.ToSchemaOrBool()
	item := (&jsonschema.Schema{}).WithAnyOf(str, integer).ToSchemaOrBool()
	s.Type = nil
	s.WithType(jsonschema.Array.Type())
	s.Items = &jsonschema.Items{SchemaOrBool: &item}
	return nil
}
