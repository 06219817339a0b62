package binding

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/fastapi-easy/easy-go/easy/problem"
)

// MaxQueryParams is the most parameters a query string may hold. Go's
// url.ParseQuery drops every parameter past its own bound (10,000) without
// an error, and a filter with them; Query refuses such a query instead.
const MaxQueryParams = 1000

// Query parses the query string of r, strictly: a semicolon, a bad
// percent escape or more than MaxQueryParams parameters is a 422 naming
// the problem, where url.Values would drop what it cannot read and go on.
// Every part of easy that reads a query (typed operations, dependencies,
// security schemes, the CRUD list and the realtime endpoints) reads it
// through Query, so they agree on what a query says.
func Query(r *http.Request) (url.Values, error) {
	return ParseQuery(r.URL.RawQuery)
}

// ParseQuery is Query for a raw query string.
func ParseQuery(raw string) (url.Values, error) {
	v := url.Values{}
	if raw == "" {
		return v, nil
	}
	if n := strings.Count(raw, "&") + 1; n > MaxQueryParams {
		return nil, queryError("too_many_parameters", fmt.Sprintf("Query string should have at most %d parameters, not %d", MaxQueryParams, n),
			raw, map[string]any{"max_parameters": MaxQueryParams})
	}
	for part := range strings.SplitSeq(raw, "&") {
		if part == "" {
			continue
		}
		if strings.IndexByte(part, ';') >= 0 {
			return nil, queryError("query_parsing", "Invalid query string: a semicolon does not separate parameters; use & between parameters, and %3B for a semicolon in a value", part, nil)
		}
		key, value, _ := strings.Cut(part, "=")
		k, err := url.QueryUnescape(key)
		if err == nil {
			value, err = url.QueryUnescape(value)
		}
		if err != nil {
			return nil, queryError("query_parsing", "Invalid query string: a % must start an escape of two hexadecimal digits, such as %25", part, nil)
		}
		v[k] = append(v[k], value)
	}
	return v, nil
}

// queryError is a 422 about the query string as a whole.
func queryError(typ, msg, input string, ctx map[string]any) error {
	return &problem.ValidationError{Errors: []problem.FieldError{{
		Type: typ, Loc: []any{"query"}, Msg: msg, Input: problem.Truncate(input), Ctx: ctx,
	}}}
}
