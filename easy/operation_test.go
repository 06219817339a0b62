package easy_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/fastapi-easy/easy-go/easy"
	"github.com/fastapi-easy/easy-go/easy/problem"
	"github.com/fastapi-easy/easy-go/internal/testkit"
)

type Item struct {
	ID    int      `json:"id"`
	Name  string   `json:"name" required:"true" minLength:"1" maxLength:"20"`
	Price float64  `json:"price" minimum:"0"`
	Kind  string   `json:"kind,omitempty" enum:"fruit,tool"`
	Code  string   `json:"code,omitempty" pattern:"^[A-Z]{3}$"`
	Email string   `json:"email,omitempty" format:"email"`
	Tags  []string `json:"tags,omitempty" maxItems:"2"`
	Count int      `json:"count,omitempty" exclusiveMinimum:"0" maximum:"10"`
}

type ParamsIn struct {
	ID      int      `path:"id" minimum:"1"`
	Verbose bool     `query:"verbose"`
	Limit   int      `query:"limit" default:"10" maximum:"100"`
	Tags    []string `query:"tag"`
	After   *int     `query:"after"`
	Kind    string   `query:"kind" enum:"fruit,tool"`
	Token   string   `header:"X-Token"`
	Session string   `cookie:"session"`
}

type ParamsOut struct {
	ID      int      `json:"id"`
	Verbose bool     `json:"verbose"`
	Limit   int      `json:"limit"`
	Tags    []string `json:"tags"`
	After   *int     `json:"after"`
	Kind    string   `json:"kind"`
	Token   string   `json:"token"`
	Session string   `json:"session"`
}

type CreateIn struct {
	Item
	Trace string `header:"X-Trace"`
}

type Created struct {
	Item
	Location string `header:"Location" json:"-"`
}

func operationsApp(t *testing.T, opts ...easy.Option) *easy.App {
	app, _ := newApp(t, opts...)
	easy.Get(app, "/params/{id}", func(ctx context.Context, in *ParamsIn) (*ParamsOut, error) {
		return &ParamsOut{in.ID, in.Verbose, in.Limit, in.Tags, in.After, in.Kind, in.Token, in.Session}, nil
	})
	easy.Post(app, "/items", func(ctx context.Context, in *CreateIn) (*Created, error) {
		if in.Name == "taken" {
			return nil, easy.Conflict("Item %q exists", in.Name)
		}
		in.ID = 1
		return &Created{Item: in.Item, Location: "/items/1"}, nil
	}, easy.Status(http.StatusCreated), easy.Errors(http.StatusConflict))
	easy.Get(app, "/items/{id}", func(ctx context.Context, in *struct {
		ID int `path:"id"`
	}) (*Item, error) {
		switch in.ID {
		case 7:
			panic("boom")
		case 8:
			return nil, fmt.Errorf("database password=secret is wrong")
		case 1:
			return &Item{ID: 1, Name: "apple", Price: 1.5}, nil
		}
		return nil, easy.NotFound("Item not found")
	}, easy.Errors(http.StatusNotFound))
	easy.Delete(app, "/items/{id}", func(ctx context.Context, in *struct {
		ID int `path:"id"`
	}) (*easy.NoContent, error) {
		return nil, nil
	})
	easy.Get(app, "/health", func(ctx context.Context, _ *easy.NoInput) (*map[string]string, error) {
		return &map[string]string{"status": "ok"}, nil
	})
	return app
}

func TestParameters(t *testing.T) {
	srv := testkit.Serve(t, operationsApp(t))
	cases := []struct {
		name, path string
		header     []string
		want       string
	}{
		{"defaults", "/params/3", nil,
			`{"id":3,"verbose":false,"limit":10,"tags":null,"after":null,"kind":"","token":"","session":""}`},
		{"every kind", "/params/3?verbose=true&limit=5&tag=a&tag=b&after=0&kind=tool",
			[]string{"X-Token", "t1", "Cookie", "session=s1"},
			`{"id":3,"verbose":true,"limit":5,"tags":["a","b"],"after":0,"kind":"tool","token":"t1","session":"s1"}`},
		{"bool words", "/params/3?verbose=yes", nil,
			`{"id":3,"verbose":true,"limit":10,"tags":null,"after":null,"kind":"","token":"","session":""}`},
		{"a scalar given twice takes its last value, as FastAPI's does", "/params/3?limit=5&limit=7&kind=tool&kind=fruit", nil,
			`{"id":3,"verbose":false,"limit":7,"tags":null,"after":null,"kind":"fruit","token":"","session":""}`},
		{"a cookie given twice takes its last value, as Starlette's does", "/params/3", []string{"Cookie", "session=s1; other=x; session=s2"},
			`{"id":3,"verbose":false,"limit":10,"tags":null,"after":null,"kind":"","token":"","session":"s2"}`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			testkit.Do(t, srv, "GET", c.path, "", c.header...).Expect(t, http.StatusOK, c.want)
		})
	}
}

