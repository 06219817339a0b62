package easy_test

import (
	"context"
	"fmt"
	"io"
	"net/http/httptest"
	"strings"

	"github.com/fastapi-easy/easy-go/easy"
)

type Greeting struct {
	Message string `json:"message"`
}

type HelloIn struct {
	Name  string `path:"name" minLength:"1" maxLength:"40"`
	Shout bool   `query:"shout"`
}

func Example() {
	app := quietApp()
	easy.Get(app, "/hello/{name}", func(ctx context.Context, in *HelloIn) (*Greeting, error) {
		msg := "Hello, " + in.Name
		if in.Shout {
			msg += "!"
		}
		return &Greeting{Message: msg}, nil
	}, easy.Summary("Greet someone"))

	for _, path := range []string{"/hello/ann?shout=true", "/hello/ann?shout=maybe"} {
		w := httptest.NewRecorder()
		app.ServeHTTP(w, httptest.NewRequest("GET", path, nil))
		fmt.Println(w.Code, w.Body)
	}
	// Output:
	// 200 {"message":"Hello, ann!"}
	// 422 {"detail":[{"type":"bool_parsing","loc":["query","shout"],"msg":"Input should be a valid boolean, unable to interpret input","input":"maybe"}]}
}

type NewItem struct {
	Name  string  `json:"name" required:"true" minLength:"1"`
	Price float64 `json:"price" minimum:"0"`
}

func ExamplePost() {
	app := quietApp()
	easy.Post(app, "/items", func(ctx context.Context, in *NewItem) (*NewItem, error) {
		if in.Name == "apple" {
			return nil, easy.Conflict("Item %q exists", in.Name)
		}
		return in, nil
	}, easy.Status(201), easy.Errors(409))

	for _, body := range []string{`{"name":"pear","price":2}`, `{"name":"apple"}`, `{"price":-1}`} {
		req := httptest.NewRequest("POST", "/items", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		w := httptest.NewRecorder()
		app.ServeHTTP(w, req)
		b, _ := io.ReadAll(w.Body)
		fmt.Println(w.Code, string(b))
	}
	// Output:
	// 201 {"name":"pear","price":2}
	// 409 {"detail":"Item \"apple\" exists"}
	// 422 {"detail":[{"type":"missing","loc":["body","name"],"msg":"Field required","input":{"price":-1}},{"type":"greater_than_equal","loc":["body","price"],"msg":"Input should be greater than or equal to 0","input":-1,"ctx":{"ge":0}}]}
}

func ExampleApp_Group() {
	app := quietApp()
	v1 := app.Group("/v1", easy.Tags("v1"))
	easy.Get(v1, "/ping", func(ctx context.Context, _ *easy.NoInput) (*Greeting, error) {
		return &Greeting{Message: "pong"}, nil
	})
	w := httptest.NewRecorder()
	app.ServeHTTP(w, httptest.NewRequest("GET", "/v1/ping", nil))
	fmt.Println(w.Code, w.Body)
	// Output: 200 {"message":"pong"}
}
