package query

import (
	"fmt"
	"net/url"
	"strings"

	"github.com/fastapi-easy/easy-go/easy/problem"
	"github.com/fastapi-easy/easy-go/internal/binding"
	"github.com/fastapi-easy/easy-go/internal/model"
)

const paramFields = "fields"

// Fields reads fields=id,name from the query of a read: the JSON names of
// the fields the response keeps, in the model's order, or nil for every
// field. An unknown field is a 422 at ["query", "fields"].
func (p *Parser) Fields(values url.Values) ([]string, error) {
	if len(values[paramFields]) == 0 {
		return nil, nil
	}
	var errs problem.ValidationError
	fields := p.fieldList(binding.QueryValue(values, paramFields), &errs)
	if err := errs.Err(); err != nil {
		return nil, err
	}
	out := make([]string, len(fields))
	for i, f := range fields {
		out[i] = f.Name
	}
	return out, nil
}

// fieldList parses a comma-separated list of JSON names into the fields
// it names, in the model's order.
func (p *Parser) fieldList(s string, errs *problem.ValidationError) []*model.Field {
	if n := strings.Count(s, ",") + 1; n > len(p.m.Fields) {
		errs.Errors = append(errs.Errors, problem.FieldError{Type: "too_long", Loc: []any{"query", paramFields}, Input: problem.Truncate(s),
			Msg: fmt.Sprintf("Select at most %d fields", len(p.m.Fields))})
		return nil
	}
	want := map[*model.Field]bool{}
	for name := range strings.SplitSeq(s, ",") {
		f := p.m.ByName[name]
		if f == nil {
			errs.Errors = append(errs.Errors, problem.FieldError{Type: "fields_field", Loc: []any{"query", paramFields}, Input: problem.Truncate(s),
				Msg: fmt.Sprintf("Unknown field %q: use a comma-separated list of %s", problem.Truncate(name),
					strings.Join(p.m.Names(func(*model.Field) bool { return true }), ", "))})
			return nil
		}
		want[f] = true
	}
	out := make([]*model.Field, 0, len(want))
	for _, f := range p.m.Fields {
		if want[f] {
			out = append(out, f)
		}
	}
	return out
}
