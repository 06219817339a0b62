// Package route holds the interface between the App and the routers it
// includes, so that easy/crud can mount itself without importing easy.
package route

import (
	"log/slog"
	"net/http"

	"gorm.io/gorm"

	"github.com/fastapi-easy/easy-go/easy/openapi"
)

// Registrar is where a router adds its routes: an *easy.App or an
// *easy.Group. Paths in operations are relative to the registrar.
type Registrar interface {
	// AddOperation routes op.Method op.Path to h and documents it.
	AddOperation(op openapi.Operation, h http.Handler)
	// DB is the app's database.
	DB() *gorm.DB
	// Spec is the app's OpenAPI document.
	Spec() *openapi.Spec
	// Logger is the app's logger.
	Logger() *slog.Logger
}

// Mounter is a router that an App can include.
type Mounter interface {
	Mount(r Registrar) error
}

// Migrator is a Mounter whose models the App migrates before mounting it.
type Migrator interface {
	Models() []any
}

// Requirement is what an operation needs before its handler runs: a
// dependency of package easy. Routers that cannot import easy take it
// through this interface.
type Requirement interface {
	// Wrap returns next behind the requirement: it resolves the
	// requirement for each request and stops the request with its error,
	// logging to log the errors it answers with a 500.
	Wrap(next http.Handler, log *slog.Logger) http.Handler
	// Describe documents the requirement in op (its parameters, security
	// and error statuses) and adds the security schemes it uses to spec.
	Describe(spec *openapi.Spec, op *openapi.Operation)
}
