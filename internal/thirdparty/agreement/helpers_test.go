package agreement_test

import (
	"bytes"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/pb33f/libopenapi"
	validator "github.com/pb33f/libopenapi-validator"

	"github.com/fastapi-easy/easy-go/internal/testkit"
)

// requestValidator checks requests against a document with
// libopenapi-validator, to tell whether the document admits a request.
type requestValidator struct{ v validator.Validator }

func newRequestValidator(t *testing.T, spec []byte) *requestValidator {
	t.Helper()
	doc, err := libopenapi.NewDocument(spec)
	if err != nil {
		t.Fatal(err)
	}
	v, errs := validator.NewValidator(doc)
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	return &requestValidator{v}
}

// admits reports whether the document accepts req, and why not.
func (rv *requestValidator) admits(req *http.Request, body string) (bool, string) {
	r := req.Clone(req.Context())
	r.Body = io.NopCloser(strings.NewReader(body))
	ok, errs := rv.v.ValidateHttpRequest(r)
	var b bytes.Buffer
	for _, e := range errs {
		b.WriteString(e.Message + ": " + e.Reason + "; ")
		for _, se := range e.SchemaValidationErrors {
			b.WriteString(se.FieldPath + " " + se.Reason + "; ")
		}
	}
	return ok, b.String()
}

// agree sends a request and fails t unless the server accepts it (2xx)
// exactly when the document does.
func agree(t *testing.T, rv *requestValidator, res testkit.Response, body string) {
	t.Helper()
	specOK, why := rv.admits(res.Request, body)
	serverOK := res.Status >= 200 && res.Status < 300
	if specOK != serverOK {
		t.Errorf("%s %s %q (headers %v):\n  the document admits it: %v %s\n  the server answers %d %s",
			res.Request.Method, res.Request.URL.RequestURI(), body, res.Request.Header, specOK, why, res.Status, res.Body)
	}
}
