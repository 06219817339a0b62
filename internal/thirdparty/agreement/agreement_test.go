package agreement_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"strings"
	"testing"

	"github.com/fastapi-easy/easy-go/easy"
	"github.com/fastapi-easy/easy-go/easy/crud"
	"github.com/fastapi-easy/easy-go/internal/testkit"
	"github.com/fastapi-easy/easy-go/internal/thirdparty/spectest"
)

func quiet() easy.Option { return easy.Logger(slog.New(slog.DiscardHandler)) }

// Constraint tags on a list field describe its elements: the document
// shows them on the items, and the server checks each element by them
// (they were shown on the array and never checked).

type Member struct {
	ID    uint     `json:"id" gorm:"primaryKey"`
	Name  string   `json:"name" required:"true"`
	Roles []string `json:"roles" gorm:"serializer:json" enum:"admin,user"`
	Codes []string `json:"codes" gorm:"serializer:json" pattern:"^[A-Z]+$" maxLength:"3"`
}

type TagsBody struct {
	Tags  []string `json:"tags" enum:"a,b"`
	Names []string `json:"names" minLength:"2"`
	Nums  []int    `json:"nums" minimum:"1"`
}

type TagsParams struct {
	Tags []string `query:"tag" enum:"a,b"`
	Nums []int    `query:"n" minimum:"1"`
}

func TestListElementConstraintsAreCheckedAndShownOnTheItems(t *testing.T) {
	app := easy.New(easy.DB(testkit.SQLite(t, nil)), quiet())
	app.Include(easy.CRUDRouter[Member]())
	easy.Post(app, "/tags", func(ctx context.Context, in *TagsBody) (*TagsBody, error) { return in, nil })
	easy.Get(app, "/tags", func(ctx context.Context, in *TagsParams) (*TagsBody, error) {
		return &TagsBody{Tags: in.Tags, Nums: in.Nums}, nil
	})
	srv := testkit.Serve(t, app)
	v, spec := spectest.Fetch(t, srv.URL+"/openapi.json")
	rv := newRequestValidator(t, spec)

	// Values the tags forbid are refused (as a string field's are).
	for _, c := range []struct{ method, path, body string }{
		{"POST", "/members", `{"name":"ann","roles":["root"]}`},
		{"POST", "/members", `{"name":"bob","codes":["lower","TOOLONG"]}`},
		{"POST", "/tags", `{"tags":["c"]}`},
		{"POST", "/tags", `{"names":["x"]}`},
		{"POST", "/tags", `{"nums":[0]}`},
		{"GET", "/tags?tag=c", ``},
		{"GET", "/tags?n=0", ``},
	} {
		r := testkit.Do(t, srv, c.method, c.path, c.body)
		if r.Status != http.StatusUnprocessableEntity {
			t.Errorf("%s %s %s: %d %s, want 422", c.method, c.path, c.body, r.Status, r.Body)
		}
	}
	// Values the tags allow are accepted, and by the document too, and
	// the answers echoing them match the document.
	for _, c := range []struct{ method, path, body string }{
		{"POST", "/members", `{"name":"cy","roles":["admin"],"codes":["AB"]}`},
		{"POST", "/tags", `{"tags":["a"],"names":["xy"],"nums":[1]}`},
		{"GET", "/tags?tag=a&n=1", ``},
	} {
		r := testkit.Do(t, srv, c.method, c.path, c.body)
		if r.Status >= 300 {
			t.Errorf("%s %s %s: %d %s", c.method, c.path, c.body, r.Status, r.Body)
		}
		agree(t, rv, r, c.body)
		v.Response(t, r.Request, r.HTTP, []byte(r.Body))
	}
}

// DELETE /items (crud.DeleteAll) takes no filter: a filter, a typo or
// a malformed query string is a 422, as the list answers it, and deletes
// nothing (it used to be ignored, and every row deleted).

