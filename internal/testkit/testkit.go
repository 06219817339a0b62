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
// server, a browser) calls Require: it skips without the variable, and
// fails instead when EASY_TEST_REQUIRE=all, as CI sets it.
//
// testkit imports neither easy nor any third-party checker, so that the
// tests of every package, inside ones included, can use it, and the
// library's go.mod holds nothing for it but the database drivers.
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
	req := strings.Split(os.Getenv(RequireEnv), ",")
	if slices.Contains(req, "all") || slices.Contains(req, env) {
		t.Fatalf("%s is not set, and %s=%s requires it", env, RequireEnv, os.Getenv(RequireEnv))
	}
	t.Skipf("%s is not set", env)
	return ""
}
