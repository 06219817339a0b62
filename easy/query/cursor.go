package query

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"strconv"
	"strings"
	"time"

	"gorm.io/gorm/clause"

	"github.com/fastapi-easy/easy-go/easy/problem"
	"github.com/fastapi-easy/easy-go/internal/model"
)

// A cursor names the last row of a page by its values of the list's
// order, the sort keys and then the primary key: the next page is the rows
// that come after it (keyset pagination). Rows inserted or deleted between
// two pages move no other row, so a walk sees every row that exists from
// its first page to its last exactly once (unless its sort values change
// meanwhile).
//
// On the wire a cursor is base64url(version, JSON, HMAC-SHA256): opaque to
// clients, and tamper-evident, so that a changed cursor is a 422 rather
// than a query on values nobody chose. The key is the same on every
// instance (Config.CursorKey, or one derived from the table).

const (
	paramCursor   = "cursor"
	cursorVersion = 1
	cursorMACSize = 16
)

// cursorPayload is what a cursor holds: the order's keys ("name",
// "-price", "id") and the last row's values of them.
type cursorPayload struct {
	Keys []string          `json:"k"`
	Vals []json.RawMessage `json:"v"`
}

// DefaultCursorKey is the key that signs the cursors of a model's lists
// when Config.CursorKey is empty: derived from the table, so that every
// instance agrees without configuration. It makes cursors tamper-evident,
// not secret: anyone who knows the table can make one. A forged cursor
// can only choose where a page starts, which filters can do too; set a
// key of your own to refuse cursors you did not make.
func DefaultCursorKey(table string) []byte {
	sum := sha256.Sum256([]byte("easy cursor\x00" + table))
	return sum[:]
}

// keys is the order of a list as far as it decides it: its sort keys up
// to the primary key, which is unique, and the primary key.
func (p *Parser) keys(sort []sortKey) []sortKey {
	for i, k := range sort {
		if k.f == p.m.PK {
			return sort[: i+1 : i+1]
		}
	}
	return append(sort[:len(sort):len(sort)], sortKey{f: p.m.PK})
}

func keyNames(keys []sortKey) []string {
	out := make([]string, len(keys))
	for i, k := range keys {
		out[i] = k.f.Name
		if k.desc {
			out[i] = "-" + out[i]
		}
	}
	return out
}

// sign returns the cursor of payload.
func (p *Parser) sign(payload []byte) string {
	data := append([]byte{cursorVersion}, payload...)
	mac := hmac.New(sha256.New, p.cursorKey)
	mac.Write(data)
	return base64.RawURLEncoding.EncodeToString(mac.Sum(data)[:len(data)+cursorMACSize])
}

// NextCursor returns the cursor of the page that follows row, the last
// row of this page (a value of the model or a pointer to one).
func (q *List) NextCursor(row any) (string, error) {
	v := reflect.ValueOf(row)
	for v.Kind() == reflect.Pointer {
		v = v.Elem()
	}
	if v.Type() != q.p.m.Type {
		return "", fmt.Errorf("query: NextCursor of a %s, not a %s", v.Type(), q.p.m.Type)
	}
	keys := q.p.keys(q.sort)
	payload := cursorPayload{Keys: keyNames(keys), Vals: make([]json.RawMessage, len(keys))}
	for i, k := range keys {
		fv := v.FieldByIndex(k.f.Index)
		if fv.Kind() == reflect.Pointer && !fv.IsNil() {
			fv = fv.Elem()
		}
		b, err := json.Marshal(cursorValue(k.f, fv))
		if err != nil {
			return "", fmt.Errorf("query: cursor value of %s: %w", k.f.Name, err)
		}
		payload.Vals[i] = b
	}
	b, err := json.Marshal(payload)
	if err != nil {
		return "", fmt.Errorf("query: cursor: %w", err)
	}
	return q.p.sign(b), nil
}

// cursorValue is the field value fv as a cursor holds it: numbers that
// JSON would round as text, times to the nanosecond with their zone (so
// that SQLite, which compares times as text, gets the text it stored).
func cursorValue(f *model.Field, fv reflect.Value) any {
	if fv.Kind() == reflect.Pointer {
		return nil
	}
	switch f.Kind {
	case model.KindInt:
		return strconv.FormatInt(fv.Int(), 10)
	case model.KindUint:
		return strconv.FormatUint(fv.Uint(), 10)
	case model.KindTime:
		return fv.Interface().(time.Time).Format(time.RFC3339Nano)
	}
	return fv.Interface()
}

