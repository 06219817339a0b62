package testkit

import (
	"bytes"
	"log/slog"
	"sync"
)

// Log holds what a logger wrote while a test ran. A server logs from the
// goroutines of its requests, so writes and reads take a lock.
type Log struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

// Write appends p to the log.
func (l *Log) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

// String returns everything written so far.
func (l *Log) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// Logger returns a text logger that writes the records of level and above
// into the returned Log, for tests that check what is logged (or that
// nothing secret is).
func Logger(level slog.Level) (*slog.Logger, *Log) {
	l := &Log{}
	return slog.New(slog.NewTextHandler(l, &slog.HandlerOptions{Level: level})), l
}
