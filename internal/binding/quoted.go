package binding

import (
	"encoding/json"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/fastapi-easy/easy-go/easy/problem"
	"github.com/fastapi-easy/easy-go/internal/typeschema"
)

// isQuoted reports whether encoding/json reads the field sf from a string
// holding its JSON (the ,string option of its json tag), which it does
// for a number or a bool, or an unnamed pointer to one.
func isQuoted(sf reflect.StructField) bool {
	if !slices.Contains(strings.Split(sf.Tag.Get("json"), ",")[1:], "string") {
		return false
	}
	_, ok := typeschema.QuotedPattern(sf.Type)
	return ok
}

var (
	intText    = regexp.MustCompile(typeschema.IntPattern)
	numberText = regexp.MustCompile(typeschema.NumberPattern)
)

// decodeQuoted fills v, a field with the ,string option, from raw: a
// JSON string holding the value's JSON, as encoding/json reads it and the
// document shows it. "5" fills an int; 5 is string_type.
func decodeQuoted(raw json.RawMessage, v reflect.Value, loc []any, errs *problem.ValidationError) {
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		errs.Errors = append(errs.Errors, typeError(reflect.TypeFor[string](), loc, rawInput(raw)))
		return
	}
	if v.Kind() == reflect.Pointer {
		v.Set(reflect.New(v.Type().Elem()))
		v = v.Elem()
	}
	fail := func(typ, msg string) {
		errs.Errors = append(errs.Errors, problem.FieldError{Type: typ, Loc: loc, Msg: msg, Input: s})
	}
	switch {
	case typeschema.IsInt(v.Type()):
		fe := intParsing(s)
		if intText.MatchString(s) {
			fe = setIntText(s, v)
		}
		if fe != nil {
			fe.Loc = loc
			errs.Errors = append(errs.Errors, *fe)
		}
	case v.Kind() == reflect.Bool:
		if s != "true" && s != "false" {
			fail("bool_parsing", "Input should be a valid boolean, unable to interpret input")
			return
		}
		v.SetBool(s == "true")
	default:
		f, err := strconv.ParseFloat(s, v.Type().Bits())
		if err != nil || !numberText.MatchString(s) {
			fail("float_parsing", "Input should be a valid number, unable to parse string as a number")
			return
		}
		v.SetFloat(f)
	}
}
