package easy_test

import (
	"context"
	"net/http"
	"testing"

	"github.com/fastapi-easy/easy-go/easy"
	"github.com/fastapi-easy/easy-go/internal/testkit"
)

type SKULine struct {
	SKU string `json:"sku" required:"true" pattern:"^[A-Z]{3}$"`
}

type LinesIn struct {
	Lines []*SKULine          `json:"lines,omitempty"`
	ByKey map[string]*SKULine `json:"by_key,omitempty"`
	Named map[string]SKULine  `json:"named,omitempty"`
}

// The elements of a slice or map of structs, or of pointers to them, are
// validated as a struct field is, and a null among them is a 422: the
// handler never sees a nil element.
func TestNestedElementsAreValidated(t *testing.T) {
	app, _ := newApp(t)
	easy.Post(app, "/orders", func(ctx context.Context, in *LinesIn) (*LinesIn, error) {
		for _, l := range in.Lines {
			_ = l.SKU // a nil line would panic here
		}
		return in, nil
	})
	srv := testkit.Serve(t, app)

	testkit.Do(t, srv, "POST", "/orders", `{"lines":[{"sku":"ABC"}],"by_key":{"a":{"sku":"DEF"}},"named":{"b":{"sku":"GHI"}}}`).
		Expect(t, http.StatusOK, `{"lines":[{"sku":"ABC"}],"by_key":{"a":{"sku":"DEF"}},"named":{"b":{"sku":"GHI"}}}`)
	const bad = `"msg":"String should match pattern '^[A-Z]{3}$'","input":"bad","ctx":{"pattern":"^[A-Z]{3}$"}`
	for _, c := range []struct{ name, body, want string }{
		{"a slice of pointers", `{"lines":[{"sku":"bad"}]}`,
			`{"detail":[{"type":"string_pattern_mismatch","loc":["body","lines",0,"sku"],` + bad + `}]}`},
		{"a null in a slice of pointers", `{"lines":[null]}`,
			`{"detail":[{"type":"model_attributes_type","loc":["body","lines",0],"msg":"Input should be a valid dictionary or object to extract fields from","input":null}]}`},
		{"a required field in a slice of pointers", `{"lines":[{}]}`,
			`{"detail":[{"type":"missing","loc":["body","lines",0,"sku"],"msg":"Field required","input":{}}]}`},
		{"a map of pointers", `{"by_key":{"a":{"sku":"bad"}}}`,
			`{"detail":[{"type":"string_pattern_mismatch","loc":["body","by_key","a","sku"],` + bad + `}]}`},
		{"a null in a map of pointers", `{"by_key":{"a":null}}`,
			`{"detail":[{"type":"model_attributes_type","loc":["body","by_key","a"],"msg":"Input should be a valid dictionary or object to extract fields from","input":null}]}`},
		{"a map of structs", `{"named":{"b":{"sku":"bad"}}}`,
			`{"detail":[{"type":"string_pattern_mismatch","loc":["body","named","b","sku"],` + bad + `}]}`},
		{"not a map", `{"named":[1]}`,
			`{"detail":[{"type":"dict_type","loc":["body","named"],"msg":"Input should be a valid dictionary","input":[1]}]}`},
	} {
		t.Run(c.name, func(t *testing.T) {
			testkit.Do(t, srv, "POST", "/orders", c.body).Expect(t, http.StatusUnprocessableEntity, c.want)
		})
	}
}

// An embedded pointer to a struct is refused when the operation is
// registered: its fields could not be filled without making it.
func TestEmbeddedPointerIsRefused(t *testing.T) {
	type Base struct {
		Name string `json:"name"`
	}
	type In struct {
		*Base
		Note string `json:"note"`
	}
	app, _ := newApp(t)
	defer func() {
		if recover() == nil {
			t.Error("an embedded *Base was accepted")
		}
	}()
	easy.Post(app, "/in", func(ctx context.Context, in *In) (*easy.NoContent, error) { return nil, nil })
}
