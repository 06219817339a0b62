package easy_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fastapi-easy/easy-go/easy"
	"github.com/fastapi-easy/easy-go/internal/testkit"
)

// Order is the input of the tests of request bodies: a required string
// with bounds, a free string, a nested list and a type that decodes itself.
type Order struct {
	Name  string      `json:"name" required:"true" minLength:"1" maxLength:"20"`
	Note  string      `json:"note,omitempty"`
	Lines []OrderLine `json:"lines,omitempty" maxItems:"3"`
	Due   *time.Time  `json:"due,omitempty"`
}

type OrderLine struct {
	SKU string `json:"sku" required:"true" pattern:"^[A-Z]{3}$"`
}

// orders serves POST /orders on an App, answering the order it bound, and
// counts the requests that reached the handler.
type orders struct {
	srv   *httptest.Server
	calls atomic.Int32
}

func ordersApp(t *testing.T) *orders {
	t.Helper()
	o := &orders{}
	app := easy.New()
	easy.Post(app, "/orders", func(ctx context.Context, in *Order) (*Order, error) {
		o.calls.Add(1)
		return in, nil
	})
	o.srv = testkit.Serve(t, app)
	return o
}

func (o *orders) post(t *testing.T, body string, header ...string) testkit.Response {
	t.Helper()
	return testkit.Do(t, o.srv, "POST", "/orders", body, header...)
}

// Text that is not UTF-8 is malformed JSON, like a syntax error, and never
// reaches the handler: encoding/json would keep U+FFFD in its place.
func TestBodyNotUTF8(t *testing.T) {
	o := ordersApp(t)
	cases := []struct {
		name, body string
		status     int
		want       string
	}{
		{"a byte that is not UTF-8", "{\"name\":\"a\xffb\"}", http.StatusUnprocessableEntity,
			`{"detail":[{"type":"json_invalid","loc":["body",11],"msg":"JSON decode error","input":{},"ctx":{"error":"invalid UTF-8 byte 0xff in string"}}]}`},
		{"a surrogate encoded in UTF-8", "{\"name\":\"ok\",\"note\":\"\xed\xa0\x80\"}", http.StatusUnprocessableEntity,
			`{"detail":[{"type":"json_invalid","loc":["body",22],"msg":"JSON decode error","input":{},"ctx":{"error":"invalid UTF-8 byte 0xed in string"}}]}`},
		{"a truncated character in a key", "{\"n\xc3\":1}", http.StatusUnprocessableEntity,
			`{"detail":[{"type":"json_invalid","loc":["body",4],"msg":"JSON decode error","input":{},"ctx":{"error":"invalid UTF-8 byte 0xc3 in string"}}]}`},
		{"a lone high surrogate", `{"name":"a\ud83d"}`, http.StatusUnprocessableEntity,
			`{"detail":[{"type":"json_invalid","loc":["body",16],"msg":"JSON decode error","input":{},"ctx":{"error":"lone surrogate \\ud83d in string"}}]}`},
		{"a lone low surrogate", `{"name":"\ude00a"}`, http.StatusUnprocessableEntity,
			`{"detail":[{"type":"json_invalid","loc":["body",15],"msg":"JSON decode error","input":{},"ctx":{"error":"lone surrogate \\ude00 in string"}}]}`},
		{"a high surrogate before another high one", `{"name":"\ud83d\ud83d\ude00"}`, http.StatusUnprocessableEntity,
			`{"detail":[{"type":"json_invalid","loc":["body",15],"msg":"JSON decode error","input":{},"ctx":{"error":"lone surrogate \\ud83d in string"}}]}`},
		{"an escaped backslash before u", `{"name":"\\ud800"}`, http.StatusOK, `{"name":"\\ud800"}`},
		{"a surrogate pair", `{"name":"\ud83d\ude00 \u00e9"}`, http.StatusOK, `{"name":"😀 é"}`},
		{"UTF-8 text", `{"name":"😀 é","note":"ü"}`, http.StatusOK, `{"name":"😀 é","note":"ü"}`},
		{"U+FFFD itself", `{"name":"\ufffd","note":"` + "\uFFFD" + `"}`, http.StatusOK, `{"name":"` + "\uFFFD" + `","note":"` + "\uFFFD" + `"}`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			before := o.calls.Load()
			o.post(t, c.body).Expect(t, c.status, c.want)
			if reached := o.calls.Load() > before; reached != (c.status == http.StatusOK) {
				t.Errorf("the handler ran: %v", reached)
			}
		})
	}
}

