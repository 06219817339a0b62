package openapi

// Operation describes one route for the document.
type Operation struct {
	Method      string
	Path        string // with {name} parameters
	ID          string
	Summary     string
	Description string
	Tags        []string
	Deprecated  bool
	// Input is a pointer to the input struct: its path, query, header and
	// cookie fields are parameters, its json fields the request body.
	// A request body is documented as required, as the binding requires
	// one.
	Input any
	// Params are more pointers to structures whose path, query, header
	// and cookie fields are parameters of the operation: those of the
	// dependencies it uses.
	Params []any
	// Body is an extra request body structure, for inputs that take the
	// body in another type than Input.
	Body any
	// BodyRef names a schema component (see Spec.Derive) used as the
	// request body instead of one reflected from Input or Body.
	BodyRef string
	// BodyTypes are media types the request body may have besides
	// application/json, with the same schema (application/merge-patch+json).
	BodyTypes []string
	// Output is a pointer to the response body; nil for no body.
	Output any
	// Status is the success status; 200 when zero.
	Status int
	// Errors are the error statuses the operation can return. 422 is
	// documented as HTTPValidationError, the others as HTTPError.
	Errors []int
	// Empty are statuses the operation answers without a body, such as
	// 304 Not Modified.
	Empty []int
	// Security lists the security schemes the operation requires, all of
	// them at once; see Spec.AddSecurityScheme.
	Security []Security
	// ResponseHeaders are headers of the success response (X-Total-Count
	// of a list, say).
	ResponseHeaders []Header
}

// Header documents a response header.
type Header struct {
	Name        string
	Description string
	// Schema is the header value's JSON Schema, such as
	// map[string]any{"type": "integer"}; a string when nil.
	Schema map[string]any
	// Statuses are the responses that carry the header; the success
	// status when empty.
	Statuses []int
}

// Security names a security scheme an operation requires.
type Security struct {
	Name   string
	Scopes []string
}
