package migrate_test

import (
	"testing"

	"github.com/fastapi-easy/easy-go/internal/testkit"
)

// tablesOf lists the tables of the database of url, in its current schema.
func tablesOf(t *testing.T, url string) []string {
	t.Helper()
	return testkit.Tables(t, testkit.OpenURL(t, url))
}