func TestValidationErrors(t *testing.T) {
	srv := testkit.Serve(t, operationsApp(t))
	cases := []struct {
		name, method, path, body string
		want                     string
	}{
		{"non-integer path id", "GET", "/params/abc", "",
			`{"detail":[{"type":"int_parsing","loc":["path","id"],"msg":"Input should be a valid integer, unable to parse string as an integer","input":"abc"}]}`},
		{"every parameter error at once", "GET", "/params/0?verbose=maybe&limit=101&after=x&kind=car&tag=a", "",
			`{"detail":[{"type":"greater_than_equal","loc":["path","id"],"msg":"Input should be greater than or equal to 1","input":0,"ctx":{"ge":1}},` +
				`{"type":"bool_parsing","loc":["query","verbose"],"msg":"Input should be a valid boolean, unable to interpret input","input":"maybe"},` +
				`{"type":"less_than_equal","loc":["query","limit"],"msg":"Input should be less than or equal to 100","input":101,"ctx":{"le":100}},` +
				`{"type":"int_parsing","loc":["query","after"],"msg":"Input should be a valid integer, unable to parse string as an integer","input":"x"},` +
				`{"type":"enum","loc":["query","kind"],"msg":"Input should be 'fruit' or 'tool'","input":"car","ctx":{"expected":"'fruit' or 'tool'"}}]}`},
		{"the last of a repeated scalar is the one validated", "GET", "/params/3?limit=5&limit=101", "",
			`{"detail":[{"type":"less_than_equal","loc":["query","limit"],"msg":"Input should be less than or equal to 100","input":101,"ctx":{"le":100}}]}`},
		{"missing required field", "POST", "/items", `{"price":1}`,
			`{"detail":[{"type":"missing","loc":["body","name"],"msg":"Field required","input":{"price":1}}]}`},
		{"required even when the zero value would pass", "POST", "/items", `{}`,
			`{"detail":[{"type":"missing","loc":["body","name"],"msg":"Field required","input":{}}]}`},
		{"wrong JSON types", "POST", "/items", `{"name":5,"price":"x","tags":"a","count":1.5}`,
			`{"detail":[{"type":"string_type","loc":["body","name"],"msg":"Input should be a valid string","input":5},` +
				`{"type":"float_type","loc":["body","price"],"msg":"Input should be a valid number","input":"x"},` +
				`{"type":"list_type","loc":["body","tags"],"msg":"Input should be a valid list","input":"a"},` +
				`{"type":"int_from_float","loc":["body","count"],"msg":"Input should be a valid integer, got a number with a fractional part","input":1.5}]}`},
		{"every constraint", "POST", "/items",
			`{"name":"","price":-1,"kind":"car","code":"ab","email":"nope","tags":["a","b","c"],"count":0}`,
			`{"detail":[{"type":"string_too_short","loc":["body","name"],"msg":"String should have at least 1 character","input":"","ctx":{"min_length":1}},` +
				`{"type":"greater_than_equal","loc":["body","price"],"msg":"Input should be greater than or equal to 0","input":-1,"ctx":{"ge":0}},` +
				`{"type":"enum","loc":["body","kind"],"msg":"Input should be 'fruit' or 'tool'","input":"car","ctx":{"expected":"'fruit' or 'tool'"}},` +
				`{"type":"string_pattern_mismatch","loc":["body","code"],"msg":"String should match pattern '^[A-Z]{3}$'","input":"ab","ctx":{"pattern":"^[A-Z]{3}$"}},` +
				`{"type":"value_error","loc":["body","email"],"msg":"value is not a valid email address","input":"nope"},` +
				`{"type":"too_long","loc":["body","tags"],"msg":"List should have at most 2 items after validation, not 3","input":["a","b","c"],"ctx":{"actual_length":3,"max_length":2}},` +
				`{"type":"greater_than","loc":["body","count"],"msg":"Input should be greater than 0","input":0,"ctx":{"gt":0}}]}`},
		{"too long", "POST", "/items", `{"name":"abcdefghijklmnopqrstu"}`,
			`{"detail":[{"type":"string_too_long","loc":["body","name"],"msg":"String should have at most 20 characters","input":"abcdefghijklmnopqrstu","ctx":{"max_length":20}}]}`},
		{"malformed JSON", "POST", "/items", `{"name": "a",`,
			`{"detail":[{"type":"json_invalid","loc":["body",13],"msg":"JSON decode error","input":{},"ctx":{"error":"unexpected end of JSON input"}}]}`},
		{"not an object", "POST", "/items", `[1,2]`,
			`{"detail":[{"type":"model_attributes_type","loc":["body"],"msg":"Input should be a valid dictionary or object to extract fields from","input":[1,2]}]}`},
		{"null for a string", "POST", "/items", `{"name":null}`,
			`{"detail":[{"type":"string_type","loc":["body","name"],"msg":"Input should be a valid string","input":null}]}`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			testkit.Do(t, srv, c.method, c.path, c.body).Expect(t, http.StatusUnprocessableEntity, c.want)
		})
	}
}

