package capture_test

import (
	"testing"

	"github.com/fastapi-easy/easy-go/internal/capture"
)

// TestTxControl proves that the savepoint statements PostgreSQL and SQLite
// accept are recognised, and that other statements are left alone.
func TestTxControl(t *testing.T) {
	tests := []struct {
		query, kind, name string
	}{
		{"SAVEPOINT sp123", "savepoint", "sp123"},
		{"  savepoint \"Sp\";", "savepoint", "Sp"},
		{"ROLLBACK TO SAVEPOINT sp1", "rollback-to", "sp1"},
		{"rollback to sp1", "rollback-to", "sp1"},
		{"ROLLBACK TRANSACTION TO SAVEPOINT `sp1`", "rollback-to", "sp1"},
		{"RELEASE SAVEPOINT sp1", "release", "sp1"},
		{"RELEASE sp1", "release", "sp1"},
		{"ROLLBACK", "rollback", ""},
		{"rollback work;", "rollback", ""},
		{"SELECT * FROM savepoints", "none", ""},
		{"SAVEPOINT", "none", ""},
		{"ROLLBACK TO", "none", ""},
		{"ROLLBACK PREPARED 'x'", "none", ""},
		{"RELEASE SAVEPOINT a b", "none", ""},
		{"INSERT INTO t VALUES (1)", "none", ""},
		{"", "none", ""},
	}
	for _, tt := range tests {
		kind, name := capture.TxControl(tt.query)
		if kind != tt.kind || name != tt.name {
			t.Errorf("%q: %s %q, want %s %q", tt.query, kind, name, tt.kind, tt.name)
		}
	}
}
