// Package route is the contract between an easy App and the routers it
// includes: what a router is given to add its routes, and what it must
// be to be included. It lets a router such as easy/crud's live in a
// package of its own, which package easy imports and which cannot import
// easy. Most programs never name it: they write
//
//	app.Include(easy.CRUDRouter[Item]())
//
// A router of one's own implements Mounter and adds its operations, each
// with a plain http.Handler, through the Site it is mounted on:
//
//	type health struct{}
//
//	func (health) Mount(s route.Site) error {
//		s.Add(openapi.Operation{Method: "GET", Path: "/healthz", ID: "health"},
//			http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusOK) }))
//		return nil
//	}
package route

import (
	"log/slog"
	"net/http"

	"gorm.io/gorm"

	"github.com/fastapi-easy/easy-go/easy/openapi"
)

// Mounter is a router that an App or a Group can include: a set of
// routes that adds itself to the Site it is given.
type Mounter interface {
	// Mount adds the router's routes to s. Its error stops the App at
	// start-up, as a mistake of setup.
	Mount(s Site) error
}

// Migrator is a Mounter whose models the App migrates (unless told not
// to) before it mounts it.
type Migrator interface {
	Models() []any
}

// Site is where a Mounter adds its routes: the App or the Group that
// includes it. Paths are relative to the Site, which adds its prefix,
// tags, dependencies and middleware to each operation.
type Site interface {
	// Add routes op.Method op.Path to h and adds op to the OpenAPI
	// document. A mistake in op (an operation ID taken, say) panics. It
	// returns op as documented: with the Site's prefix, and the
	// parameters of its dependencies among op.Params.
	Add(op openapi.Operation, h http.Handler) openapi.Operation
	// Require returns h behind reqs, resolved in order for each request
	// (the first error is the response), and documents them in op: their
	// parameters, security and error statuses. It panics when one of reqs
	// was not made by package easy.
	Require(op *openapi.Operation, h http.Handler, reqs ...Requirement) http.Handler
	// DB is the App's database.
	DB() *gorm.DB
	// Spec is the App's OpenAPI document, for the schemas a router
	// derives from its models.
	Spec() *openapi.Spec
	// Logger is the App's logger, for the errors answered with a 500.
	Logger() *slog.Logger
	// ForbidsUnknownFields reports whether request bodies with properties
	// the input does not declare are refused here (easy.ForbidUnknownFields).
	// A router follows it unless its own options say otherwise.
	ForbidsUnknownFields() bool
}

// Requirement is what a route needs before it runs: an easy.Dependency
// of any type, such as a security scheme of easy/security. A router takes
// Requirements in its options and hands them to Site.Require, which
// resolves and documents them. Its unexported method makes only the types
// that embed Sealed Requirements, so that passing anything else (a
// middleware, a function) is a compile error.
type Requirement interface{ requirement() }

// Sealed makes the struct that embeds it a Requirement. Package easy
// embeds it in its Dependency; embedding it elsewhere gains nothing, as
// Site.Require refuses what easy did not make.
type Sealed struct{}

func (Sealed) requirement() {}
