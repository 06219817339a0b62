package binding_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/fastapi-easy/easy-go/easy/problem"
	"github.com/fastapi-easy/easy-go/internal/binding"
)

// fuzzOrder holds a constraint of each kind binding checks: required
// fields, bounds, patterns, an enum, lists, a nested object behind a
// pointer, pointers to scalars and a type that decodes itself.
type fuzzOrder struct {
	Name    string       `json:"name" required:"true" minLength:"1" maxLength:"20"`
	Price   float64      `json:"price" minimum:"0" exclusiveMaximum:"1000"`
	Code    string       `json:"code,omitempty" pattern:"^[a-z]+$"`
	Kind    string       `json:"kind,omitempty" enum:"a,b"`
	Tags    []string     `json:"tags,omitempty" maxItems:"3"`
	Lines   []fuzzLine   `json:"lines,omitempty" maxItems:"4"`
	Address *fuzzAddress `json:"address,omitempty"`
	Count   *int         `json:"count,omitempty" minimum:"0"`
	Due     *time.Time   `json:"due,omitempty"`
}

type fuzzLine struct {
	SKU string `json:"sku" required:"true" pattern:"^[A-Z]{3}$"`
	Qty int    `json:"qty" minimum:"1" maximum:"100"`
}

type fuzzAddress struct {
	City string `json:"city" required:"true" minLength:"1" maxLength:"10"`
}

var (
	lowerWord = regexp.MustCompile(`^[a-z]+$`)
	skuWord   = regexp.MustCompile(`^[A-Z]{3}$`)
)

// FuzzBindBody sends arbitrary bytes as the JSON body of fuzzOrder. Binding
// never panics; it fills a value that keeps every constraint, or returns a
// ValidationError located in the body whose written form echoes no more
// than problem.Echo allows. Its seed corpus is in testdata/fuzz.
func FuzzBindBody(f *testing.F) {
	plans := map[string]*binding.Plan{}
	for name, opt := range map[string]binding.ObjectOptions{"ignore unknown": {}, "forbid unknown": {ForbidUnknown: true}} {
		p, err := binding.Compile(reflect.TypeFor[fuzzOrder](), binding.Options{ObjectOptions: opt})
		if err != nil {
			f.Fatal(err)
		}
		plans[name] = p
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		for name, plan := range plans {
			r := httptest.NewRequest(http.MethodPost, "/orders", bytes.NewReader(raw))
			r.Header.Set("Content-Type", "application/json")
			var o fuzzOrder
			err := plan.Bind(r, &o)
			if err == nil {
				checkOrder(t, name, raw, &o)
				continue
			}
			var ve *problem.ValidationError
			if !errors.As(err, &ve) || len(ve.Errors) == 0 {
				t.Fatalf("%s: %T %v, want a ValidationError", name, err, err)
			}
			for _, fe := range ve.Errors {
				if len(fe.Loc) == 0 || fe.Loc[0] != "body" {
					t.Fatalf("%s: error %+v is not located in the body", name, fe)
				}
			}
			checkEcho(t, name, ve)
		}
	})
}

