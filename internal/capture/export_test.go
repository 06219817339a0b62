package capture

// SetKeyQuery makes c find the rows of bulk updates and deletes with a key
// query before the write instead of RETURNING, to test and measure that path.
func SetKeyQuery(c *Capture, on bool) { c.keyQuery = on }

// TxControl exposes parseTxControl, naming its kind.
func TxControl(q string) (kind, name string) {
	k, n := parseTxControl(q)
	return [...]string{"none", "savepoint", "rollback-to", "release", "rollback"}[k], n
}
