package ws_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
	"gorm.io/gorm"

	"github.com/fastapi-easy/easy-go/internal/testdb"
)

// TestSnapshotConsistentUnderConcurrentWrites subscribes while writers
// create, update and delete rows through GORM. The snapshot plus the events
// after its seq must rebuild exactly the table the database ends with.
func TestSnapshotConsistentUnderConcurrentWrites(t *testing.T) {
	testdb.Each(t, nil, func(t *testing.T, db *gorm.DB) {
		_, srv := realtimeApp(t, db)
		for i := 0; i < 20; i++ {
			db.Create(&Product{Name: fmt.Sprint("seed", i), Price: float64(i)})
		}

		ctx, cancel := context.WithCancel(context.Background())
		var wg sync.WaitGroup
		for w := 0; w < 4; w++ {
			wg.Add(1)
			// Each writer stops when ctx ends.
			go func(w int) {
				defer wg.Done()
				r := rand.New(rand.NewPCG(uint64(w), 7))
				for i := 0; ctx.Err() == nil; i++ {
					id := 1 + r.IntN(40)
					switch r.IntN(3) {
					case 0:
						db.Create(&Product{Name: fmt.Sprint("w", w, "-", i), Price: 1})
					case 1:
						db.Model(&Product{}).Where("id = ?", id).Update("price", float64(i))
					case 2:
						db.Delete(&Product{}, id)
					}
				}
			}(w)
		}

		c := listen(t, srv, "products")
		time.Sleep(20 * time.Millisecond)
		c.Write(context.Background(), websocket.MessageText, []byte(`{"type":"subscribe"}`))
		state := map[string]json.RawMessage{}
		var snapshotSeq, last, before uint64
		for snapshotSeq == 0 {
			w := receive(t, c)
			if w.Type != "initial" {
				// Events before the snapshot are superseded by it: none
				// may be newer than the snapshot itself.
				before = max(before, w.Seq)
				continue
			}
			var rows []json.RawMessage
			json.Unmarshal(w.Data, &rows)
			for _, row := range rows {
				var k struct{ ID uint }
				json.Unmarshal(row, &k)
				state[jsonID(k.ID)] = row
			}
			snapshotSeq, last = w.Seq, w.Seq
			if before > snapshotSeq {
				t.Fatalf("event %d arrived before the snapshot at %d", before, snapshotSeq)
			}
		}
		time.Sleep(100 * time.Millisecond)
		cancel()
		wg.Wait()
		// A sentinel write marks the end of the stream.
		end := Product{Name: "end", Price: 1}
		db.Create(&end)
		for {
			w := receive(t, c)
			if w.Seq != last+1 {
				t.Fatalf("after seq %d came %d (%s)", last, w.Seq, w.Type)
			}
			last = w.Seq
			switch w.Type {
			case "create", "update":
				state[string(w.ID)] = w.Data
			case "delete":
				delete(state, string(w.ID))
			}
			if string(w.ID) == jsonID(end.ID) {
				break
			}
		}
		if last-snapshotSeq < 5 {
			t.Fatalf("only %d events after the snapshot: the writers did not overlap it", last-snapshotSeq)
		}
		var rows []Product
		db.Order("id").Find(&rows)
		if len(rows) != len(state) {
			t.Fatalf("rebuilt %d rows, the database has %d", len(state), len(rows))
		}
		for _, p := range rows {
			want, _ := json.Marshal(p)
			if !sameJSON(state[jsonID(p.ID)], string(want)) {
				t.Fatalf("row %d: rebuilt %s, database %s", p.ID, state[jsonID(p.ID)], want)
			}
		}
	})
}