// A body in a charset other than UTF-8, or in a content coding, is refused
// before it is read: it would be read as UTF-8 JSON and kept wrong.
func TestBodyCharsetAndEncoding(t *testing.T) {
	o := ordersApp(t)
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write([]byte(`{"name":"apple"}`))
	zw.Close()
	const (
		badCharset  = `{"detail":"Unsupported Media Type: expected application/json; charset=utf-8"}`
		badEncoding = `{"detail":"Unsupported Media Type: expected a body without Content-Encoding"}`
		ok          = `{"name":"apple"}`
	)
	cases := []struct {
		name           string
		body           string
		header         []string
		status         int
		acceptEncoding string
		want           string
	}{
		{"utf-16", "\xff\xfe{\x00}\x00", []string{"Content-Type", "application/json; charset=utf-16"}, http.StatusUnsupportedMediaType, "", badCharset},
		{"UTF-16LE in capitals", ok, []string{"Content-Type", "application/json; charset=UTF-16LE"}, http.StatusUnsupportedMediaType, "", badCharset},
		{"latin-1", ok, []string{"Content-Type", "application/json;charset=iso-8859-1"}, http.StatusUnsupportedMediaType, "", badCharset},
		{"an empty charset", ok, []string{"Content-Type", `application/json; charset=""`}, http.StatusUnsupportedMediaType, "", badCharset},
		{"a +json type in utf-32", ok, []string{"Content-Type", "application/merge-patch+json; charset=utf-32"}, http.StatusUnsupportedMediaType, "", badCharset},
		{"utf-8", ok, []string{"Content-Type", "application/json; charset=utf-8"}, http.StatusOK, "", ok},
		{"UTF-8 quoted, in capitals", ok, []string{"Content-Type", `application/json; charset="UTF-8"`}, http.StatusOK, "", ok},
		{"us-ascii, a part of UTF-8", ok, []string{"Content-Type", "application/json; charset=US-ASCII"}, http.StatusOK, "", ok},
		{"no charset", ok, nil, http.StatusOK, "", ok},
		{"gzip", gz.String(), []string{"Content-Encoding", "gzip"}, http.StatusUnsupportedMediaType, "identity", badEncoding},
		{"GZIP without a Content-Type", gz.String(), []string{"Content-Type", "", "Content-Encoding", "GZIP"}, http.StatusUnsupportedMediaType, "identity", badEncoding},
		{"br", ok, []string{"Content-Encoding", "br"}, http.StatusUnsupportedMediaType, "identity", badEncoding},
		{"identity then deflate", ok, []string{"Content-Encoding", "identity, deflate"}, http.StatusUnsupportedMediaType, "identity", badEncoding},
		{"identity", ok, []string{"Content-Encoding", "identity"}, http.StatusOK, "", ok},
		{"a charset and a coding", ok, []string{"Content-Type", "application/json; charset=utf-16", "Content-Encoding", "gzip"}, http.StatusUnsupportedMediaType, "", badCharset},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			before := o.calls.Load()
			r := o.post(t, c.body, c.header...)
			r.Expect(t, c.status, c.want)
			if got := r.Header.Get("Content-Type"); got != "application/json" {
				t.Errorf("Content-Type %q", got)
			}
			if got := r.Header.Get("Accept-Encoding"); got != c.acceptEncoding {
				t.Errorf("Accept-Encoding %q, want %q", got, c.acceptEncoding)
			}
			if reached := o.calls.Load() > before; reached != (c.status == http.StatusOK) {
				t.Errorf("the handler ran: %v", reached)
			}
		})
	}
}

