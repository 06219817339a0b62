package ws

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
)

// The message types of the resource protocol. Every message is a JSON
// object in a text frame whose "type" is one of these.
const (
	TypeCreate      = "create"      // server: a row was created
	TypeUpdate      = "update"      // server: a row was changed
	TypeDelete      = "delete"      // server: a row was deleted; no data
	TypeInitial     = "initial"     // server: the snapshot that answers subscribe
	TypeReset       = "reset"       // server: resume is impossible, fetch a fresh snapshot
	TypePing        = "ping"        // server: heartbeat; client: asks for a pong
	TypePong        = "pong"        // server: the answer to a client's ping
	TypeError       = "error"       // server: a client message was bad; the connection stays open
	TypeSubscribe   = "subscribe"   // client: asks for a snapshot and sets the filter
	TypeUnsubscribe = "unsubscribe" // client: stops events until the next subscribe
)

// Messages without variable parts.
const (
	pingMessage = `{"type":"ping"}`
	pongMessage = `{"type":"pong"}`
)

// Change is one committed row change of a resource, as change capture
// reports it to Publish.
type Change struct {
	// Op is TypeCreate, TypeUpdate or TypeDelete.
	Op string
	// Key is the primary key, sent as the event's "id".
	Key any
	// Row is the typed row (usually a pointer to the model). Filters and
	// the Authorize hook look at it. For a delete it may be the row as it
	// was, or nil; a change without a Row passes every filter.
	Row any
	// Data is the row as JSON, exactly as the REST API renders it. It is
	// nil for a delete.
	Data json.RawMessage
}

// Event is one message from the server, as the Go client receives it.
type Event struct {
	// Type is one of the Type constants.
	Type string `json:"type"`
	// Resource names the resource, except in ping, pong and error messages.
	Resource string `json:"resource,omitempty"`
	// Group names the group of a presence, join or leave message.
	Group string `json:"group,omitempty"`
	// ID is the primary key of the changed row, as JSON.
	ID json.RawMessage `json:"id,omitempty"`
	// Data is the row (create, update) or the array of rows (initial).
	Data json.RawMessage `json:"data,omitempty"`
	// More reports, in an initial or presence message, that more rows
	// (or members) matched than it holds: a snapshot holds at most its
	// limit, the first by primary key, and the rest are read from the
	// REST list, page after page by its cursor (docs/realtime.md).
	More bool `json:"more,omitempty"`
	// Seq numbers the events of a resource: it rises by one per event.
	// In an initial message it is the seq of the last event the snapshot
	// includes.
	Seq uint64 `json:"seq,omitempty"`
	// Detail says what was wrong, in an error message.
	Detail string `json:"detail,omitempty"`
}

// Decode unmarshals the event's data into v: a row for create and update,
// a slice of rows for initial.
func (e Event) Decode(v any) error {
	if len(e.Data) == 0 {
		return fmt.Errorf("ws: %s event has no data", e.Type)
	}
	return json.Unmarshal(e.Data, v)
}

