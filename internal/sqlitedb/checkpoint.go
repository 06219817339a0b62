package sqlitedb

import (
	"context"
	"database/sql/driver"
	"fmt"
	"strconv"
	"time"
)

// Checkpoints. SQLite copies the WAL back into the database file (a
// checkpoint) in the commit that takes the WAL past 1,000 pages, and syncs
// both files there: 3.5–6 ms inside that one write, every few hundred
// writes, with the gate held, so that every writer waits as long
// (docs/scaling.md). Here no connection checkpoints by itself
// (walPragmas): a goroutine of the pool's, on a connection of its own,
// runs a PASSIVE checkpoint every checkpointEvery writes, beside the
// writers (it takes no write lock, and SQLite syncs only there).
//
// A WAL starts again from its beginning at a write that finds all of it
// back in the database, and writers go on appending while a checkpoint
// runs beside them. So once the WAL is past walPages pages the goroutine
// takes the gate and runs a RESTART checkpoint, which copies what was
// written since the PASSIVE one, syncs, and waits (at most restartWait)
// for the readers of the WAL to finish: the next write starts the WAL
// again. Writers wait for a checkpoint only there, every walPages pages.
// A WAL file larger than twice walPages (after a reader pinned it) is cut
// back to that when it starts again.
const (
	checkpointEvery = 256
	walPages        = 8192 // 32 MiB of 4 KiB pages
	restartWait     = 100 * time.Millisecond
)

// walPragmas are run on every connection: see above.
var walPragmas = fmt.Sprintf("PRAGMA wal_autocheckpoint = 0; PRAGMA journal_size_limit = %d", 2*walPages*(4096+24))

// wrote counts a write transaction's end and wakes the checkpointer every
// checkpointEvery of them.
func (c *connector) wrote() {
	if c.writes.Add(1)%checkpointEvery == 0 {
		select {
		case c.kick <- struct{}{}:
		default:
		}
	}
}

// checkpointer runs the checkpoints until ctx ends, on a connection of its
// own, opened at the first one and again after a checkpoint failed. A
// RESTART that a reader holds up (one that reads for longer than
// restartWait pins the WAL) is not tried again until the WAL has grown by
// walPages more: each try holds the writers for restartWait.
func (c *connector) checkpointer(ctx context.Context) {
	defer close(c.stopped)
	var conn *gatedConn
	defer func() {
		if conn != nil {
			conn.Close()
		}
	}()
	restartAt := int64(walPages)
	for {
		select {
		case <-ctx.Done():
			return
		case <-c.kick:
		}
		if ctx.Err() != nil {
			return // a kick and Close at once
		}
		if conn == nil {
			var err error
			if conn, err = c.checkpointConn(ctx); err != nil {
				continue // the next kick tries again
			}
		}
		pages, _, err := checkpoint(conn, "PASSIVE")
		switch {
		case err != nil:
			conn.Close()
			conn = nil
			continue
		case pages < 0:
			continue // another process's checkpoint is running
		case pages < walPages:
			restartAt = walPages
		}
		if pages < restartAt || c.acquire(ctx) != nil {
			continue
		}
		c.restarts.Add(1)
		_, busy, err := checkpoint(conn, "RESTART")
		<-c.gate // not a write: no count, no handoff (see release)
		if busy || err != nil {
			restartAt = pages + walPages
		}
	}
}

// checkpointConn opens the checkpointer's connection, whose busy timeout
// is restartWait.
func (c *connector) checkpointConn(ctx context.Context) (*gatedConn, error) {
	dc, err := c.Connect(ctx)
	if err != nil {
		return nil, err
	}
	conn := dc.(*gatedConn)
	if _, err := conn.SQLiteConn.Exec("PRAGMA busy_timeout = "+strconv.FormatInt(restartWait.Milliseconds(), 10), nil); err != nil {
		conn.Close()
		return nil, err
	}
	return conn, nil
}

// checkpoint runs a checkpoint in mode and returns the WAL's size in pages
// and whether a lock kept it from finishing.
func checkpoint(conn *gatedConn, mode string) (pages int64, busy bool, err error) {
	rows, err := conn.SQLiteConn.Query("PRAGMA wal_checkpoint("+mode+")", nil)
	if err != nil {
		return 0, false, err
	}
	defer rows.Close()
	v := make([]driver.Value, 3) // busy, pages in the WAL, pages checkpointed
	if err := rows.Next(v); err != nil {
		return 0, false, err
	}
	b, _ := v[0].(int64)
	pages, _ = v[1].(int64)
	return pages, b != 0, nil
}

// Close stops the checkpointer; database/sql's DB.Close calls it, after
// closing the idle connections (one in use closes when it is given back;
// the last to close checkpoints the WAL).
func (c *connector) Close() error {
	c.stop()
	<-c.stopped
	return nil
}