func TestDeleteAllRefusesQuery(t *testing.T) {
	app := easy.New(easy.DB(testkit.SQLite(t, nil)), quiet())
	app.Include(easy.CRUDRouter[Item](crud.DeleteAll()))
	srv := testkit.Serve(t, app)
	for _, n := range []string{"apple", "pear", "plum"} {
		if r := testkit.Do(t, srv, "POST", "/items", `{"name":"`+n+`"}`); r.Status != 201 {
			t.Fatalf("create %s: %d %s", n, r.Status, r.Body)
		}
	}
	for _, q := range []string{"?name=apple", "?id__in=1", "?x=%zz", "?name=a;b"} {
		r := testkit.Do(t, srv, "DELETE", "/items"+q, "")
		if r.Status != http.StatusUnprocessableEntity {
			t.Errorf("DELETE /items%s: %d %s, want 422 (the list answers 422 to this query)", q, r.Status, r.Body)
		}
	}
	if r := testkit.Do(t, srv, "GET", "/items", ""); r.Header.Get("X-Total-Count") != "3" {
		t.Errorf("after the refused deletes, %s rows are left of 3: %s", r.Header.Get("X-Total-Count"), r.Body)
	}
}

// A list parameter in a header is documented as an array (style
// simple: X-Ids: 1,2) and read so (each line used to be one element); a
// list in a cookie is one cookie whose value is comma-separated,
// documented as style form with explode false (it used to hold one value).

type HeaderListIn struct {
	IDs  []int    `header:"X-Ids"`
	Tags []string `header:"X-Tags"`
}

type CookieListIn struct {
	IDs []int `cookie:"ids"`
}

type ListOut struct {
	IDs  []int    `json:"ids"`
	Tags []string `json:"tags"`
}

func TestHeaderListSplitsAtCommas(t *testing.T) {
	app := easy.New(quiet())
	easy.Get(app, "/h", func(ctx context.Context, in *HeaderListIn) (*ListOut, error) {
		return &ListOut{IDs: in.IDs, Tags: in.Tags}, nil
	})
	srv := testkit.Serve(t, app)
	_, spec := spectest.Fetch(t, srv.URL+"/openapi.json")
	rv := newRequestValidator(t, spec)

	r := testkit.Do(t, srv, "GET", "/h", "", "X-Ids", "1,2", "X-Tags", "a,b")
	agree(t, rv, r, "")
	if r.Status != 200 || r.Body != `{"ids":[1,2],"tags":["a","b"]}` {
		t.Errorf("X-Ids: 1,2 and X-Tags: a,b: %d %s, want 200 {\"ids\":[1,2],\"tags\":[\"a\",\"b\"]}", r.Status, r.Body)
	}
}

func TestCookieListIsCommaSeparated(t *testing.T) {
	app := easy.New(quiet())
	easy.Get(app, "/c", func(ctx context.Context, in *CookieListIn) (*ListOut, error) {
		return &ListOut{IDs: in.IDs}, nil
	})
	srv := testkit.Serve(t, app)
	_, spec := spectest.Fetch(t, srv.URL+"/openapi.json")
	rv := newRequestValidator(t, spec)
	// Two cookies of one name are one cookie, the last, as for any cookie
	// (binding.CookieValue): not the document's form of a list.
	r := testkit.Do(t, srv, "GET", "/c", "", "Cookie", "ids=1; ids=2")
	if r.Status != 200 || r.Body != `{"ids":[2],"tags":null}` {
		t.Errorf("Cookie: ids=1; ids=2: %d %s, want the last cookie's value", r.Status, r.Body)
	}
	// Two values in one cookie, as the document writes them (it used to be
	// a 422).
	r = testkit.Do(t, srv, "GET", "/c", "", "Cookie", "ids=1,2")
	agree(t, rv, r, "")
	if r.Status != 200 || r.Body != `{"ids":[1,2],"tags":null}` {
		t.Errorf("Cookie: ids=1,2: %d %s, want both values", r.Status, r.Body)
	}
}