// A 422 echoes at most problem.MaxInput bytes of a string and
// problem.MaxInputValues values of a list or object, however deep.
func TestBodyEchoIsBounded(t *testing.T) {
	o := ordersApp(t)
	huge := strings.Repeat("x", 900_000)
	cut := huge[:200] + "…"
	var lines, linesEcho []string
	for range 60 {
		lines = append(lines, `{"sku":"`+huge[:300]+`"}`)
	}
	for range 25 {
		linesEcho = append(linesEcho, `{"sku":"`+cut+`"}`)
	}
	cases := []struct {
		name, body, want string
	}{
		{"a string past its maxLength", `{"name":"` + huge + `"}`,
			`{"detail":[{"type":"string_too_long","loc":["body","name"],"msg":"String should have at most 20 characters","input":"` + cut + `","ctx":{"max_length":20}}]}`},
		{"the object a field is missing from", `{"note":"` + huge + `"}`,
			`{"detail":[{"type":"missing","loc":["body","name"],"msg":"Field required","input":{"note":"` + cut + `"}}]}`},
		{"a string of the wrong type", `{"name":"a","lines":"` + huge + `"}`,
			`{"detail":[{"type":"list_type","loc":["body","lines"],"msg":"Input should be a valid list","input":"` + cut + `"}]}`},
		{"a number too long for a float", `{"name":"a","note":` + strings.Repeat("9", 400) + `}`,
			`{"detail":[{"type":"string_type","loc":["body","note"],"msg":"Input should be a valid string","input":"` + strings.Repeat("9", 200) + `…"}]}`},
		{"a time its own decoder refuses, quoting it", `{"name":"a","due":"` + huge + `"}`,
			`{"detail":[{"type":"value_error","loc":["body","due"],"msg":"Value error, parsing time \"` + huge[:186] + `…","input":"` + cut + `"}]}`},
		{"a list of objects", `{"name":"a","lines":[` + strings.Join(lines, ",") + `]}`,
			`{"detail":[` + patternErrors(60, cut) + `,` +
				`{"type":"too_long","loc":["body","lines"],"msg":"List should have at most 3 items after validation, not 60","input":[` + strings.Join(linesEcho, ",") + `,"…"],"ctx":{"actual_length":60,"max_length":3}}]}`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			o.post(t, c.body).Expect(t, http.StatusUnprocessableEntity, c.want)
		})
	}
}

func patternErrors(n int, input string) string {
	parts := make([]string, n)
	for i := range parts {
		parts[i] = `{"type":"string_pattern_mismatch","loc":["body","lines",` + strconv.Itoa(i) + `,"sku"],"msg":"String should match pattern '^[A-Z]{3}$'","input":"` + input + `","ctx":{"pattern":"^[A-Z]{3}$"}}`
	}
	return strings.Join(parts, ",")
}

// A body past the limit (1 MiB by default) gets one answer, whether its
// length was declared or found while reading it.
func TestBodyPastTheLimit(t *testing.T) {
	o := ordersApp(t)
	body := `{"name":"` + strings.Repeat("x", 1<<20) + `"}`
	o.post(t, body).Expect(t, http.StatusRequestEntityTooLarge, `{"detail":"Request body is too large"}`)

	pr, write := pipeBody(body)
	go write()
	req, _ := http.NewRequest("POST", o.srv.URL+"/orders", pr)
	req.Header.Set("Content-Type", "application/json")
	res, err := o.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	got, _ := io.ReadAll(res.Body)
	if res.StatusCode != http.StatusRequestEntityTooLarge || string(got) != `{"detail":"Request body is too large"}` {
		t.Errorf("a body of unknown length: %d %s", res.StatusCode, got)
	}
	if o.calls.Load() != 0 {
		t.Error("the handler ran")
	}
}

// A 422 lists the first problem.MaxErrors problems, so that a body of a
// million bad items is not answered by one many times its size.
func TestBodyErrorsAreBounded(t *testing.T) {
	o := ordersApp(t)
	n := (1<<20 - 40) / 2
	body := `{"name":"a","lines":[` + strings.Repeat("1,", n-1) + `1]}`
	entries := make([]string, 100)
	for i := range entries {
		entries[i] = `{"type":"model_attributes_type","loc":["body","lines",` + strconv.Itoa(i) +
			`],"msg":"Input should be a valid dictionary or object to extract fields from","input":1}`
	}
	o.post(t, body).Expect(t, http.StatusUnprocessableEntity, `{"detail":[`+strings.Join(entries, ",")+`]}`)
}
