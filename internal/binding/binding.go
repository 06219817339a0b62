// Package binding turns an HTTP request into a typed input struct: path,
// query, header and cookie parameters from fields tagged with those names,
// and the JSON body from fields tagged json, as swaggest/openapi-go reflects
// the same struct into the OpenAPI document. The constraints checked are
// read from that reflected schema, so the spec and the checks are one.
package binding

import (
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"reflect"
	"strings"

	"github.com/fastapi-easy/easy-go/easy/problem"
)

// Locations of parameters, in the order they are bound.
var paramIns = []string{"path", "query", "header", "cookie"}

// Plan is the compiled binding of one input type.
type Plan struct {
	typ    reflect.Type
	params []*param
	query  bool // some parameter is in the query
	body   *object
}

// Options adjust a Plan.
type Options struct {
	ObjectOptions
	// PathValue returns a path parameter of the request. It is required
	// when the input has path parameters.
	PathValue func(r *http.Request, name string) string
}

// Compile builds the binding of t, a struct type. A struct with no tagged
// fields binds nothing.
func Compile(t reflect.Type, opt Options) (*Plan, error) {
	if t.Kind() != reflect.Struct {
		return nil, fmt.Errorf("binding: input must be a struct, not %s", t)
	}
	p := &Plan{typ: t}
	for _, in := range paramIns {
		ps, err := compileParams(t, in, opt)
		if err != nil {
			return nil, fmt.Errorf("binding: %s: %w", t, err)
		}
		p.params = append(p.params, ps...)
		p.query = p.query || in == "query" && len(ps) > 0
	}
	if hasTag(t, "json") {
		s, err := reflectSchema(t, "json")
		if err != nil {
			return nil, fmt.Errorf("binding: %s: %w", t, err)
		}
		if p.body, err = compileObject(t, s, opt.ObjectOptions, 0); err != nil {
			return nil, fmt.Errorf("binding: %s: %w", t, err)
		}
	}
	return p, nil
}

// HasBody reports whether the input takes a JSON body.
func (p *Plan) HasBody() bool { return p.body != nil }

// HasParams reports whether the input takes any parameter.
func (p *Plan) HasParams() bool { return len(p.params) > 0 }

// Bind fills dst, a pointer to the plan's struct type, from r. Problems
// with the input are returned as a *problem.ValidationError holding all of
// them, or a *problem.HTTPError for a body that is too large (413) or not
// JSON (415).
func (p *Plan) Bind(r *http.Request, dst any) error {
	v := reflect.ValueOf(dst).Elem()
	var errs problem.ValidationError
	p.bindParams(r, v, &errs)
	if p.body != nil {
		if err := p.bindBody(r, v, &errs, nil); err != nil {
			return err
		}
	}
	return heapErr(&errs)
}

// heapErr returns errs as an error, or nil for none. A new value rather
// than errs itself, which would then be on the heap for every request.
func heapErr(errs *problem.ValidationError) error {
	if len(errs.Errors) == 0 {
		return nil
	}
	return &problem.ValidationError{Errors: errs.Errors}
}

// BindPresent is Bind for a partial update: it also returns the JSON names
// of the top-level body fields the client sent.
func (p *Plan) BindPresent(r *http.Request, dst any) (map[string]bool, error) {
	v := reflect.ValueOf(dst).Elem()
	var errs problem.ValidationError
	p.bindParams(r, v, &errs)
	present := map[string]bool{}
	if p.body != nil {
		if err := p.bindBody(r, v, &errs, func(name string) { present[name] = true }); err != nil {
			return nil, err
		}
	}
	return present, heapErr(&errs)
}

func (p *Plan) bindParams(r *http.Request, v reflect.Value, errs *problem.ValidationError) {
	var q url.Values
	if p.query {
		var err error
		if q, err = Query(r); err != nil {
			errs.Errors = append(errs.Errors, err.(*problem.ValidationError).Errors...)
			return
		}
	}
	for _, prm := range p.params {
		prm.bind(r, q, v, errs)
	}
}

func (p *Plan) bindBody(r *http.Request, v reflect.Value, errs *problem.ValidationError, seen func(string)) error {
	raw, err := ReadBody(r)
	if err != nil {
		return err
	}
	if len(raw) == 0 {
		errs.Errors = append(errs.Errors, problem.FieldError{Type: "missing", Loc: []any{"body"}, Msg: "Field required"})
		return nil
	}
	p.body.decode(raw, v, []any{"body"}, errs, seen)
	return nil
}

// ReadBody reads a JSON request body. It returns a 415 HTTPError for a
// body of another content type, in a charset other than UTF-8 or with a
// content coding, a 413 for one past the server's limit
// (http.MaxBytesReader), and a 422 for malformed JSON.
func ReadBody(r *http.Request) ([]byte, error) {
	if err := checkContent(r.Header); err != nil {
		return nil, err
	}
	raw, err := io.ReadAll(r.Body)
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			// In the words of the App's limit on a declared Content-Length.
			return nil, problem.New(http.StatusRequestEntityTooLarge, "Request body is too large")
		}
		return nil, problem.New(http.StatusBadRequest, "Could not read the request body")
	}
	if len(raw) > 0 && r.Header.Get("Content-Type") == "" {
		return nil, notJSON()
	}
	if len(raw) > 0 {
		if err := checkJSON(raw); err != nil {
			return nil, err
		}
	}
	return raw, nil
}

func notJSON() error {
	return problem.New(http.StatusUnsupportedMediaType, "Unsupported Media Type: expected application/json")
}

// checkContent refuses, before a byte of the body is read, a body that
// says it is not JSON in UTF-8 as it stands. JSON is UTF-8 (RFC 8259), of
// which US-ASCII is a part; a body in another charset would be read as
// UTF-8 and kept wrong. A content coding is refused rather than decoded,
// as FastAPI does not decode one either, and a compressed body could not
// be held to the body limit before it was inflated; the 415 says so in
// Accept-Encoding (RFC 9110, section 15.5.16).
func checkContent(h http.Header) error {
	if ct := h.Get("Content-Type"); ct != "" {
		mt, params, err := mime.ParseMediaType(ct)
		if err != nil || !isJSON(mt) {
			return notJSON()
		}
		if cs, ok := params["charset"]; ok && !strings.EqualFold(cs, "utf-8") && !strings.EqualFold(cs, "us-ascii") {
			return problem.New(http.StatusUnsupportedMediaType, "Unsupported Media Type: expected application/json; charset=utf-8")
		}
	}
	for _, v := range h.Values("Content-Encoding") {
		for coding := range strings.SplitSeq(v, ",") {
			if c := strings.TrimSpace(coding); c != "" && !strings.EqualFold(c, "identity") {
				return &problem.HTTPError{Status: http.StatusUnsupportedMediaType,
					Detail:  "Unsupported Media Type: expected a body without Content-Encoding",
					Headers: http.Header{"Accept-Encoding": {"identity"}}}
			}
		}
	}
	return nil
}

func isJSON(mediaType string) bool {
	return mediaType == "application/json" || len(mediaType) > 5 && mediaType[len(mediaType)-5:] == "+json"
}

// hasTag reports whether t or a struct it embeds has a field with tag.
func hasTag(t reflect.Type, tag string) bool {
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if _, ok := tagName(f, tag); ok && f.IsExported() {
			return true
		}
		if f.Anonymous && f.Type.Kind() == reflect.Struct && hasTag(f.Type, tag) {
			return true
		}
	}
	return false
}
