package binding

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"unicode/utf8"

	"github.com/fastapi-easy/easy-go/easy/problem"
)

// checkJSON returns a 422 json_invalid error for malformed JSON, located at
// the byte offset where decoding failed, as FastAPI reports it. Text that
// is not UTF-8, and a \u escape of half a surrogate pair, are malformed
// too: encoding/json would store U+FFFD in their place and go on, and the
// client would never learn that what it sent was not what was kept.
func checkJSON(raw []byte) error {
	if !json.Valid(raw) {
		var v any
		err := json.Unmarshal(raw, &v)
		offset := int64(len(raw))
		var se *json.SyntaxError
		if errors.As(err, &se) {
			offset = se.Offset
		}
		msg := "unexpected end of JSON input"
		if err != nil {
			msg = err.Error()
		}
		return jsonInvalid(offset, msg)
	}
	if offset, msg := badUnicode(raw); msg != "" {
		return jsonInvalid(offset, msg)
	}
	return nil
}

func jsonInvalid(offset int64, msg string) error {
	return &problem.ValidationError{Errors: []problem.FieldError{{
		Type: "json_invalid", Loc: []any{"body", offset}, Msg: "JSON decode error",
		Input: map[string]any{}, Ctx: map[string]any{"error": msg},
	}}}
}

// badUnicode finds, in raw (valid JSON), the first byte that is not part of
// UTF-8 text and the first \u escape of a lone surrogate. It returns the
// offset just past it, as encoding/json counts the offset of a syntax
// error, and what is wrong; no message when there is nothing.
func badUnicode(raw []byte) (int64, string) {
	if utf8.Valid(raw) && !bytes.Contains(raw, []byte(`\u`)) {
		return 0, ""
	}
	// In valid JSON, a backslash or a byte past ASCII can only be in a string.
	for i := 0; i < len(raw); {
		switch c := raw[i]; {
		case c == '\\' && raw[i+1] == 'u':
			r := hex4(raw[i+2 : i+6])
			if r < 0xD800 || r > 0xDFFF {
				i += 6
				continue
			}
			if r < 0xDC00 && i+12 <= len(raw) && raw[i+6] == '\\' && raw[i+7] == 'u' {
				if lo := hex4(raw[i+8 : i+12]); lo >= 0xDC00 && lo <= 0xDFFF {
					i += 12
					continue
				}
			}
			return int64(i + 6), fmt.Sprintf(`lone surrogate \u%s in string`, raw[i+2:i+6])
		case c == '\\':
			i += 2
		case c < utf8.RuneSelf:
			i++
		default:
			r, size := utf8.DecodeRune(raw[i:])
			if r == utf8.RuneError && size == 1 {
				return int64(i + 1), fmt.Sprintf("invalid UTF-8 byte %#x in string", c)
			}
			i += size
		}
	}
	return 0, ""
}

// hex4 reads the four hexadecimal digits of a \u escape that json.Valid
// has accepted.
func hex4(b []byte) rune {
	n, _ := strconv.ParseUint(string(b), 16, 16)
	return rune(n)
}