// encode writes v as JSON without the HTML escaping of json.Marshal, so
// that a row reaches the client exactly as the REST API renders it.
func encode(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// encodeEventBody encodes a change as an event without its seq: the
// object is left open so that withSeq can close it once the seq is known,
// which keeps the encoding outside the publish lock.
func encodeEventBody(resource string, c Change) ([]byte, error) {
	if err := checkData(c); err != nil {
		return nil, err
	}
	return buildEventBody(resource, c)
}

// checkData is checkChange and, for a create or an update, that its data
// is JSON.
func checkData(c Change) error {
	if err := checkChange(c); err != nil {
		return err
	}
	if c.Op != TypeDelete && !json.Valid(c.Data) {
		return fmt.Errorf("%s event: data is not valid JSON", c.Op)
	}
	return nil
}

// checkEvent is what encodeEventBody checks of c, without building the
// body: checkData, and that its key encodes.
func checkEvent(c Change) error {
	if err := checkData(c); err != nil {
		return err
	}
	var buf [32]byte // an integer key's room
	if _, err := appendJSON(buf[:0], c.Key); err != nil {
		return fmt.Errorf("encode id: %w", err)
	}
	return nil
}

// buildEventBody is encodeEventBody for a change known to be good: only
// its key can fail to encode. Built by hand: encoding a struct would scan
// and copy Data again.
func buildEventBody(resource string, c Change) ([]byte, error) {
	b := make([]byte, 0, 128+len(resource)+len(c.Data)) // room for a UUID key and withSeq
	b = append(b, `{"type":"`...)
	b = append(b, c.Op...)
	b = append(b, `","resource":`...)
	b, err := appendJSON(b, resource)
	if err != nil {
		return nil, err
	}
	b = append(b, `,"id":`...)
	if b, err = appendJSON(b, c.Key); err != nil {
		return nil, fmt.Errorf("encode id: %w", err)
	}
	if c.Op != TypeDelete {
		b = append(b, `,"data":`...)
		b = append(b, c.Data...)
	}
	return b, nil
}

// checkChange reports what makes c no event: an unknown op, or a create
// or update without data.
func checkChange(c Change) error {
	switch c.Op {
	case TypeCreate, TypeUpdate:
		if len(c.Data) == 0 {
			return fmt.Errorf("%s event without data", c.Op)
		}
	case TypeDelete:
	default:
		return fmt.Errorf("unknown change op %q", c.Op)
	}
	return nil
}

// appendJSON appends v encoded as JSON, without the reflection of
// encoding/json for the integer keys most models have.
func appendJSON(b []byte, v any) ([]byte, error) {
	switch v := v.(type) {
	case uint:
		return strconv.AppendUint(b, uint64(v), 10), nil
	case uint32:
		return strconv.AppendUint(b, uint64(v), 10), nil
	case uint64:
		return strconv.AppendUint(b, v, 10), nil
	case int:
		return strconv.AppendInt(b, int64(v), 10), nil
	case int32:
		return strconv.AppendInt(b, int64(v), 10), nil
	case int64:
		return strconv.AppendInt(b, v, 10), nil
	}
	j, err := encode(v)
	if err != nil {
		return nil, err
	}
	return append(b, j...), nil
}

// withSeq closes an event body with its seq, appending to it: body is
// not to be used again.
func withSeq(body []byte, seq uint64) []byte {
	msg := append(body, `,"seq":`...)
	msg = strconv.AppendUint(msg, seq, 10)
	return append(msg, '}')
}

// encodeInitial encodes the answer to subscribe: the rows of a snapshot,
// joined without decoding them, whether more rows matched than it holds,
// and the seq of the last event they include. more is left out when
// false, and goes before seq, which ends the message (see messageSeq).
func encodeInitial(resource string, rows []json.RawMessage, more bool, seq uint64) ([]byte, error) {
	data := append([]byte{'['}, bytes.Join(rawBytes(rows), []byte(","))...)
	data = append(data, ']')
	return encode(struct {
		Type     string          `json:"type"`
		Resource string          `json:"resource"`
		Data     json.RawMessage `json:"data"`
		More     bool            `json:"more,omitempty"`
		Seq      uint64          `json:"seq"`
	}{TypeInitial, resource, data, more, seq})
}

func rawBytes(rows []json.RawMessage) [][]byte {
	b := make([][]byte, len(rows))
	for i, r := range rows {
		if len(r) == 0 {
			r = json.RawMessage("null")
		}
		b[i] = r
	}
	return b
}

// resetMessage tells a client that it cannot resume.
func resetMessage(resource string) []byte {
	b, _ := encode(struct {
		Type     string `json:"type"`
		Resource string `json:"resource"`
	}{TypeReset, resource})
	return b
}

// errorMessage reports a bad client message; the connection stays open.
func errorMessage(detail string) []byte {
	b, _ := encode(struct {
		Type   string `json:"type"`
		Detail string `json:"detail"`
	}{TypeError, detail})
	return b
}

// request is a client message of the resource protocol.
type request struct {
	Type   string
	Filter map[string]string // nil when absent
	Limit  int               // 0 when absent
}

// parseRequest decodes a client message. Its errors are written for the
// client: they become the detail of an error message.
func parseRequest(b []byte, maxLimit int) (request, error) {
	var raw struct {
		Type   *string         `json:"type"`
		Filter json.RawMessage `json:"filter"`
		Limit  json.RawMessage `json:"limit"`
	}
	if err := json.Unmarshal(b, &raw); err != nil {
		return request{}, errors.New("invalid JSON: expected an object with a \"type\"")
	}
	if raw.Type == nil {
		return request{}, errors.New(`message has no "type"`)
	}
	req := request{Type: *raw.Type}
	if req.Type != TypeSubscribe {
		return req, nil
	}
	if len(raw.Filter) > 0 && string(raw.Filter) != "null" {
		f, err := parseFilter(raw.Filter)
		if err != nil {
			return request{}, err
		}
		req.Filter = f
	}
	if len(raw.Limit) > 0 && string(raw.Limit) != "null" {
		n, err := parseLimit(string(raw.Limit), maxLimit)
		if err != nil {
			return request{}, err
		}
		req.Limit = n
	}
	return req, nil
}

// parseLimit reads the limit of a snapshot, from a subscribe message or
// an SSE endpoint's query.
func parseLimit(s string, maxLimit int) (int, error) {
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || n > maxLimit {
		return 0, fmt.Errorf("limit must be an integer from 1 to %d", maxLimit)
	}
	return n, nil
}

// parseFilter decodes a filter object written in the CRUD list language,
// {"price__gt": "10", "name__like": "ap"}. Numbers and booleans are taken
// as their text, as they would be in a query string.
func parseFilter(b []byte) (map[string]string, error) {
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(b, &fields); err != nil {
		return nil, errors.New("filter must be an object")
	}
	f := make(map[string]string, len(fields))
	for k, v := range fields {
		var s string
		switch {
		case string(v) == "null":
			return nil, fmt.Errorf("filter %q must be a string, a number or a boolean", k)
		case json.Unmarshal(v, &s) == nil:
		case len(v) > 0 && (v[0] == '-' || v[0] >= '0' && v[0] <= '9'), string(v) == "true", string(v) == "false":
			s = string(v)
		default:
			return nil, fmt.Errorf("filter %q must be a string, a number or a boolean", k)
		}
		f[k] = s
	}
	return f, nil
}
