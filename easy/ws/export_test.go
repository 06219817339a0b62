package ws

import "time"

// SetMaxHeld lowers how many rows a subscription keeps track of, for a
// test, and returns what puts it back.
func SetMaxHeld(n int) (restore func()) {
	old := maxHeld
	maxHeld = n
	return func() { maxHeld = old }
}

// ClientAddr is what MaxConnectionsPerIP counts a connection against.
var ClientAddr = clientAddr

// SetOutboxTrimEvery sets how often the outbox is trimmed by age, for a
// test, and returns what puts it back.
func SetOutboxTrimEvery(d time.Duration) (restore func()) {
	old := outboxTrimEvery
	outboxTrimEvery = d
	return func() { outboxTrimEvery = old }
}

// SetOutboxRelayPoll sets how often the outbox relay reads every table,
// for a test, and returns what puts it back.
func SetOutboxRelayPoll(d time.Duration) (restore func()) {
	old := outboxRelayPoll
	outboxRelayPoll = d
	return func() { outboxRelayPoll = old }
}

// SetOutboxRelayStep sets the bound of each step of the outbox relay, for
// a test, and returns what puts it back.
func SetOutboxRelayStep(d time.Duration) (restore func()) {
	old := outboxRelayStep
	outboxRelayStep = d
	return func() { outboxRelayStep = old }
}

// SetOutboxFollowEvery sets how often a Manager without a broker looks
// for other processes' events in the outbox, for a test, and returns what
// puts it back.
func SetOutboxFollowEvery(d time.Duration) (restore func()) {
	old := outboxFollowEvery
	outboxFollowEvery = d
	return func() { outboxFollowEvery = old }
}

// SetOutboxCrowdedFor sets how long a process on PostgreSQL claims its
// numbers after it last saw another process write, for a test, and
// returns what puts it back.
func SetOutboxCrowdedFor(d time.Duration) (restore func()) {
	old := outboxCrowdedFor
	outboxCrowdedFor = d
	return func() { outboxCrowdedFor = old }
}

// OutboxCrowded reports whether m's next commit would claim its numbers
// first, having seen another process write lately.
func OutboxCrowded(m *Manager) bool {
	o := m.outbox
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.crowdedNow()
}
