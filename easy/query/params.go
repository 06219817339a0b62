package query

import (
	"fmt"
	"reflect"
	"strconv"
	"strings"

	"github.com/fastapi-easy/easy-go/internal/model"
)

// Params returns a struct type whose fields document the parameters of a
// list, for an OpenAPI document: skip, limit, sort, cursor, fields,
// include_deleted when it is accepted, each filter, typed as its field,
// and the OR groups.
func (p *Parser) Params() reflect.Type {
	fields := []reflect.StructField{
		{Name: "Skip", Type: reflect.TypeFor[int](), Tag: reflect.StructTag(fmt.Sprintf(
			`query:"skip" default:"0" minimum:"0" maximum:"%d" description:"How many rows to skip, at most %d; a cursor goes further."`,
			maxSkip, maxSkip))},
		{Name: "Limit", Type: reflect.TypeFor[int](), Tag: reflect.StructTag(fmt.Sprintf(
			`query:"limit" default:"%d" minimum:"0" maximum:"%d" description:"How many rows to return, at most %d."`,
			p.def, p.max, p.max))},
		{Name: "Sort", Type: reflect.TypeFor[string](), Tag: reflect.StructTag(fmt.Sprintf(
			`query:"sort" description:%q`, "Comma-separated fields to sort by, each with - in front for descending order: "+
				strings.Join(p.m.Names(func(f *model.Field) bool { return f.Sort }), ", ")+"."))},
		{Name: "Cursor", Type: reflect.TypeFor[string](), Tag: `query:"cursor" description:"Continue after the last row of the page before: the X-Next-Cursor of its answer (also in its Link header). Send the same sort and filters; a cursor page has no skip and no X-Total-Count."`},
		p.fieldsParam(),
	}
	if p.deleted {
		fields = append(fields, reflect.StructField{Name: "IncludeDeleted", Type: reflect.TypeFor[bool](),
			Tag: `query:"include_deleted" default:"false" description:"List soft-deleted rows too."`})
	}
	filters := p.filterFields()
	fields = append(fields, filters...)
	if len(filters) > 0 {
		fields = append(fields, reflect.StructField{Name: "Or", Type: reflect.StructOf(filters), Tag: reflect.StructTag(fmt.Sprintf(
			`query:"or" example:"{}" description:%q`, "Conditions of which a row must pass one (OR), written or[name__like]=a&or[note__like]=a; "+
				"more groups are or1[...], or2[...], and so on. Groups and the other filters are AND-combined."))})
	}
	return reflect.StructOf(fields)
}

// filterFields documents each filter, typed as its field.
func (p *Parser) filterFields() []reflect.StructField {
	var fields []reflect.StructField
	str, boolean := reflect.TypeFor[string](), reflect.TypeFor[bool]()
	for _, f := range p.m.Fields {
		if !f.Filter {
			continue
		}
		for _, op := range append([]Op{Eq}, ops[:]...) {
			if !op.applies(f) {
				continue
			}
			name, typ := f.Name, f.Base
			if op != Eq {
				name += "__" + string(op)
			}
			switch {
			case op.list(), op.text():
				typ = str
			case op == IsNull:
				typ = boolean
			}
			desc := fmt.Sprintf("Only rows whose %s %s.", f.Name, opText(op, p.maxIn))
			tag := fmt.Sprintf(`query:%q description:%q`, name, desc)
			if f.UUID() && (op == Eq || op == Ne) { // a list is a comma-separated text
				tag += ` format:"uuid"`
			}
			fields = append(fields, reflect.StructField{
				Name: "F" + strconv.Itoa(len(fields)), Type: typ, Tag: reflect.StructTag(tag),
			})
		}
	}
	return fields
}

// fieldsParam documents fields=id,name.
func (p *Parser) fieldsParam() reflect.StructField {
	return reflect.StructField{Name: "Fields", Type: reflect.TypeFor[string](), Tag: reflect.StructTag(fmt.Sprintf(
		`query:"fields" description:%q`, "Comma-separated fields each row of the answer keeps, of "+
			strings.Join(p.m.Names(func(*model.Field) bool { return true }), ", ")+
			"; every field by default. The rows then hold these alone, also where the schema marks others required."))}
}