// The range of a sized integer (uint8, int16, ...) is documented and
// enforced, and out of range is reported with greater_than_equal or
// less_than_equal and the bound (it was not documented, and reported as
// int_type or with a false message).

type Gauge struct {
	ID   uint  `json:"id" gorm:"primaryKey"`
	Age  uint8 `json:"age"`
	Temp int16 `json:"temp"`
}

func TestSizedIntegerRangeIsDocumentedAndReportedWithItsBound(t *testing.T) {
	app := easy.New(easy.DB(testkit.SQLite(t, nil)), quiet())
	app.Include(easy.CRUDRouter[Gauge]())
	srv := testkit.Serve(t, app)
	_, spec := spectest.Fetch(t, srv.URL+"/openapi.json")
	rv := newRequestValidator(t, spec)
	for _, c := range []struct{ method, path, body string }{
		{"POST", "/gauges", `{"age":300}`},
		{"POST", "/gauges", `{"temp":40000}`},
		{"POST", "/gauges", `{"age":-1}`},
		{"GET", "/gauges?age=300", ``},
		{"GET", "/gauges?temp=-40000", ``},
		{"GET", "/gauges/1?fields=id", ``}, // control: unrelated
	} {
		r := testkit.Do(t, srv, c.method, c.path, c.body)
		if c.path == "/gauges/1?fields=id" {
			continue
		}
		agree(t, rv, r, c.body)
		var body struct {
			Detail []struct {
				Type string `json:"type"`
				Msg  string `json:"msg"`
			} `json:"detail"`
		}
		json.Unmarshal([]byte(r.Body), &body)
		if r.Status != 422 || len(body.Detail) != 1 || (body.Detail[0].Type != "less_than_equal" && body.Detail[0].Type != "greater_than_equal") ||
			strings.Contains(c.path+c.body, "300") && body.Detail[0].Type != "less_than_equal" {
			t.Errorf("%s %s %s: %d %s, want 422 less_than_equal (greater_than_equal for -40000) with the bound", c.method, c.path, c.body, r.Status, r.Body)
		}
	}
}

// A fixed-size array field holds exactly its length: the document says
// minItems = maxItems = 2 and not null, and the server refuses other
// lengths (extra elements were silently dropped, missing ones silently
// zeroed, and null, which the document allowed, was refused).

type PairBody struct {
	Pair [2]int `json:"pair"`
}

func TestFixedArrayHoldsExactlyItsLength(t *testing.T) {
	app := easy.New(quiet())
	easy.Post(app, "/pair", func(ctx context.Context, in *PairBody) (*PairBody, error) { return in, nil })
	srv := testkit.Serve(t, app)
	_, spec := spectest.Fetch(t, srv.URL+"/openapi.json")
	rv := newRequestValidator(t, spec)
	for _, body := range []string{`{"pair":[1,2,3]}`, `{"pair":[1]}`} {
		r := testkit.Do(t, srv, "POST", "/pair", body)
		if r.Status != 422 {
			t.Errorf("POST /pair %s: %d %s, want 422 (the array holds exactly 2)", body, r.Status, r.Body)
		}
		agree(t, rv, r, body)
	}
	r := testkit.Do(t, srv, "POST", "/pair", `{"pair":null}`)
	agree(t, rv, r, `{"pair":null}`)
}

// Answers that do not match their own schema: a nil []byte is null
// (documented as a non-null string), a `json:",string"` integer is a
// string (documented as an integer). (A non-string detail, which
// easy.NewHTTPError documents as allowed, against HTTPError's string:
// TestHTTPErrorDetailAnyValue.)

type Blob struct {
	Data  []byte `json:"data"`
	Count int    `json:"count,string"`
}

