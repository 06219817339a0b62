package main

import (
	"embed"
	"io/fs"
	"net/http"

	"github.com/fastapi-easy/easy-go/easy"
)

// static holds the dashboard: a page, its style and its script, which
// uses the JavaScript client that ws.Setup serves at /ws/client.js.
//
//go:embed static
var static embed.FS

// mountDashboard serves the live dashboard at / and its files under
// /static/, outside the OpenAPI document; a missing file is the App's 404
// {"detail":"Not Found"}.
func mountDashboard(app *easy.App) {
	files, err := fs.Sub(static, "static")
	if err != nil {
		panic("items: " + err.Error()) // the embedded tree is fixed at build time
	}
	serve := easy.FileServer(files)
	app.Handle("GET /", serve) // FileServer answers / with index.html
	app.Handle("GET /static/*", http.StripPrefix("/static", serve))
}