// continueAt reads the cursor s of a list whose order is keys: the values
// of its last row, or a 422 at ["query", "cursor"].
func (p *Parser) continueAt(s string, keys []sortKey) ([]any, *problem.FieldError) {
	invalid := func(msg string) *problem.FieldError {
		return &problem.FieldError{Type: "cursor_invalid", Loc: []any{"query", paramCursor}, Input: problem.Truncate(s), Msg: msg}
	}
	raw, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil || len(raw) < 1+cursorMACSize || raw[0] != cursorVersion {
		return nil, invalid("Invalid cursor: send the cursor of the page before, as it came")
	}
	data, sum := raw[:len(raw)-cursorMACSize], raw[len(raw)-cursorMACSize:]
	mac := hmac.New(sha256.New, p.cursorKey)
	mac.Write(data)
	if !hmac.Equal(mac.Sum(nil)[:cursorMACSize], sum) {
		return nil, invalid("Invalid cursor: send the cursor of the page before, as it came")
	}
	var payload cursorPayload
	dec := json.NewDecoder(bytes.NewReader(data[1:]))
	dec.UseNumber()
	if err := dec.Decode(&payload); err != nil || len(payload.Vals) != len(payload.Keys) {
		return nil, invalid("Invalid cursor: send the cursor of the page before, as it came")
	}
	if names := keyNames(keys); strings.Join(names, ",") != strings.Join(payload.Keys, ",") {
		return nil, invalid(fmt.Sprintf("The cursor continues a list sorted by %s, not by %s: send the same sort",
			strings.Join(payload.Keys, ","), strings.Join(names, ",")))
	}
	vals := make([]any, len(keys))
	for i, k := range keys {
		v, err := decodeCursorValue(k.f, payload.Vals[i])
		if err != nil {
			return nil, invalid("Invalid cursor: send the cursor of the page before, as it came")
		}
		vals[i] = v
	}
	return vals, nil
}

// decodeCursorValue reads a value cursorValue wrote; nil is NULL.
func decodeCursorValue(f *model.Field, raw json.RawMessage) (any, error) {
	if string(raw) == "null" {
		if f.Type.Kind() != reflect.Pointer {
			return nil, fmt.Errorf("%s cannot be null", f.Name)
		}
		return nil, nil
	}
	var s string
	var err error
	switch f.Kind {
	case model.KindString:
		// The server wrote it from a row as stored, in whatever form:
		// it is compared as it is, uuid column or not.
		if err = json.Unmarshal(raw, &s); err == nil && model.CheckText(s) != nil {
			err = fmt.Errorf("bad text")
		}
		return s, err
	case model.KindInt:
		if err = json.Unmarshal(raw, &s); err != nil {
			return nil, err
		}
		return strconv.ParseInt(s, 10, 64)
	case model.KindUint:
		if err = json.Unmarshal(raw, &s); err != nil {
			return nil, err
		}
		n, err := strconv.ParseUint(s, 10, 64)
		if err == nil && n > math.MaxInt64 {
			err = fmt.Errorf("out of range")
		}
		return n, err
	case model.KindFloat:
		// Read into the field's own type, as value reads a filter's, so
		// that a float32's 0.1 comes back as float32(0.1), widened as the
		// database widens what it stores, and not as the nearer float64.
		x := reflect.New(f.Base)
		err = json.Unmarshal(raw, x.Interface())
		return x.Elem().Float(), err
	case model.KindBool:
		var b bool
		err = json.Unmarshal(raw, &b)
		return b, err
	case model.KindTime:
		if err = json.Unmarshal(raw, &s); err != nil {
			return nil, err
		}
		return time.Parse(time.RFC3339Nano, s)
	}
	return nil, fmt.Errorf("%s cannot be sorted", f.Name)
}

// after is the condition "comes after the row whose values of keys are
// vals", in the order the database sorts in. Its NULLs sort as the
// database puts them: after every value on PostgreSQL, before on SQLite.
func (p *Parser) after(keys []sortKey, vals []any) clause.Expression {
	var expr clause.Expression
	for i := len(keys) - 1; i >= 0; i-- {
		k, v := keys[i], vals[i]
		col := k.f.Column
		nullable := k.f.Type.Kind() == reflect.Pointer
		nullsAfter := nullable && (p.m.Dialect == "postgres") != k.desc
		var strict, eq clause.Expression
		switch {
		case v == nil && nullsAfter:
			// Nothing comes after NULL but more NULLs.
			eq = clause.Eq{Column: col, Value: nil}
		case v == nil:
			strict, eq = clause.Neq{Column: col, Value: nil}, clause.Eq{Column: col, Value: nil}
		default:
			if k.desc {
				strict = clause.Lt{Column: col, Value: v}
			} else {
				strict = clause.Gt{Column: col, Value: v}
			}
			if nullsAfter {
				strict = clause.Or(strict, clause.Eq{Column: col, Value: nil})
			}
			eq = clause.Eq{Column: col, Value: v}
		}
		switch {
		case expr == nil: // the last key, the primary key, is unique
			expr = strict
		case strict == nil:
			expr = clause.And(eq, expr)
		default:
			expr = clause.Or(strict, clause.And(eq, expr))
		}
		if i == 0 && len(keys) > 1 && v != nil && !nullsAfter {
			// Redundant, but a bound an index on the first key can seek to.
			if k.desc {
				expr = clause.And(clause.Lte{Column: col, Value: v}, expr)
			} else {
				expr = clause.And(clause.Gte{Column: col, Value: v}, expr)
			}
		}
	}
	return expr
}
