package binding

import (
	"encoding/json"
	"fmt"
	"math/big"
	"reflect"
	"strconv"
	"strings"

	"github.com/fastapi-easy/easy-go/easy/problem"
	"github.com/fastapi-easy/easy-go/internal/typeschema"
)

// decodeInt fills v, of an integer kind, from raw, a JSON value. A number
// whose value is an integer is one, however it is written (1.0, 1e2), as
// pydantic reads it in FastAPI's lax mode and JSON Schema counts it; its
// value is read from the text exactly, never through a float64, so that
// 9007199254740993.0 is not rounded. A real fraction is int_from_float, a
// value past the range of v's type greater_than_equal or less_than_equal.
func decodeInt(raw json.RawMessage, v reflect.Value, loc []any, errs *problem.ValidationError) {
	text := strings.TrimSpace(string(raw))
	if text == "" || text[0] != '-' && (text[0] < '0' || text[0] > '9') {
		errs.Errors = append(errs.Errors, typeError(v.Type(), loc, rawInput(raw)))
		return
	}
	input := json.Number(text)
	if n, err := strconv.ParseInt(text, 10, 64); err == nil { // most integers, without big.Int's allocations
		if fe := int64InRange(n, v.Kind(), input); fe != nil {
			fe.Loc = loc
			errs.Errors = append(errs.Errors, *fe)
			return
		}
		setInt64(v, n)
		return
	}
	n, whole := integral(text)
	if !whole {
		errs.Errors = append(errs.Errors, problem.FieldError{Type: "int_from_float", Loc: loc, Input: input,
			Msg: "Input should be a valid integer, got a number with a fractional part"})
		return
	}
	if fe := intInRange(n, v.Kind(), input); fe != nil {
		fe.Loc = loc
		errs.Errors = append(errs.Errors, *fe)
		return
	}
	setInt(v, n)
}

// intInRange is the error for n, the value of input, when an integer of
// kind k cannot hold it; nil when it can.
func intInRange(n *big.Int, k reflect.Kind, input any) *problem.FieldError {
	if n.IsInt64() {
		return int64InRange(n.Int64(), k, input)
	}
	lo, hi := typeschema.IntRange(k)
	if n.Sign() < 0 { // below every int64, so below lo
		return boundError("greater_than_equal", lo, input)
	}
	if !n.IsUint64() || n.Uint64() > hi {
		return boundError("less_than_equal", hi, input)
	}
	return nil
}

// int64InRange is intInRange for an n that an int64 holds.
func int64InRange(n int64, k reflect.Kind, input any) *problem.FieldError {
	lo, hi := typeschema.IntRange(k)
	if n < lo {
		return boundError("greater_than_equal", lo, input)
	}
	if n > 0 && uint64(n) > hi {
		return boundError("less_than_equal", hi, input)
	}
	return nil
}

// setIntText sets v, of an integer kind, from s, the text of an integer
// parameter: int_parsing when s is none, a bound error when v's kind
// cannot hold its value. The error has no location: the caller's.
func setIntText(s string, v reflect.Value) *problem.FieldError {
	if n, err := strconv.ParseInt(s, 10, 64); err == nil { // most integers, without big.Int's allocations
		if fe := int64InRange(n, v.Kind(), s); fe != nil {
			return fe
		}
		setInt64(v, n)
		return nil
	}
	n, ok := parseInt(s)
	if !ok {
		return intParsing(s)
	}
	if fe := intInRange(n, v.Kind(), s); fe != nil {
		return fe
	}
	setInt(v, n)
	return nil
}

// boundError is the error for an input past a bound: greater_than_equal,
// greater_than, less_than_equal or less_than, with the bound in its ctx,
// as pydantic words it.
func boundError(typ string, bound, input any) *problem.FieldError {
	text := fmt.Sprint(bound)
	if f, ok := bound.(float64); ok {
		text = formatNumber(f)
	}
	return &problem.FieldError{Type: typ, Input: input,
		Msg: fmt.Sprintf("Input should be %s %s", boundWords[typ], text),
		Ctx: map[string]any{ctxKey[typ]: bound}}
}

