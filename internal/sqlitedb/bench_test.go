package sqlitedb

import (
	"context"
	"database/sql"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

// BenchmarkSecondTablePerCommit is the floor of what an outbox costs a
// write on SQLite, without a framework: a transaction that inserts a row
// (as GORM's Create does, RETURNING its id from an AUTOINCREMENT table)
// against one that also inserts an event into a second table, each on a
// database of its own, taking turns. "two/one" is the second's time over
// the first's (ws's BenchmarkOutboxCreate measures easy's outbox against
// the same 1.3 target). The commits' medians ("commit-p50-one", "-two")
// and means ("commit-one", "-two") are reported too: the second table's
// page costs a commit a few microseconds at the median, and about as much
// again on average when the checkpoints' syncs write it to the disk.
//
//	go test -run '^$' -bench BenchmarkSecondTablePerCommit -benchtime 20000x -count 3 ./internal/sqlitedb/
func BenchmarkSecondTablePerCommit(b *testing.B) {
	ctx := context.Background()
	var dbs [2]*sql.DB
	for i := range dbs {
		dbs[i] = Open(filepath.Join(b.TempDir(), "w.db"), Options{})
		b.Cleanup(func() { dbs[i].Close() })
		for _, ddl := range []string{
			`CREATE TABLE items (id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT, price REAL)`,
			`CREATE TABLE events (seq INTEGER PRIMARY KEY, op TEXT NOT NULL, row_key TEXT NOT NULL, row_data TEXT, created BIGINT NOT NULL)`,
		} {
			if _, err := dbs[i].Exec(ddl); err != nil {
				b.Fatal(err)
			}
		}
	}
	var spent [2]time.Duration
	var commits [2][]time.Duration
	for n := 0; b.Loop(); n++ {
		for k := range dbs {
			i := (k + n) % 2 // take turns at going first
			start := time.Now()
			tx, err := dbs[i].BeginTx(ctx, nil)
			if err != nil {
				b.Fatal(err)
			}
			var id int64
			if err := tx.QueryRowContext(ctx, `INSERT INTO items (name, price) VALUES (?, ?) RETURNING id`, "apple", 1.5).Scan(&id); err != nil {
				b.Fatal(err)
			}
			if i == 1 {
				if _, err := tx.ExecContext(ctx, `INSERT INTO events (seq, op, row_key, row_data, created) VALUES (?, ?, ?, ?, ?)`,
					id, "create", "1", `{"id":1,"name":"apple","price":1.5}`, time.Now().UnixMicro()); err != nil {
					b.Fatal(err)
				}
			}
			committing := time.Now()
			if err := tx.Commit(); err != nil {
				b.Fatal(err)
			}
			done := time.Now()
			spent[i] += done.Sub(start)
			commits[i] = append(commits[i], done.Sub(committing))
		}
	}
	b.ReportMetric(float64(spent[1])/float64(spent[0]), "two/one")
	for i, name := range []string{"one", "two"} {
		c := commits[i]
		var sum time.Duration
		for _, d := range c {
			sum += d
		}
		slices.Sort(c)
		b.ReportMetric(float64(c[len(c)/2].Nanoseconds()), "commit-p50-"+name+"-ns")
		b.ReportMetric(float64(sum.Nanoseconds())/float64(len(c)), "commit-"+name+"-ns")
	}
}
