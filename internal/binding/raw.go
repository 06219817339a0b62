package binding

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"

	"github.com/fastapi-easy/easy-go/easy/problem"
)

// DecodeJSON decodes raw, a JSON object read already, into dst, a pointer
// to the plan's struct, as Bind decodes a request's body: every problem
// is reported at once, each located under loc. It returns the top-level
// properties raw holds. It serves bodies that are not a request's own:
// one operation of a batch, a merge patch applied to a stored row.
func (p *Plan) DecodeJSON(raw []byte, dst any, loc []any) (map[string]bool, error) {
	var errs problem.ValidationError
	present := map[string]bool{}
	switch {
	case p.body == nil:
	case len(bytes.TrimSpace(raw)) == 0:
		errs.Errors = append(errs.Errors, problem.FieldError{Type: "missing", Loc: loc, Msg: "Field required"})
	default:
		p.body.decode(raw, reflect.ValueOf(dst).Elem(), loc, &errs, func(name string) { present[name] = true })
	}
	return present, heapErr(&errs)
}

// MergePatch applies patch, a JSON Merge Patch (RFC 7396), to target, a
// JSON document (nil for none), and returns the result: the members of an
// object patch replace or, when null, remove those of target, objects
// merging recursively; any other patch replaces target. Both must be
// valid JSON.
func MergePatch(target, patch json.RawMessage) (json.RawMessage, error) {
	var p map[string]json.RawMessage
	if json.Unmarshal(patch, &p) != nil || p == nil {
		return patch, nil
	}
	var t map[string]json.RawMessage
	if json.Unmarshal(target, &t) != nil || t == nil {
		t = map[string]json.RawMessage{}
	}
	for name, v := range p {
		if bytes.Equal(bytes.TrimSpace(v), []byte("null")) {
			delete(t, name)
			continue
		}
		merged, err := MergePatch(t[name], v)
		if err != nil {
			return nil, err
		}
		t[name] = merged
	}
	return json.Marshal(t)
}

// MaxMergeDepth is how deeply the objects and arrays of a merge patch may
// nest. MergePatch parses each level again, so its work grows with the
// square of the depth; documents people write are far shallower.
const MaxMergeDepth = 64

// CheckMergeDepth returns a 422 json_invalid error, located just past the
// bracket that goes too deep, when raw (valid JSON) nests deeper than
// MaxMergeDepth. It is cheap, one pass over the bytes, so it runs before
// any transaction opens.
func CheckMergeDepth(raw []byte) error {
	depth, inString := 0, false
	for i := 0; i < len(raw); i++ {
		switch c := raw[i]; {
		case inString && c == '\\':
			i++ // the escaped byte cannot end the string
		case c == '"':
			inString = !inString
		case inString:
		case c == '{' || c == '[':
			if depth++; depth > MaxMergeDepth {
				return jsonInvalid(int64(i+1), fmt.Sprintf("objects and arrays nest deeper than %d levels", MaxMergeDepth))
			}
		case c == '}' || c == ']':
			depth--
		}
	}
	return nil
}