func TestMissingBody(t *testing.T) {
	srv := testkit.Serve(t, operationsApp(t))
	req, _ := http.NewRequest("POST", srv.URL+"/items", nil)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusUnprocessableEntity {
		t.Fatalf("status %d, want 422", res.StatusCode)
	}
	testkit.Do(t, srv, "POST", "/items", " ").Expect(t, http.StatusUnprocessableEntity,
		`{"detail":[{"type":"json_invalid","loc":["body",1],"msg":"JSON decode error","input":{},"ctx":{"error":"unexpected end of JSON input"}}]}`)
}

func TestResponses(t *testing.T) {
	srv := testkit.Serve(t, operationsApp(t))
	r := testkit.Do(t, srv, "POST", "/items", `{"name":"apple","price":2,"unknown":1}`, "X-Trace", "abc")
	r.Expect(t, http.StatusCreated, `{"id":1,"name":"apple","price":2}`)
	if got := r.Header.Get("Location"); got != "/items/1" {
		t.Errorf("Location = %q, want /items/1", got)
	}
	if got := r.Header.Get("Content-Type"); got != "application/json" {
		t.Errorf("Content-Type = %q", got)
	}
	testkit.Do(t, srv, "POST", "/items", `{"name":"taken"}`).Expect(t, http.StatusConflict, `{"detail":"Item \"taken\" exists"}`)
	testkit.Do(t, srv, "GET", "/items/2", "").Expect(t, http.StatusNotFound, `{"detail":"Item not found"}`)
	testkit.Do(t, srv, "GET", "/items/1", "").Expect(t, http.StatusOK, `{"id":1,"name":"apple","price":1.5}`)
	testkit.Do(t, srv, "DELETE", "/items/1", "").Expect(t, http.StatusNoContent, ``)
	testkit.Do(t, srv, "GET", "/health", "").Expect(t, http.StatusOK, `{"status":"ok"}`)
}

// A ValidationError a handler builds itself is written as the document
// describes it: detail a list, each loc a list, even when left empty.
func TestHandlerValidationErrorsAreNeverNull(t *testing.T) {
	app, _ := newApp(t)
	easy.Get(app, "/empty", func(context.Context, *easy.NoInput) (*struct{}, error) {
		return nil, &problem.ValidationError{}
	})
	easy.Get(app, "/noloc", func(context.Context, *easy.NoInput) (*struct{}, error) {
		var ve problem.ValidationError
		ve.Add("value_error", nil, "Not today", nil)
		return nil, &ve
	})
	srv := testkit.Serve(t, app)
	testkit.Do(t, srv, "GET", "/empty", "").Expect(t, http.StatusUnprocessableEntity, `{"detail":[]}`)
	testkit.Do(t, srv, "GET", "/noloc", "").Expect(t, http.StatusUnprocessableEntity,
		`{"detail":[{"type":"value_error","loc":[],"msg":"Not today","input":null}]}`)
}

func TestForbidUnknownFields(t *testing.T) {
	srv := testkit.Serve(t, operationsApp(t, easy.ForbidUnknownFields()))
	testkit.Do(t, srv, "POST", "/items", `{"name":"apple","colour":"red"}`).Expect(t, http.StatusUnprocessableEntity,
		`{"detail":[{"type":"extra_forbidden","loc":["body","colour"],"msg":"Extra inputs are not permitted","input":"red"}]}`)
}

