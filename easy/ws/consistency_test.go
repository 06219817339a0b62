package ws_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"
	"gorm.io/gorm"

	"github.com/fastapi-easy/easy-go/internal/testkit"
)

// TestSnapshotConsistentUnderConcurrentWrites subscribes while writers
// create, update and delete rows through GORM. The snapshot plus the events
// after its seq must rebuild exactly the table the database ends with.
func TestSnapshotConsistentUnderConcurrentWrites(t *testing.T) {
	testkit.Each(t, nil, func(t *testing.T, db *gorm.DB) {
		_, srv := realtimeApp(t, db)
		seedProducts(db, 20)
		stop := churnDB(db, 4, 7)

		c := listen(t, srv, "products")
		time.Sleep(20 * time.Millisecond)
		rep := subscribeReplica(t, c, "")
		// Events before the snapshot are superseded by it: none may be
		// newer than the snapshot itself.
		if rep.newestBefore > rep.snapshotSeq {
			t.Fatalf("event %d arrived before the snapshot at %d", rep.newestBefore, rep.snapshotSeq)
		}
		time.Sleep(100 * time.Millisecond)
		stop()
		rep.followToEnd(t, c, db)
		if rep.last-rep.snapshotSeq < 5 {
			t.Fatalf("only %d events after the snapshot: the writers did not overlap it", rep.last-rep.snapshotSeq)
		}
		rep.matches(t, db)
	})
}

// TestFilteredViewConsistentUnderConcurrentWrites does the same with a
// filter that rows keep moving in and out of: the snapshot plus the events
// after it (deletes for the rows that leave) must rebuild exactly the rows
// of the table that pass the filter.
func TestFilteredViewConsistentUnderConcurrentWrites(t *testing.T) {
	testkit.Each(t, nil, func(t *testing.T, db *gorm.DB) {
		_, srv := realtimeApp(t, db)
		seedProducts(db, 20)
		everything := listen(t, srv, "products") // what each seq was
		send(t, everything, `{"type":"ping"}`)
		expect(t, everything, `{"type":"pong"}`)
		stop := churnDB(db, 4, 11)

		c := listen(t, srv, "products")
		time.Sleep(20 * time.Millisecond)
		rep := subscribeReplica(t, c, `{"price__gt":"10"}`)
		time.Sleep(100 * time.Millisecond)
		stop()
		// However the churn went, five rows surely come in and leave.
		for id := 1; id <= 5; id++ {
			db.Model(&Product{}).Where("id = ?", id).Update("price", 50)
			db.Model(&Product{}).Where("id = ?", id).Update("price", 5)
		}
		rep.followToEnd(t, c, db)
		rep.matches(t, db)

		types := map[uint64]string{}
		for w := receive(t, everything); w.Seq < rep.last; w = receive(t, everything) {
			types[w.Seq] = w.Type
		}
		left := 0
		for _, seq := range rep.deletes {
			switch types[seq] {
			case "update":
				left++
			case "delete":
			default:
				t.Fatalf("the subscriber got a delete for seq %d, which was a %q", seq, types[seq])
			}
		}
		if left < 5 {
			t.Fatalf("only %d rows left the view, want at least the 5 moved out last", left)
		}
	})
}

func seedProducts(db *gorm.DB, n int) {
	for i := range n {
		db.Create(&Product{Name: fmt.Sprint("seed", i), Price: float64(i)})
	}
}

// churnDB starts writers that create, update and delete products through db
// at random; the returned stop ends them and waits until they have. They
// create 300 rows at most between them, so that a snapshot of the table
// holds all of it (a subscribe gets 1,000 rows at most, SnapshotLimit's
// default) however fast they write.
func churnDB(db *gorm.DB, writers int, seed uint64) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	var creates atomic.Int32
	for w := range writers {
		// Each writer stops when ctx ends.
		wg.Go(func() {
			r := rand.New(rand.NewPCG(uint64(w), seed))
			for i := 0; ctx.Err() == nil; i++ {
				id := 1 + r.IntN(40)
				switch r.IntN(3) {
				case 0:
					if creates.Add(1) <= 300 {
						db.Create(&Product{Name: fmt.Sprint("w", w, "-", i), Price: 1})
					}
				case 1: // in and out of a filter on price > 10
					db.Model(&Product{}).Where("id = ?", id).Update("price", float64(i%20))
				case 2: // the seeded rows 1-20 stay, and move in and out
					db.Delete(&Product{}, 21+r.IntN(20))
				}
			}
		})
	}
	return func() {
		cancel()
		wg.Wait()
	}
}

