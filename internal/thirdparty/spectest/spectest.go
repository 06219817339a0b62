// Package spectest checks an OpenAPI document and the traffic of an app
// against it with a third-party validator (pb33f/libopenapi-validator),
// so that tests do not take the framework's word for its own spec.
package spectest

import (
	"bytes"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/pb33f/libopenapi"
	validator "github.com/pb33f/libopenapi-validator"
)

// Validator checks a document and responses against it.
type Validator struct {
	v validator.Validator
}

// New parses spec and fails t unless it is a valid OpenAPI 3.1 document.
func New(t testing.TB, spec []byte) *Validator {
	t.Helper()
	doc, err := libopenapi.NewDocument(spec)
	if err != nil {
		t.Fatalf("spectest: parse document: %v", err)
	}
	v, errs := validator.NewValidator(doc)
	if len(errs) > 0 {
		t.Fatalf("spectest: build validator: %v", errs)
	}
	if ok, verrs := v.ValidateDocument(); !ok {
		var b strings.Builder
		for _, e := range verrs {
			b.WriteString("\n  " + e.Message + ": " + e.Reason)
			for _, se := range e.SchemaValidationErrors {
				b.WriteString("\n    " + se.FieldPath + " " + se.KeywordLocation + ": " + se.Reason)
			}
		}
		t.Fatalf("spectest: the document is not valid OpenAPI:%s", b.String())
	}
	return &Validator{v: v}
}

// Fetch reads the document at url and validates it.
func Fetch(t testing.TB, url string) (*Validator, []byte) {
	t.Helper()
	res, err := http.Get(url)
	if err != nil {
		t.Fatalf("spectest: GET %s: %v", url, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil || res.StatusCode != http.StatusOK {
		t.Fatalf("spectest: GET %s: %d %v", url, res.StatusCode, err)
	}
	return New(t, b), b
}

// Response checks that res, the answer to req, is what the document
// promises for that operation and status. body is res's body, already read.
func (v *Validator) Response(t testing.TB, req *http.Request, res *http.Response, body []byte) {
	t.Helper()
	r := *res
	r.Body = io.NopCloser(bytes.NewReader(body))
	if ok, errs := v.v.ValidateHttpResponse(req, &r); !ok {
		var b strings.Builder
		for _, e := range errs {
			b.WriteString("\n  " + e.Message + ": " + e.Reason)
			for _, se := range e.SchemaValidationErrors {
				b.WriteString("\n    " + se.FieldPath + " " + se.KeywordLocation + ": " + se.Reason)
			}
		}
		t.Errorf("spectest: %s %s → %d does not match the document:%s\nbody: %s", req.Method, req.URL, res.StatusCode, b.String(), body)
	}
}
