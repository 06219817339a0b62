package capture

import "gorm.io/gorm"

// SetKeyQuery makes c find the rows of bulk updates and deletes with a key
// query before the write instead of RETURNING, to test and measure that path.
func SetKeyQuery(c *Capture, on bool) { c.keyQuery = on }

// TxControl exposes parseTxControl, naming its kind.
func TxControl(q string) (kind, name string) {
	k, n := parseTxControl(q)
	return [...]string{"none", "savepoint", "rollback-to", "release", "rollback"}[k], n
}

// HandoffDue reports whether the captured transaction tx owes a handoff of
// the CPU (see package handoff) that its Commit has not made yet.
func HandoffDue(tx *gorm.DB) bool { return txOf(tx.Statement.ConnPool).turn.Due() }