// replica is the products table as a subscriber rebuilds it: its snapshot,
// then every event after the snapshot's seq.
type replica struct {
	rows              map[string]json.RawMessage // by JSON id
	snapshotSeq, last uint64
	newestBefore      uint64   // the newest event that came before the snapshot
	filtered          bool     // price > 10 only; seqs then skip what fails it
	deletes           []uint64 // the seqs of the deletes after the snapshot
}

// subscribeReplica subscribes on c, with filter unless it is "", and reads
// until the snapshot. A filter must be {"price__gt":"10"}, which matches
// knows how to query.
func subscribeReplica(t *testing.T, c *websocket.Conn, filter string) *replica {
	t.Helper()
	// The snapshot of a table that writers grow may pass the client's
	// default limit (32 KiB): up to 1,000 rows (SnapshotLimit) go in it.
	c.SetReadLimit(1 << 20)
	msg := `{"type":"subscribe"}`
	if filter != "" {
		msg = `{"type":"subscribe","filter":` + filter + `}`
	}
	c.Write(context.Background(), websocket.MessageText, []byte(msg))
	rep := &replica{rows: map[string]json.RawMessage{}, filtered: filter != ""}
	for rep.snapshotSeq == 0 {
		w := receive(t, c)
		if w.Type != "initial" {
			rep.newestBefore = max(rep.newestBefore, w.Seq)
			continue
		}
		var rows []json.RawMessage
		json.Unmarshal(w.Data, &rows)
		if len(rows) >= 1000 {
			t.Fatalf("a snapshot of %d rows: SnapshotLimit may have cut it", len(rows))
		}
		for _, row := range rows {
			var k struct{ ID uint }
			json.Unmarshal(row, &k)
			rep.rows[jsonID(k.ID)] = row
		}
		rep.snapshotSeq, rep.last = w.Seq, w.Seq
	}
	return rep
}

// followToEnd writes a sentinel row through db and applies c's events, each
// seq one more than the last (above it, when filtered), up to the
// sentinel's: every write committed before it comes first.
func (rep *replica) followToEnd(t *testing.T, c *websocket.Conn, db *gorm.DB) {
	t.Helper()
	end := Product{Name: "end", Price: 100}
	db.Create(&end)
	for {
		w := receive(t, c)
		if w.Seq != rep.last+1 && !(rep.filtered && w.Seq > rep.last) {
			t.Fatalf("after seq %d came %d (%s)", rep.last, w.Seq, w.Type)
		}
		rep.last = w.Seq
		switch w.Type {
		case "create", "update":
			rep.rows[string(w.ID)] = w.Data
		case "delete":
			delete(rep.rows, string(w.ID))
			rep.deletes = append(rep.deletes, w.Seq)
		}
		if string(w.ID) == jsonID(end.ID) {
			return
		}
	}
}

// matches fails t unless the replica equals the products table, or its
// rows that pass the filter.
func (rep *replica) matches(t *testing.T, db *gorm.DB) {
	t.Helper()
	var rows []Product
	q := db.Order("id")
	if rep.filtered {
		q = q.Where("price > ?", 10)
	}
	q.Find(&rows)
	if len(rows) != len(rep.rows) {
		t.Fatalf("rebuilt %d rows, the database has %d", len(rep.rows), len(rows))
	}
	for _, p := range rows {
		want, _ := json.Marshal(p)
		if got := rep.rows[jsonID(p.ID)]; !sameJSON(got, string(want)) {
			t.Fatalf("row %d: rebuilt %s, database %s", p.ID, got, want)
		}
	}
}
