// Package migrate changes the schema of an easy App's database: safely
// when many instances of the App start at once, in versioned migrations
// where GORM's AutoMigrate is not enough (a rename, a change to the
// data, a production change reviewed before it runs), and from a command
// for the people who run the App:
//
//	//go:embed migrations
//	var migrations embed.FS
//
//	func main() {
//		app := easy.New(easy.Migrations(migrations, "migrations"))
//		app.Include(easy.CRUDRouter[Item]())
//		if migrate.Main(app, os.Args[1:]) { // go run . migrate status|up|down|create NAME|plan
//			return
//		}
//		log.Fatal(app.Run(":8000"))
//	}
//
// Every change a Schema makes runs under one lock per database: a
// PostgreSQL advisory lock (keyed by the current schema) or SQLite's
// write lock, taken on one connection for the whole change. An instance
// that finds it taken waits, then finds the schema ready.
//
// The versioned migrations are goose's (github.com/pressly/goose/v3):
// SQL files named VERSION_NAME.sql, each with a "-- +goose Up" and a
// "-- +goose Down" section, applied in order, each in a transaction
// unless its file says "-- +goose NO TRANSACTION", and recorded in
// goose's table goose_db_version, so that goose's own command works on
// the same database. Migrations written in Go are a Go.
//
// See docs/migrations.md for when an App migrates, and what happens when
// a migration fails.
package migrate
