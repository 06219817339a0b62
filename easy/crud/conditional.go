package crud

import (
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"strings"

	"github.com/fastapi-easy/easy-go/easy/problem"
)

// Conditional requests (RFC 9110, section 13). A row's entity tag is
// strong and derived from its column values (model.Hash): the same on
// every instance and after a restart, with no column to add. A list's is
// weak, a hash of the page as written.
//
//	GET    If-None-Match: "tag"  → 304 when the row (or page) is unchanged
//	PUT, PATCH, DELETE  If-Match: "tag"  → 412 when the row has changed
//
// If-Match is checked in the write's transaction, on the row read for the
// write (locked with FOR UPDATE on PostgreSQL), so of two writers sending
// the same tag exactly one wins.

// etag is the strong entity tag of a row, a pointer to the model.
func (c *core) etag(row any) string {
	sum := c.m.Hash(row)
	return `"` + base64.RawURLEncoding.EncodeToString(sum[:16]) + `"`
}

// weakETag is the weak entity tag of the parts of a response.
func weakETag(parts ...[]byte) string {
	h := sha256.New()
	for _, p := range parts {
		h.Write(p)
		h.Write([]byte{0})
	}
	return `W/"` + base64.RawURLEncoding.EncodeToString(h.Sum(nil)[:16]) + `"`
}

// condition is a parsed If-Match or If-None-Match header.
type condition struct {
	header string
	any    bool     // *
	tags   []string // as sent, W/ included
}

// conditionOf reads the header name of r: nil when absent, a 422 at
// ["header", name] when it is neither * nor a list of entity tags.
func conditionOf(r *http.Request, name string) (*condition, error) {
	lines := r.Header.Values(name)
	if len(lines) == 0 {
		return nil, nil
	}
	return parseCondition(name, lines)
}

// parseCondition parses the lines of a condition header called name.
func parseCondition(name string, lines []string) (*condition, error) {
	c := &condition{header: name}
	for _, line := range lines {
		for part := range strings.SplitSeq(line, ",") {
			tag := strings.TrimSpace(part)
			switch {
			case tag == "":
				// an empty element of a list, which RFC 9110 lets through
			case tag == "*":
				c.any = true
			case validETag(tag):
				c.tags = append(c.tags, tag)
			default:
				return nil, etagError(name, lines)
			}
		}
	}
	if !c.any && len(c.tags) == 0 {
		return nil, etagError(name, lines)
	}
	return c, nil
}

func etagError(name string, lines []string) error {
	return &problem.ValidationError{Errors: []problem.FieldError{{Type: "etag_parsing", Loc: []any{"header", name},
		Input: problem.Truncate(strings.Join(lines, ", ")),
		Msg:   `Input should be * or a comma-separated list of entity tags, such as "xyzzy" or W/"xyzzy"`}}}
}

// validETag reports whether s is an entity-tag: [W/] "etagc*".
func validETag(s string) bool {
	s = strings.TrimPrefix(s, "W/")
	if len(s) < 2 || s[0] != '"' || s[len(s)-1] != '"' {
		return false
	}
	for i := 1; i < len(s)-1; i++ {
		if b := s[i]; b != 0x21 && (b < 0x23 || b == 0x7f) {
			return false
		}
	}
	return true
}

// matchStrong reports whether an If-Match condition holds for a row with
// entity tag tag: * or the same tag, never a weak one.
func (c *condition) matchStrong(tag string) bool {
	if c.any {
		return true
	}
	for _, t := range c.tags {
		if t == tag {
			return true
		}
	}
	return false
}

// matchWeak reports whether an If-None-Match condition names tag: * or
// the same opaque tag, weak or strong.
func (c *condition) matchWeak(tag string) bool {
	if c.any {
		return true
	}
	tag = strings.TrimPrefix(tag, "W/")
	for _, t := range c.tags {
		if strings.TrimPrefix(t, "W/") == tag {
			return true
		}
	}
	return false
}

// changed is the 412 of a write whose If-Match the row no longer matches;
// it carries the row's entity tag, for the client to read it again.
func (c *core) changed(tag string) error {
	return &problem.HTTPError{Status: http.StatusPreconditionFailed,
		Detail:  c.m.Name + " has changed since the version If-Match names",
		Headers: http.Header{"Etag": {tag}}}
}

// notModified answers 304 with the entity tag.
func notModified(w http.ResponseWriter, tag string) {
	w.Header().Set("ETag", tag)
	w.WriteHeader(http.StatusNotModified)
}