func TestAnswersMatchTheirSchema(t *testing.T) {
	app := easy.New(quiet())
	easy.Post(app, "/blob", func(ctx context.Context, in *Blob) (*Blob, error) { return in, nil })
	srv := testkit.Serve(t, app)
	v, _ := spectest.Fetch(t, srv.URL+"/openapi.json")
	for _, c := range []struct{ method, path, body string }{
		{"POST", "/blob", `{}`},
		{"POST", "/blob", `{"data":"aGk=","count":5}`},
	} {
		r := testkit.Do(t, srv, c.method, c.path, c.body)
		v.Response(t, r.Request, r.HTTP, []byte(r.Body))
	}
}

// An HTTPError's detail may be any JSON value, as easy.NewHTTPError and
// FastAPI's HTTPException take one: the document says so (it said string).
func TestHTTPErrorDetailAnyValue(t *testing.T) {
	app := easy.New(quiet())
	easy.Get(app, "/conflict", func(ctx context.Context, _ *easy.NoInput) (*Blob, error) {
		return nil, easy.NewHTTPError(409, map[string]any{"code": "taken"})
	}, easy.Errors(409))
	srv := testkit.Serve(t, app)
	v, _ := spectest.Fetch(t, srv.URL+"/openapi.json")
	r := testkit.Do(t, srv, "GET", "/conflict", "")
	v.Response(t, r.Request, r.HTTP, []byte(r.Body))
}

// skip is documented with the maximum it is checked against,
// 2147483647 (it was documented as any integer >= 0 but refused above
// 2^31-1).

func TestSkipIsDocumentedWithItsMaximum(t *testing.T) {
	app := easy.New(easy.DB(testkit.SQLite(t, nil)), quiet())
	app.Include(easy.CRUDRouter[Item]())
	srv := testkit.Serve(t, app)
	_, spec := spectest.Fetch(t, srv.URL+"/openapi.json")
	rv := newRequestValidator(t, spec)
	r := testkit.Do(t, srv, "GET", "/items?skip=2147483648", "")
	agree(t, rv, r, "")
}

// A JSON number with an integer value written with a fraction or an
// exponent (1.0, 1e2) is an integer for JSON Schema, and so for the
// document, and the server takes it (it refused it, saying it had a
// fractional part).

func TestIntegerValuedNumberIsAnInteger(t *testing.T) {
	app := easy.New(easy.DB(testkit.SQLite(t, nil)), quiet())
	app.Include(easy.CRUDRouter[Item]())
	srv := testkit.Serve(t, app)
	_, spec := spectest.Fetch(t, srv.URL+"/openapi.json")
	rv := newRequestValidator(t, spec)
	for _, body := range []string{`{"name":"a","stock":1.0}`, `{"name":"b","stock":1e2}`} {
		r := testkit.Do(t, srv, "POST", "/items", body)
		agree(t, rv, r, body)
		if strings.Contains(r.Body, "fractional part") {
			t.Errorf("POST /items %s: %s: the number has no fractional part", body, r.Body)
		}
	}
}

// A typed operation's request body is documented as required, as
// CRUD's are: the server answers 422 missing at ["body"] without one,
// even when no field of it is required (it was documented as optional).

type OptionalFields struct {
	Note string `json:"note"`
}

func TestTypedBodyRequired(t *testing.T) {
	app := easy.New(quiet())
	easy.Post(app, "/notes", func(ctx context.Context, in *OptionalFields) (*OptionalFields, error) { return in, nil })
	srv := testkit.Serve(t, app)
	_, spec := spectest.Fetch(t, srv.URL+"/openapi.json")
	rv := newRequestValidator(t, spec)
	for _, h := range [][]string{nil, {"Content-Type", "application/json"}} {
		r := testkit.Do(t, srv, "POST", "/notes", "", h...)
		agree(t, rv, r, "")
	}
	var doc struct {
		Paths map[string]map[string]struct {
			RequestBody struct {
				Required bool `json:"required"`
			} `json:"requestBody"`
		} `json:"paths"`
	}
	json.Unmarshal(spec, &doc)
	if !doc.Paths["/notes"]["post"].RequestBody.Required {
		t.Errorf("POST /notes: requestBody.required is not true, yet a request without a body is a 422")
	}
}
