// Package testkit is what the tests of easy share, so that each package's
// tests say what they prove and not how to reach a server: the databases
// they run on (SQLite always, PostgreSQL when a server is named), an app
// served on a real listener, requests to it checked against an exact
// status and body, and a log the test can read.
//
//	func TestThing(t *testing.T) {
//		testkit.Each(t, nil, func(t *testing.T, db *gorm.DB) {
//			srv := testkit.Serve(t, appOn(db))
//			testkit.Do(t, srv, "POST", "/items", `{"name":"apple"}`).
//				Expect(t, 201, `{"id":1,"name":"apple"}`)
//		})
//	}
//
// A test that needs what the machine may lack (a PostgreSQL or Redis
// server, a browser) calls Require, or Unavailable: it skips, and fails
// instead when EASY_TEST_REQUIRE=all, as CI sets it.
//
// testkit imports neither easy nor any third-party checker: the in-package
// tests of easy/crud can use it without an import cycle, and the
// library's go.mod needs nothing for it but the database drivers.
package testkit

import (
	"os"
	"slices"
	"strings"
	"testing"
)

// The environment variables the tests read.
const (
	PostgresEnv = "EASY_TEST_POSTGRES_DSN" // postgres://user:password@host:port/db?sslmode=disable
	RedisEnv    = "EASY_TEST_REDIS_URL"    // redis://host:port/db
	ChromeEnv   = "EASY_TEST_CHROME"       // the path of Chromium
	RequireEnv  = "EASY_TEST_REQUIRE"      // "all", or a comma-separated list of the variables above
)

// Require returns the value of the environment variable env. When it is
// unset, it skips t, or fails it when EASY_TEST_REQUIRE is "all" or lists
// env.
func Require(t testing.TB, env string) string {
	t.Helper()
	if v := os.Getenv(env); v != "" {
		return v
	}
	if required(env) {
		t.Fatalf("%s is not set, and %s=%s requires it", env, RequireEnv, os.Getenv(RequireEnv))
	}
	t.Skipf("%s is not set", env)
	return ""
}

// Unavailable skips t for reason, something the machine lacks that no
// variable names (a go command, a reachable module proxy), or fails it
// when EASY_TEST_REQUIRE=all.
func Unavailable(t testing.TB, reason string) {
	t.Helper()
	if required("") {
		t.Fatalf("%s, and %s=all", reason, RequireEnv)
	}
	t.Skip(reason)
}

// required reports whether EASY_TEST_REQUIRE asks for everything or for env.
func required(env string) bool {
	req := strings.Split(os.Getenv(RequireEnv), ",")
	return slices.Contains(req, "all") || env != "" && slices.Contains(req, env)
}