var (
	boundWords = map[string]string{
		"greater_than_equal": "greater than or equal to", "greater_than": "greater than",
		"less_than_equal": "less than or equal to", "less_than": "less than",
	}
	ctxKey = map[string]string{
		"greater_than_equal": "ge", "greater_than": "gt", "less_than_equal": "le", "less_than": "lt",
	}
)

func setInt(v reflect.Value, n *big.Int) {
	if v.CanInt() {
		v.SetInt(n.Int64())
	} else {
		v.SetUint(n.Uint64())
	}
}

func setInt64(v reflect.Value, n int64) {
	if v.CanInt() {
		v.SetInt(n)
	} else {
		v.SetUint(uint64(n))
	}
}

// hugeDigits is past the digits of any Go integer: a number longer than
// this is kept as ±10^hugeDigits, which compares past every bound, rather
// than built (1e999999999 would take a gigabyte).
const hugeDigits = 25

// integral reads the text of a JSON number exactly. whole is false when
// its value has a fractional part.
func integral(num string) (n *big.Int, whole bool) {
	neg := strings.HasPrefix(num, "-")
	num = strings.TrimPrefix(num, "-")
	mant, exp, _ := strings.Cut(strings.ToLower(num), "e")
	intPart, frac, _ := strings.Cut(mant, ".")
	digits := strings.TrimLeft(intPart+frac, "0")
	if digits == "" {
		return new(big.Int), true
	}
	e := 0
	if exp != "" {
		var err error
		if e, err = strconv.Atoi(exp); err != nil || e > 1<<30 || e < -(1<<30) {
			if strings.HasPrefix(exp, "-") {
				return nil, false // a tiny fraction of a non-zero number
			}
			e = 1 << 30
		}
	}
	trimmed := strings.TrimRight(digits, "0")
	shift := e - len(frac) + len(digits) - len(trimmed)
	if shift < 0 {
		return nil, false
	}
	n = new(big.Int)
	if len(trimmed)+shift > hugeDigits {
		n.Exp(big.NewInt(10), big.NewInt(hugeDigits), nil)
	} else {
		n.SetString(trimmed+strings.Repeat("0", shift), 10)
	}
	if neg {
		n.Neg(n)
	}
	return n, true
}

// IntIn reads s, the text of an integer parameter, as one from lo to hi:
// int_parsing for a text that is no integer, greater_than_equal or
// less_than_equal with the bound past one. The error has no location: the
// caller's. The binder's integer parameters and the list's skip and limit
// read integers by it.
func IntIn(s string, lo, hi int64) (int64, *problem.FieldError) {
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil { // not an integer, or past every int64
		huge, ok := parseInt(s)
		switch {
		case !ok:
			return 0, intParsing(s)
		case huge.Sign() < 0:
			return 0, boundError("greater_than_equal", lo, s)
		}
		return 0, boundError("less_than_equal", hi, s)
	}
	switch {
	case n < lo:
		return 0, boundError("greater_than_equal", lo, s)
	case n > hi:
		return 0, boundError("less_than_equal", hi, s)
	}
	return n, nil
}

// intParsing is the error for s, a text that is no integer.
func intParsing(s string) *problem.FieldError {
	return &problem.FieldError{Type: "int_parsing", Msg: "Input should be a valid integer, unable to parse string as an integer", Input: s}
}

// parseInt reads the text of an integer parameter: decimal digits with
// an optional sign, as strconv.ParseInt reads it, but of any length, so
// that a value past the range of its type is told apart from a text that
// is no integer.
func parseInt(s string) (*big.Int, bool) {
	digits := strings.TrimLeft(s, "+-")
	if len(s)-len(digits) > 1 || digits == "" || strings.TrimLeft(digits, "0123456789") != "" {
		return nil, false
	}
	if len(strings.TrimLeft(digits, "0")) > hugeDigits {
		n := new(big.Int).Exp(big.NewInt(10), big.NewInt(hugeDigits), nil)
		if s[0] == '-' {
			n.Neg(n)
		}
		return n, true
	}
	return new(big.Int).SetString(s, 10)
}
