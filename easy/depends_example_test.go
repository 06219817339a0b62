package easy_test

import (
	"context"
	"fmt"
	"net/http/httptest"

	"github.com/fastapi-easy/easy-go/easy"
)

// A dependency declared once, read typed by the handlers that list it;
// its header is validated and documented with each of them.
func ExampleDepends() {
	type TokenIn struct {
		Token string `header:"X-Token" required:"true"`
	}
	type User struct {
		Name string `json:"name"`
	}
	currentUser := easy.Depends(func(ctx context.Context, in *TokenIn) (*User, error) {
		if in.Token != "secret" {
			return nil, easy.Unauthorized("Invalid token")
		}
		return &User{Name: "ann"}, nil
	})

	app := easy.New()
	easy.Get(app, "/me", func(ctx context.Context, _ *easy.NoInput) (*User, error) {
		return currentUser.From(ctx), nil
	}, easy.Uses(currentUser))

	for _, token := range []string{"secret", "guess"} {
		req := httptest.NewRequest("GET", "/me", nil)
		req.Header.Set("X-Token", token)
		w := httptest.NewRecorder()
		app.ServeHTTP(w, req)
		fmt.Println(w.Code, w.Body.String())
	}
	// Output:
	// 200 {"name":"ann"}
	// 401 {"detail":"Invalid token"}
}
