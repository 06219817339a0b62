package binding

import (
	"fmt"
	"math"
	"net"
	"net/mail"
	"net/url"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/swaggest/jsonschema-go"

	"github.com/fastapi-easy/easy-go/easy/problem"
	"github.com/fastapi-easy/easy-go/internal/model"
)

// rules are the constraints of one value, read from the JSON Schema that
// the OpenAPI document shows for it, so that the spec and the checks agree.
type rules struct {
	min, max, exMin, exMax *float64
	minLen                 int64
	maxLen                 *int64
	pattern                *regexp.Regexp
	enum                   []any
	format                 string
	minItems               int64
	maxItems               *int64
	items                  *rules // constraints of each element of a slice
}

// compileRules reads the constraints of s; nil when there are none.
func compileRules(s *jsonschema.Schema) (*rules, error) {
	if s == nil {
		return nil, nil
	}
	r := &rules{
		min: s.Minimum, max: s.Maximum, exMin: s.ExclusiveMinimum, exMax: s.ExclusiveMaximum,
		minLen: s.MinLength, maxLen: s.MaxLength, enum: s.Enum,
		minItems: s.MinItems, maxItems: s.MaxItems,
	}
	if s.HasType(jsonschema.Integer) || s.HasType(jsonschema.Number) {
		// enum:"1,2" is read as strings, which no number equals.
		for _, e := range s.Enum {
			if _, ok := e.(string); ok {
				return nil, fmt.Errorf("enum %q of a number: write the values as a JSON list, enum:\"[1,2]\"", e)
			}
		}
	}
	if s.Format != nil {
		r.format = *s.Format
	}
	if s.Pattern != nil {
		re, err := regexp.Compile(*s.Pattern)
		if err != nil {
			return nil, fmt.Errorf("pattern %q: %w", *s.Pattern, err)
		}
		r.pattern = re
	}
	if s.Items != nil && s.Items.SchemaOrBool != nil && s.Items.SchemaOrBool.TypeObject != nil {
		items, err := compileRules(s.Items.SchemaOrBool.TypeObject)
		if err != nil {
			return nil, err
		}
		r.items = items
	}
	if r.empty() {
		return nil, nil
	}
	return r, nil
}

func (r *rules) empty() bool {
	return r.min == nil && r.max == nil && r.exMin == nil && r.exMax == nil &&
		r.minLen == 0 && r.maxLen == nil && r.pattern == nil && len(r.enum) == 0 &&
		r.format == "" && r.minItems == 0 && r.maxItems == nil && r.items == nil
}

// check appends to errs every constraint v breaks.
func (r *rules) check(v reflect.Value, loc []any, errs *problem.ValidationError) {
	if r == nil {
		return
	}
	for v.Kind() == reflect.Pointer {
		if v.IsNil() {
			return
		}
		v = v.Elem()
	}
	switch v.Kind() {
	case reflect.String:
		r.checkString(v.String(), loc, errs)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		r.checkNumber(float64(v.Int()), v.Interface(), loc, errs)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		r.checkNumber(float64(v.Uint()), v.Interface(), loc, errs)
	case reflect.Float32, reflect.Float64:
		r.checkNumber(v.Float(), v.Interface(), loc, errs)
	case reflect.Slice, reflect.Array:
		r.checkList(v, loc, errs)
	}
}

func (r *rules) checkString(s string, loc []any, errs *problem.ValidationError) {
	n := int64(utf8.RuneCountInString(s))
	if r.minLen > 0 && n < r.minLen {
		errs.Errors = append(errs.Errors, problem.FieldError{Type: "string_too_short", Loc: loc, Input: s,
			Msg: fmt.Sprintf("String should have at least %d %s", r.minLen, plural(r.minLen, "character")),
			Ctx: map[string]any{"min_length": r.minLen}})
	}
	if r.maxLen != nil && n > *r.maxLen {
		errs.Errors = append(errs.Errors, problem.FieldError{Type: "string_too_long", Loc: loc, Input: s,
			Msg: fmt.Sprintf("String should have at most %d %s", *r.maxLen, plural(*r.maxLen, "character")),
			Ctx: map[string]any{"max_length": *r.maxLen}})
	}
	if r.pattern != nil && !r.pattern.MatchString(s) {
		errs.Errors = append(errs.Errors, problem.FieldError{Type: "string_pattern_mismatch", Loc: loc, Input: s,
			Msg: fmt.Sprintf("String should match pattern '%s'", r.pattern), Ctx: map[string]any{"pattern": r.pattern.String()}})
	}
	if len(r.enum) > 0 && !enumHas(r.enum, s) {
		errs.Errors = append(errs.Errors, enumError(r.enum, loc, s))
	}
	if r.format == "uuid" {
		if fe := model.CheckUUID(s); fe != nil {
			fe.Loc = loc
			errs.Errors = append(errs.Errors, *fe)
		}
	} else if msg := checkFormat(r.format, s); msg != "" {
		errs.Errors = append(errs.Errors, problem.FieldError{Type: "value_error", Loc: loc, Input: s, Msg: msg})
	}
}

