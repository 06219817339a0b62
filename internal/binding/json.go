package binding

import (
	"encoding/json"
	"errors"

	"github.com/fastapi-easy/easy-go/easy/problem"
)

// checkJSON returns a 422 json_invalid error for malformed JSON, located at
// the byte offset where decoding failed, as FastAPI reports it.
func checkJSON(raw []byte) error {
	if json.Valid(raw) {
		return nil
	}
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
	return &problem.ValidationError{Errors: []problem.FieldError{{
		Type: "json_invalid", Loc: []any{"body", offset}, Msg: "JSON decode error",
		Input: map[string]any{}, Ctx: map[string]any{"error": msg},
	}}}
}
