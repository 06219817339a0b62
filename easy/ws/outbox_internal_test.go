package ws

import (
	"strings"
	"testing"
)

// Each resource has an outbox table of its own, whatever its table's
// name: no two share one, none is the counters' table, and every name is
// a plain identifier that PostgreSQL keeps whole.
func TestOutboxNames(t *testing.T) {
	long := "a_table_name_that_is_long_enough_to_pass_postgresqls_limit_of_63"
	for _, c := range []struct {
		table, name string
		hashed      bool // the name is followed by eight hex digits
	}{
		{"items", "easy_outbox_items", false},
		{"order_2", "easy_outbox_order_2", false},
		{"seq", "easy_outbox_seq_", true},
		{"Items", "easy_outbox_items_", true},
		{"app.items", "easy_outbox_app_items_", true},
		{long, "easy_outbox_a_table_name_that_is_long_enough_to_pass_p_", true},
	} {
		got := outboxName(c.table)
		rest, ok := strings.CutPrefix(got, c.name)
		if !ok || c.hashed != (len(rest) == 8) || !c.hashed && rest != "" || len(got) > 63 {
			t.Errorf("outboxName(%q) = %q, want %q (and a hash: %v), at most 63 bytes", c.table, got, c.name, c.hashed)
		}
	}
	// Tables that sanitize alike still get outbox tables of their own.
	names := map[string]string{}
	for _, table := range []string{"a_b", "a.b", "a,b", "A_b", "a-b", "seq", "Seq"} {
		name := outboxName(table)
		if other, ok := names[name]; ok {
			t.Errorf("%q and %q share the outbox table %q", other, table, name)
		}
		names[name] = table
	}
}
