package sqlitedb_test

import (
	"fmt"
	"path/filepath"
	"sync"
	"testing"

	"github.com/fastapi-easy/easy-go/internal/sqlitedb"
)

// TestNewFileOpenedByManyAtOnce opens a new database file from sixteen
// pools at once, as instances of an App starting together do, fifty
// times: every first connection opens. Setting WAL mode on a new file
// takes a lock that SQLite refuses at once, without waiting, to a
// connection that finds it taken.
func TestNewFileOpenedByManyAtOnce(t *testing.T) {
	const pools, rounds = 16, 50
	for round := range rounds {
		path := filepath.Join(t.TempDir(), fmt.Sprintf("%d.db", round))
		var wg sync.WaitGroup
		start := make(chan struct{})
		for range pools {
			wg.Go(func() {
				db := sqlitedb.Open(path, sqlitedb.Options{})
				defer db.Close()
				<-start
				var mode string
				if err := db.QueryRow("PRAGMA journal_mode").Scan(&mode); err != nil || mode != "wal" {
					t.Errorf("round %d: journal mode %q, %v", round, mode, err)
				}
			})
		}
		close(start)
		wg.Wait()
	}
}
