package binding

import (
	"encoding"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"reflect"
	"strconv"
	"strings"

	"github.com/fastapi-easy/easy-go/easy/problem"
	"github.com/fastapi-easy/easy-go/internal/model"
)

// param is one path, query, header or cookie parameter.
type param struct {
	in       string
	name     string
	index    []int
	typ      reflect.Type // the field's type
	required bool
	def      []string // default, as the client would send it: a list's one value per element
	hasDef   bool
	rules    *rules
	parse    func(s string, v reflect.Value) *problem.FieldError // into a value of the scalar type
	// value returns the parameter's values, or its only one as one, which
	// then needs no slice (a path parameter).
	value func(r *http.Request, query url.Values) (vals []string, one string)
}

func compileParams(t reflect.Type, in string, opt Options) ([]*param, error) {
	if !hasTag(t, in) {
		return nil, nil
	}
	s, err := reflectSchema(t, in)
	if err != nil {
		return nil, err
	}
	var out []*param
	var walk func(t reflect.Type, index []int) error
	walk = func(t reflect.Type, index []int) error {
		for i := 0; i < t.NumField(); i++ {
			sf := t.Field(i)
			idx := append(append([]int(nil), index...), i)
			name, ok := tagName(sf, in)
			if !ok {
				if sf.Anonymous && sf.Type.Kind() == reflect.Struct {
					if err := walk(sf.Type, idx); err != nil {
						return err
					}
				}
				continue
			}
			if !sf.IsExported() {
				continue
			}
			ps := property(s, name)
			p := &param{in: in, name: name, index: idx, typ: sf.Type, required: in == "path" || requiredIn(s, name)}
			if p.rules, err = compileRules(ps); err != nil {
				return fmt.Errorf("%s parameter %s: %w", in, name, err)
			}
			if ps != nil && ps.Default != nil {
				p.hasDef = true
				if list, ok := (*ps.Default).([]any); ok {
					for _, v := range list {
						p.def = append(p.def, paramText(v))
					}
				} else {
					p.def = []string{paramText(*ps.Default)}
				}
			}
			scalar := sf.Type
			if scalar.Kind() == reflect.Pointer {
				scalar = scalar.Elem()
			}
			list := scalar.Kind() == reflect.Slice && !scalar.Implements(textUnmarshalerType) && scalar.Elem().Kind() != reflect.Uint8
			if list {
				scalar = scalar.Elem()
			}
			if p.parse, err = parserFor(scalar); err != nil {
				return fmt.Errorf("%s parameter %s: %w", in, name, err)
			}
			if p.value, err = source(in, name, list, opt); err != nil {
				return err
			}
			out = append(out, p)
		}
		return nil
	}
	return out, walk(t, nil)
}

// source returns the function that reads a parameter's values. A list in
// a header or a cookie is comma-separated, as the document says (style
// simple, and form without explode): see headerList and cookieList.
func source(in, name string, list bool, opt Options) (func(*http.Request, url.Values) ([]string, string), error) {
	switch in {
	case "path":
		if opt.PathValue == nil {
			return nil, errors.New("path parameters need Options.PathValue")
		}
		pv := opt.PathValue
		return func(r *http.Request, _ url.Values) ([]string, string) { return nil, pv(r, name) }, nil
	case "query":
		return func(_ *http.Request, q url.Values) ([]string, string) { return q[name], "" }, nil
	case "header":
		key := http.CanonicalHeaderKey(name)
		if list {
			return func(r *http.Request, _ url.Values) ([]string, string) { return headerList(r.Header[key]), "" }, nil
		}
		return func(r *http.Request, _ url.Values) ([]string, string) { return r.Header[key], "" }, nil
	default:
		return func(r *http.Request, _ url.Values) ([]string, string) {
			v, ok := CookieValue(r, name)
			if !ok {
				return nil, ""
			}
			if list {
				return cookieList(v), ""
			}
			return []string{v}, "" // present, though it may be empty
		}, nil
	}
}

// headerList is the elements of a list header sent as lines: each line
// split at its commas, the optional whitespace around an element trimmed.
// RFC 9110 (section 5.3) makes several lines of a list header equal to one
// line that joins them with commas, and OpenAPI's style simple, which the
// document gives a header list, writes one as "1,2". An empty line adds no
// element; an empty element between commas is one ("a,,b" has three).
func headerList(lines []string) []string {
	var out []string
	for _, line := range lines {
		line = strings.Trim(line, " \t")
		if line == "" {
			continue
		}
		for elem := range strings.SplitSeq(line, ",") {
			out = append(out, strings.Trim(elem, " \t"))
		}
	}
	return out
}

// cookieList is the elements of a list cookie's value, separated by
// commas, as OpenAPI's style form without explode writes it (ids=1,2),
// which the document gives a cookie list. The cookie is the one
// CookieValue reads: the last of its name, since a Cookie header that
// names it twice (ids=1; ids=2) holds two cookies, not two elements. An
// empty value is an empty list.
func cookieList(value string) []string {
	if value == "" {
		return nil
	}
	return strings.Split(value, ",")
}