func TestProtocolErrors(t *testing.T) {
	app, logs := newApp(t, easy.BodyLimit(64))
	easy.Post(app, "/items", func(ctx context.Context, in *CreateIn) (*Item, error) { return &in.Item, nil })
	easy.Get(app, "/items/{id}", func(ctx context.Context, in *struct {
		ID int `path:"id"`
	}) (*Item, error) {
		if in.ID == 7 {
			panic("boom")
		}
		return nil, fmt.Errorf("connect to db with password=hunter2: refused")
	})
	srv := testkit.Serve(t, app)

	testkit.Do(t, srv, "GET", "/nowhere", "").Expect(t, http.StatusNotFound, `{"detail":"Not Found"}`)
	testkit.Do(t, srv, "PUT", "/items", `{}`).Expect(t, http.StatusMethodNotAllowed, `{"detail":"Method Not Allowed"}`)
	testkit.Do(t, srv, "POST", "/items", `{"name":"`+strings.Repeat("a", 100)+`"}`).
		Expect(t, http.StatusRequestEntityTooLarge, `{"detail":"Request body is too large"}`)
	testkit.Do(t, srv, "POST", "/items", `name=a`, "Content-Type", "application/x-www-form-urlencoded").
		Expect(t, http.StatusUnsupportedMediaType, `{"detail":"Unsupported Media Type: expected application/json"}`)

	// A body of unknown length past the limit is cut off while it is read.
	pr, pw := pipeBody(strings.Repeat("x", 200))
	req, _ := http.NewRequest("POST", srv.URL+"/items", pr)
	req.Header.Set("Content-Type", "application/json")
	go pw()
	res, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusRequestEntityTooLarge {
		t.Errorf("chunked body past the limit: status %d, want 413", res.StatusCode)
	}

	testkit.Do(t, srv, "GET", "/items/7", "").Expect(t, http.StatusInternalServerError, `{"detail":"Internal Server Error"}`)
	// The server goes on after a panic.
	testkit.Do(t, srv, "GET", "/items/8", "").Expect(t, http.StatusInternalServerError, `{"detail":"Internal Server Error"}`)
	if l := logs.String(); !strings.Contains(l, "panic=boom") || !strings.Contains(l, "goroutine") {
		t.Errorf("the panic was not logged with its stack:\n%s", l)
	}
}

type named struct {
	Name string `json:"name" required:"true"`
}

// TestUnknownFieldsByLevel checks that the narrowest level that says
// whether unknown body properties are refused wins: the operation, then
// its group (a nested group inherits), then the App.
func TestUnknownFieldsByLevel(t *testing.T) {
	app, _ := newApp(t, easy.ForbidUnknownFields())
	echo := func(ctx context.Context, in *named) (*named, error) { return in, nil }
	easy.Post(app, "/app", echo)
	easy.Post(app, "/app/allowed", echo, easy.AllowUnknownFields())
	open := app.Group("/open", easy.AllowUnknownFields())
	easy.Post(open, "/default", echo)
	easy.Post(open, "/strict", echo, easy.ForbidUnknownFields())
	inner := open.Group("/inner")
	easy.Post(inner, "/default", echo)
	strict := inner.Group("/strict", easy.ForbidUnknownFields())
	easy.Post(strict, "/default", echo)
	srv := testkit.Serve(t, app)

	const refused = `{"detail":[{"type":"extra_forbidden","loc":["body","colour"],"msg":"Extra inputs are not permitted","input":"red"}]}`
	for path, forbidden := range map[string]bool{
		"/app": true, "/app/allowed": false,
		"/open/default": false, "/open/strict": true,
		"/open/inner/default": false, "/open/inner/strict/default": true,
	} {
		r := testkit.Do(t, srv, "POST", path, `{"name":"a","colour":"red"}`)
		if forbidden {
			r.Expect(t, http.StatusUnprocessableEntity, refused)
		} else {
			r.Expect(t, http.StatusOK, `{"name":"a"}`)
		}
	}
}

// pipeBody returns a request body of unknown length and the function that writes it.
func pipeBody(s string) (io.Reader, func()) {
	pr, pw := io.Pipe()
	return pr, func() {
		pw.Write([]byte(s))
		pw.Close()
	}
}