// checkOrder checks that a bound order keeps the constraints of its type,
// with its required fields present in raw, and that it holds no U+FFFD
// the client did not send.
func checkOrder(t *testing.T, plan string, raw []byte, o *fuzzOrder) {
	t.Helper()
	fail := func(what string) { t.Fatalf("%s: %.300q accepted as %+.300v: %s", plan, raw, o, what) }
	if !utf8.Valid(raw) {
		fail("the body is not UTF-8")
	}
	// Keys as binding reads them: exact names, the last of a repeated one.
	var sent map[string]json.RawMessage
	if err := json.Unmarshal(raw, &sent); err != nil {
		fail("the body does not decode: " + err.Error())
	}
	if _, ok := sent["name"]; !ok {
		fail("name is missing")
	}
	if n := utf8.RuneCountInString(o.Name); n < 1 || n > 20 {
		fail("name length")
	}
	if o.Price < 0 || o.Price >= 1000 {
		fail("price out of bounds")
	}
	if _, ok := sent["code"]; (ok || o.Code != "") && !lowerWord.MatchString(o.Code) {
		fail("code does not match")
	}
	if o.Kind != "" && o.Kind != "a" && o.Kind != "b" {
		fail("kind not in the enum")
	}
	if len(o.Tags) > 3 || len(o.Lines) > 4 {
		fail("too many items")
	}
	var lines []map[string]json.RawMessage
	json.Unmarshal(sent["lines"], &lines)
	if len(lines) != len(o.Lines) {
		fail("lines not as sent")
	}
	for i, l := range o.Lines {
		if _, ok := lines[i]["sku"]; !ok || !skuWord.MatchString(l.SKU) {
			fail("a line's sku")
		}
		if _, ok := lines[i]["qty"]; (ok || l.Qty != 0) && (l.Qty < 1 || l.Qty > 100) {
			fail("a line's qty")
		}
	}
	if o.Address != nil {
		var address map[string]json.RawMessage
		if json.Unmarshal(sent["address"], &address) != nil || address == nil {
			fail("an address from nowhere")
		}
		if _, ok := address["city"]; !ok {
			fail("the address's city is missing")
		}
		if n := utf8.RuneCountInString(o.Address.City); n < 1 || n > 10 {
			fail("the city's length")
		}
	}
	if o.Count != nil && *o.Count < 0 {
		fail("count below 0")
	}
	if !bytes.Contains(raw, []byte("\uFFFD")) && !bytes.Contains(bytes.ToLower(raw), []byte(`\ufffd`)) {
		strs := append([]string{o.Name, o.Code, o.Kind}, o.Tags...)
		for _, l := range o.Lines {
			strs = append(strs, l.SKU)
		}
		if o.Address != nil {
			strs = append(strs, o.Address.City)
		}
		for _, s := range strs {
			if strings.ContainsRune(s, utf8.RuneError) {
				fail("U+FFFD the client did not send")
			}
		}
	}
}

// checkEcho writes ve as a response does and checks what it echoes.
func checkEcho(t *testing.T, plan string, ve *problem.ValidationError) {
	t.Helper()
	w := httptest.NewRecorder()
	problem.Write(w, httptest.NewRequest(http.MethodPost, "/orders", nil), nil, ve)
	if w.Code != http.StatusUnprocessableEntity {
		t.Fatalf("%s: written as %d %s", plan, w.Code, w.Body)
	}
	var body struct {
		Detail []struct {
			Msg   string `json:"msg"`
			Input any    `json:"input"`
		} `json:"detail"`
	}
	if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil {
		t.Fatalf("%s: %v in %s", plan, err, w.Body)
	}
	if len(body.Detail) > problem.MaxErrors {
		t.Fatalf("%s: %d errors written", plan, len(body.Detail))
	}
	maxMsg := len("Value error, ") + problem.MaxInput + len("…")
	for _, d := range body.Detail {
		if len(d.Msg) > maxMsg {
			t.Fatalf("%s: a msg of %d bytes: %.300s", plan, len(d.Msg), d.Msg)
		}
		if n := echoed(t, plan, d.Input); n > problem.MaxInputValues {
			t.Fatalf("%s: an input of %d values: %.300v", plan, n, d.Input)
		}
	}
}

// echoed counts the values of an echoed input below its top, besides the
// marks of a cut, and fails on a string past the bound.
func echoed(t *testing.T, plan string, v any) int {
	n := 0
	str := func(s string) {
		if len(s) > problem.MaxInput+len("…") {
			t.Fatalf("%s: an echoed string of %d bytes: %.300s", plan, len(s), s)
		}
	}
	switch v := v.(type) {
	case string:
		str(v)
	case []any:
		for _, e := range v {
			if e != "…" {
				n += 1 + echoed(t, plan, e)
			}
		}
	case map[string]any:
		for k, e := range v {
			str(k)
			if k != "…" {
				n += 1 + echoed(t, plan, e)
			}
		}
	}
	return n
}