func (p *param) bind(r *http.Request, q url.Values, v reflect.Value, errs *problem.ValidationError) {
	vals, one := p.value(r, q)
	var buf [1]string // holds a single value on the stack
	if one != "" {
		buf[0] = one
		vals = buf[:]
	}
	if len(vals) == 0 {
		switch {
		case p.hasDef:
			vals = p.def
		case p.required:
			errs.Errors = append(errs.Errors, problem.FieldError{Type: "missing", Loc: []any{p.in, p.name}, Msg: "Field required"})
			return
		default:
			return
		}
	}
	fv := v.FieldByIndex(p.index)
	if fv.Kind() == reflect.Pointer {
		fv.Set(reflect.New(fv.Type().Elem()))
		fv = fv.Elem()
	}
	before := len(errs.Errors)
	if fv.Kind() == reflect.Slice && fv.Type().Elem().Kind() != reflect.Uint8 && !reflect.PointerTo(fv.Type()).Implements(textUnmarshalerType) {
		s := reflect.MakeSlice(fv.Type(), len(vals), len(vals))
		for i, str := range vals {
			if errs.Full() {
				break
			}
			if fe := p.parse(str, s.Index(i)); fe != nil {
				fe.Loc = []any{p.in, p.name, i}
				errs.Errors = append(errs.Errors, *fe)
			}
		}
		fv.Set(s)
	} else if fe := p.parse(p.scalar(vals), fv); fe != nil {
		fe.Loc = []any{p.in, p.name}
		errs.Errors = append(errs.Errors, *fe)
	}
	if len(errs.Errors) == before && p.rules != nil {
		p.rules.check(fv, []any{p.in, p.name}, errs)
	}
}

// paramText is v, a default from the schema, as a client would send it.
func paramText(v any) string {
	if s, ok := v.(string); ok {
		return s
	}
	b, _ := json.Marshal(v)
	return string(b)
}

// scalar picks the one value of a parameter that is not a list from the
// values given: a query parameter's as QueryValue does; a header is its
// first, as Starlette's and net/http's Header.Get read it.
func (p *param) scalar(vals []string) string {
	if p.in == "query" {
		return lastOf(vals)
	}
	return vals[0]
}

// QueryValue is the value of the query parameter name that is not a list:
// the last, when it is given more than once, as FastAPI reads it (and the
// CRUD list its skip and limit), so that the value a dependency, an
// operation and a proxy in front read is the same one. "" when absent.
func QueryValue(q url.Values, name string) string { return lastOf(q[name]) }

// CookieValue is the value of the cookie name: the last, when the request
// sends it more than once, as Starlette's parser reads it (into a dict)
// and QueryValue the query, so that an operation's cookie parameter and a
// security scheme read the same one. ok is false when there is none; a
// cookie may be present and empty.
func CookieValue(r *http.Request, name string) (value string, ok bool) {
	cs := r.CookiesNamed(name)
	if len(cs) == 0 {
		return "", false
	}
	return cs[len(cs)-1].Value, true
}

func lastOf(vals []string) string {
	if len(vals) == 0 {
		return ""
	}
	return vals[len(vals)-1]
}

// Parser returns the function that parses the text of a parameter into v,
// a settable value of type t, as a query parameter of type t is parsed. It
// reports a bad value as a FieldError without its Loc, which the caller
// sets. t is a string, bool, integer or float kind, or implements
// encoding.TextUnmarshaler through a pointer.
func Parser(t reflect.Type) (func(s string, v reflect.Value) *problem.FieldError, error) {
	return parserFor(t)
}

// parserFor returns the function that parses a parameter into a value of t.
func parserFor(t reflect.Type) (func(string, reflect.Value) *problem.FieldError, error) {
	if reflect.PointerTo(t).Implements(textUnmarshalerType) {
		return func(s string, v reflect.Value) *problem.FieldError {
			if err := v.Addr().Interface().(encoding.TextUnmarshaler).UnmarshalText([]byte(s)); err != nil {
				// The type's error may quote the whole input.
				return &problem.FieldError{Type: "value_error", Msg: "Value error, " + problem.Truncate(err.Error()), Input: s}
			}
			return nil
		}, nil
	}
	switch t.Kind() {
	case reflect.String:
		return func(s string, v reflect.Value) *problem.FieldError {
			// Refused here, not by the database: PostgreSQL's error would
			// be a 500.
			if fe := model.CheckText(s); fe != nil {
				return fe
			}
			v.SetString(s)
			return nil
		}, nil
	case reflect.Bool:
		return func(s string, v reflect.Value) *problem.FieldError {
			switch strings.ToLower(s) {
			case "1", "true", "t", "yes", "y", "on":
				v.SetBool(true)
			case "0", "false", "f", "no", "n", "off":
				v.SetBool(false)
			default:
				return &problem.FieldError{Type: "bool_parsing", Msg: "Input should be a valid boolean, unable to interpret input", Input: s}
			}
			return nil
		}, nil
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return setIntText, nil
	case reflect.Float32, reflect.Float64:
		bits := t.Bits()
		return func(s string, v reflect.Value) *problem.FieldError {
			f, err := strconv.ParseFloat(s, bits)
			if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
				return &problem.FieldError{Type: "float_parsing", Msg: "Input should be a valid number, unable to parse string as a number", Input: s}
			}
			v.SetFloat(f)
			return nil
		}, nil
	}
	return nil, fmt.Errorf("unsupported parameter type %s", t)
}
