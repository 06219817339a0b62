package binding_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/fastapi-easy/easy-go/internal/binding"
)

// TestMergePatch runs the examples of RFC 7396, appendix A.
func TestMergePatch(t *testing.T) {
	cases := []struct{ target, patch, want string }{
		{`{"a":"b"}`, `{"a":"c"}`, `{"a":"c"}`},
		{`{"a":"b"}`, `{"b":"c"}`, `{"a":"b","b":"c"}`},
		{`{"a":"b"}`, `{"a":null}`, `{}`},
		{`{"a":"b","b":"c"}`, `{"a":null}`, `{"b":"c"}`},
		{`{"a":["b"]}`, `{"a":"c"}`, `{"a":"c"}`},
		{`{"a":"c"}`, `{"a":["b"]}`, `{"a":["b"]}`},
		{`{"a":{"b":"c"}}`, `{"a":{"b":"d","c":null}}`, `{"a":{"b":"d"}}`},
		{`{"a":[{"b":"c"}]}`, `{"a":[1]}`, `{"a":[1]}`},
		{`["a","b"]`, `["c","d"]`, `["c","d"]`},
		{`{"a":"b"}`, `["c"]`, `["c"]`},
		{`{"a":"foo"}`, `null`, `null`},
		{`{"a":"foo"}`, `"bar"`, `"bar"`},
		{`{"e":null}`, `{"a":1}`, `{"a":1,"e":null}`},
		{`[1,2]`, `{"a":"b","c":null}`, `{"a":"b"}`},
		{`{}`, `{"a":{"bb":{"ccc":null}}}`, `{"a":{"bb":{}}}`},
		{``, `{"a":1}`, `{"a":1}`},
	}
	for _, c := range cases {
		got, err := binding.MergePatch(json.RawMessage(c.target), json.RawMessage(c.patch))
		if err != nil || string(got) != c.want {
			t.Errorf("MergePatch(%s, %s) = %s, %v; want %s", c.target, c.patch, got, err, c.want)
		}
	}
}

// TestCheckMergeDepth checks that brackets count by how they nest, and
// not when they are inside strings, escaped quotes included.
func TestCheckMergeDepth(t *testing.T) {
	deep := func(n int) string { return strings.Repeat("[", n) + strings.Repeat("]", n) }
	cases := []struct {
		raw  string
		fail bool
	}{
		{deep(binding.MaxMergeDepth), false},
		{deep(binding.MaxMergeDepth + 1), true},
		{`{"a":"` + strings.Repeat("{", 100) + `"}`, false},
		{`{"a":"\"` + strings.Repeat("[", 100) + `\\"}`, false},
		{strings.Repeat(`[{}]`, 100), false},
	}
	for _, c := range cases {
		if err := binding.CheckMergeDepth([]byte(c.raw)); (err != nil) != c.fail {
			t.Errorf("%.40s...: %v, want failure %v", c.raw, err, c.fail)
		}
	}
}
