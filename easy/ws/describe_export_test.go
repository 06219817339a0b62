package ws

// ServeSSEAt says that m serves Server-Sent Events endpoints at prefix, as
// what mounts them will, so that a test sees their channels described.
func ServeSSEAt(m *Manager, prefix string) { m.cfg.sseServed = prefix }
