package main

import (
	"crypto/rand"
	"os"

	"github.com/fastapi-easy/easy-go/easy"
	"github.com/fastapi-easy/easy-go/examples/items/accounts"
)

// newAuthApp builds the app with logins (package accounts): users sign up
// at POST /users and in at POST /token (or with the dashboard's form, or
// Swagger UI's Authorize button), and each sees and changes only the items
// they added, over REST and live.
func newAuthApp(secret []byte, opts ...easy.Option) (*easy.App, error) {
	app := easy.New(append(baseOptions(), opts...)...)
	if _, err := app.Database(); err != nil {
		return nil, err
	}
	accounts.Mount(app, secret) // /users, /token, /items and /ws/items, owned
	mountDashboard(app)
	return app, nil
}

// tokenSecret is the key that signs access tokens: ITEMS_SECRET, or a
// random one, with which tokens do not outlive the process.
func tokenSecret() []byte {
	if s := os.Getenv("ITEMS_SECRET"); s != "" {
		return []byte(s)
	}
	return []byte(rand.Text() + rand.Text())
}