func (r *rules) checkNumber(f float64, input any, loc []any, errs *problem.ValidationError) {
	add := func(typ string, bound float64) {
		fe := boundError(typ, bound, input)
		fe.Loc = loc
		errs.Errors = append(errs.Errors, *fe)
	}
	if r.min != nil && f < *r.min {
		add("greater_than_equal", *r.min)
	}
	if r.exMin != nil && f <= *r.exMin {
		add("greater_than", *r.exMin)
	}
	if r.max != nil && f > *r.max {
		add("less_than_equal", *r.max)
	}
	if r.exMax != nil && f >= *r.exMax {
		add("less_than", *r.exMax)
	}
	if len(r.enum) > 0 && !enumHas(r.enum, f) {
		errs.Errors = append(errs.Errors, enumError(r.enum, loc, input))
	}
}

func (r *rules) checkList(v reflect.Value, loc []any, errs *problem.ValidationError) {
	maxItems := int64(-1)
	if r.maxItems != nil {
		maxItems = *r.maxItems
	}
	if n := int64(v.Len()); n < r.minItems || maxItems >= 0 && n > maxItems {
		errs.Errors = append(errs.Errors, lengthError(n, r.minItems, maxItems, loc, v.Interface()))
	}
	if r.items != nil && v.Type().Elem().Kind() != reflect.Uint8 {
		for i := 0; i < v.Len() && !errs.Full(); i++ {
			r.items.check(v.Index(i), appendLoc(loc, i), errs)
		}
	}
}

// lengthError is the error for a list of n items where min to max are
// allowed (max < 0: no upper bound).
func lengthError(n, min, max int64, loc []any, input any) problem.FieldError {
	if n < min {
		return problem.FieldError{Type: "too_short", Loc: loc, Input: input,
			Msg: fmt.Sprintf("List should have at least %d %s after validation, not %d", min, plural(min, "item"), n),
			Ctx: map[string]any{"min_length": min, "actual_length": n}}
	}
	return problem.FieldError{Type: "too_long", Loc: loc, Input: input,
		Msg: fmt.Sprintf("List should have at most %d %s after validation, not %d", max, plural(max, "item"), n),
		Ctx: map[string]any{"max_length": max, "actual_length": n}}
}

func enumHas(enum []any, v any) bool {
	for _, e := range enum {
		switch want := e.(type) {
		case string:
			if s, ok := v.(string); ok && s == want {
				return true
			}
		case float64:
			if f, ok := v.(float64); ok && f == want {
				return true
			}
		case int:
			if f, ok := v.(float64); ok && f == float64(want) {
				return true
			}
		}
	}
	return false
}

func enumError(enum []any, loc []any, input any) problem.FieldError {
	parts := make([]string, len(enum))
	for i, e := range enum {
		if s, ok := e.(string); ok {
			parts[i] = "'" + s + "'"
		} else {
			parts[i] = fmt.Sprint(e)
		}
	}
	expected := parts[0]
	if len(parts) > 1 {
		expected = strings.Join(parts[:len(parts)-1], ", ") + " or " + parts[len(parts)-1]
	}
	return problem.FieldError{Type: "enum", Loc: loc, Input: input,
		Msg: "Input should be " + expected, Ctx: map[string]any{"expected": expected}}
}

// checkFormat returns the message for a string that is not of the format,
// or "" when it is (or when the format is one easy does not check). A
// uuid is model.CheckUUID's.
func checkFormat(format, s string) string {
	switch format {
	case "email":
		if a, err := mail.ParseAddress(s); err != nil || a.Address != s || a.Name != "" {
			return "value is not a valid email address"
		}
	case "date-time":
		if _, err := time.Parse(time.RFC3339Nano, s); err != nil {
			return "Input should be a valid datetime"
		}
	case "date":
		if _, err := time.Parse(time.DateOnly, s); err != nil {
			return "Input should be a valid date in the format YYYY-MM-DD"
		}
	case "time":
		if _, err := time.Parse("15:04:05Z07:00", s); err != nil {
			if _, err := time.Parse(time.TimeOnly, s); err != nil {
				return "Input should be a valid time"
			}
		}
	case "uri", "url":
		if u, err := url.Parse(s); err != nil || u.Scheme == "" {
			return "Input should be a valid URL"
		}
	case "ipv4":
		if ip := net.ParseIP(s); ip == nil || ip.To4() == nil || strings.Contains(s, ":") {
			return "Input is not a valid IPv4 address"
		}
	case "ipv6":
		if ip := net.ParseIP(s); ip == nil || !strings.Contains(s, ":") {
			return "Input is not a valid IPv6 address"
		}
	case "hostname":
		if s == "" || len(s) > 253 || !hostnamePattern.MatchString(s) {
			return "Input is not a valid hostname"
		}
	}
	return ""
}

var hostnamePattern = regexp.MustCompile(`^([a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)(\.[a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)*$`)

func plural(n int64, word string) string {
	if n == 1 {
		return word
	}
	return word + "s"
}

func formatNumber(f float64) string {
	if f == math.Trunc(f) && math.Abs(f) < 1e15 {
		return strconv.FormatInt(int64(f), 10)
	}
	return strconv.FormatFloat(f, 'g', -1, 64)
}

func appendLoc(loc []any, elem any) []any {
	out := make([]any, len(loc)+1)
	copy(out, loc)
	out[len(loc)] = elem
	return out
}
