package ws

// SetMaxHeld lowers how many rows a subscription keeps track of, for a
// test, and returns what puts it back.
func SetMaxHeld(n int) (restore func()) {
	old := maxHeld
	maxHeld = n
	return func() { maxHeld = old }
}

// ClientAddr is what MaxConnectionsPerIP counts a connection against.
var ClientAddr = clientAddr
