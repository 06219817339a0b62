package query

import (
	"fmt"
	"reflect"
	"strings"
	"time"
	"unicode/utf8"

	"gorm.io/gorm/clause"

	"github.com/fastapi-easy/easy-go/internal/model"
)

// Op is a filter operator. In a query it follows the field name after two
// underscores (price__gt=10); equality has no suffix (name=apple).
type Op string

// The filter operators.
const (
	Eq          Op = "eq"          // equal: name=apple
	Ne          Op = "ne"          // not equal: name__ne=apple
	Gt          Op = "gt"          // greater than (numbers and times): price__gt=10
	Gte         Op = "gte"         // greater than or equal
	Lt          Op = "lt"          // less than
	Lte         Op = "lte"         // less than or equal
	In          Op = "in"          // one of a comma-separated list: id__in=1,2,3
	NotIn       Op = "nin"         // none of a comma-separated list: id__nin=1,2,3
	Like        Op = "like"        // contains, case-sensitive (strings): name__like=app
	ILike       Op = "ilike"       // contains, ignoring case (strings): name__ilike=APP
	Contains    Op = "contains"    // contains, case-sensitive: the same as like
	IContains   Op = "icontains"   // contains, ignoring case: the same as ilike
	StartsWith  Op = "startswith"  // starts with, case-sensitive: name__startswith=app
	IStartsWith Op = "istartswith" // starts with, ignoring case
	EndsWith    Op = "endswith"    // ends with, case-sensitive: name__endswith=le
	IEndsWith   Op = "iendswith"   // ends with, ignoring case
	IsNull      Op = "isnull"      // is null (true) or is not (false), for nullable fields: note__isnull=true
)

// ops are the operators that may follow "__", in the order the document
// lists them.
var ops = [...]Op{Ne, Gt, Gte, Lt, Lte, In, Like, ILike, NotIn, Contains, IContains,
	StartsWith, IStartsWith, EndsWith, IEndsWith, IsNull}

// opNames is the list of operators for messages.
var opNames = func() string {
	names := make([]string, len(ops))
	for i, o := range ops {
		names[i] = string(o)
	}
	return strings.Join(names, ", ")
}()

func opOf(s string) (Op, bool) {
	for _, o := range ops {
		if string(o) == s {
			return o, true
		}
	}
	return "", false
}

// applies reports whether o can filter field f.
func (o Op) applies(f *model.Field) bool {
	k := f.Kind
	if !f.Comparable() && o != IsNull {
		return false // PostgreSQL would refuse it: a json column has no = nor <
	}
	switch o {
	case Eq, Ne, In, NotIn:
		return k != model.KindOther
	case Gt, Gte, Lt, Lte:
		return k == model.KindInt || k == model.KindUint || k == model.KindFloat || k == model.KindTime
	case Like, ILike, Contains, IContains, StartsWith, IStartsWith, EndsWith, IEndsWith:
		return f.Text()
	case IsNull:
		// Only a nullable field: a NULL in a column whose Go field cannot
		// hold one would be NULL to SQL and a zero value to Match.
		return f.Type.Kind() == reflect.Pointer
	}
	return false
}

// list reports whether o takes a comma-separated list.
func (o Op) list() bool { return o == In || o == NotIn }

// text reports whether o compares text, whatever the field's type.
func (o Op) text() bool {
	switch o {
	case Like, ILike, Contains, IContains, StartsWith, IStartsWith, EndsWith, IEndsWith:
		return true
	}
	return false
}

// expr is the condition in SQL, on column col, its values bound
// parameters.
func (c *cond) expr(col clause.Column, dialect string) clause.Expression {
	switch c.op {
	case Ne:
		return clause.Neq{Column: col, Value: sqlValue(dialect, c.val)}
	case Gt:
		return clause.Gt{Column: col, Value: sqlValue(dialect, c.val)}
	case Gte:
		return clause.Gte{Column: col, Value: sqlValue(dialect, c.val)}
	case Lt:
		return clause.Lt{Column: col, Value: sqlValue(dialect, c.val)}
	case Lte:
		return clause.Lte{Column: col, Value: sqlValue(dialect, c.val)}
	case In, NotIn:
		vals := c.vals
		if c.f.Kind == model.KindTime && dialect == "sqlite" {
			vals = make([]any, len(c.vals))
			for i, v := range c.vals {
				vals[i] = sqlValue(dialect, v)
			}
		}
		if c.op == NotIn {
			// NOT IN of no values is IS NOT NULL: every row with a value.
			return clause.Not(clause.IN{Column: col, Values: vals})
		}
		return clause.IN{Column: col, Values: vals}
	case IsNull:
		if c.val.(bool) {
			return clause.Eq{Column: col, Value: nil}
		}
		return clause.Neq{Column: col, Value: nil}
	case Like, Contains, StartsWith, EndsWith:
		return textExpr(col, c.op, c.val.(string), dialect)
	case ILike, IContains, IStartsWith, IEndsWith:
		return foldedExpr(col, c.op, c.val.(string), dialect)
	}
	return clause.Eq{Column: col, Value: sqlValue(dialect, c.val)}
}

// textExpr is a case-sensitive text condition. PostgreSQL's LIKE is case
// sensitive; SQLite's ignores the case of ASCII letters, so there the
// text is compared exactly, with instr and substr, which have no
// wildcards.
func textExpr(col clause.Column, op Op, s, dialect string) clause.Expression {
	if dialect == "sqlite" {
		n := utf8.RuneCountInString(s)
		switch op {
		case StartsWith:
			return clause.Expr{SQL: "substr(?, 1, ?) = ?", Vars: []any{col, n, s}}
		case EndsWith:
			if n == 0 {
				return clause.Neq{Column: col, Value: nil}
			}
			return clause.Expr{SQL: "substr(?, ?) = ?", Vars: []any{col, -n, s}}
		}
		return clause.Expr{SQL: "instr(?, ?) > 0", Vars: []any{col, s}}
	}
	return clause.Expr{SQL: `? LIKE ? ESCAPE '\'`, Vars: []any{col, likePattern(s, op)}}
}

// foldedExpr is a text condition that ignores case: ILIKE on PostgreSQL,
// LOWER() LIKE LOWER() elsewhere (SQLite folds ASCII letters alone).
func foldedExpr(col clause.Column, op Op, s, dialect string) clause.Expression {
	if dialect == "postgres" {
		return clause.Expr{SQL: `? ILIKE ? ESCAPE '\'`, Vars: []any{col, likePattern(s, op)}}
	}
	return clause.Expr{SQL: `LOWER(?) LIKE LOWER(?) ESCAPE '\'`, Vars: []any{col, likePattern(s, op)}}
}

// sqlValue is v as bound for the dialect. SQLite stores times as text, in
// the zone they were written in: gorm writes CreatedAt and UpdatedAt in
// local time, so a time is compared in local time.
func sqlValue(dialect string, v any) any {
	if t, ok := v.(time.Time); ok && dialect == "sqlite" {
		return t.Local()
	}
	return v
}

// likePattern makes s a LIKE pattern that matches s as op says (a
// substring, a prefix or a suffix), with %, _ and \ in s taken literally
// (ESCAPE '\').
func likePattern(s string, op Op) string {
	var b strings.Builder
	b.Grow(len(s) + 2)
	if op != StartsWith && op != IStartsWith {
		b.WriteByte('%')
	}
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '%', '_', '\\':
			b.WriteByte('\\')
		}
		b.WriteByte(s[i])
	}
	if op != EndsWith && op != IEndsWith {
		b.WriteByte('%')
	}
	return b.String()
}

// match reports whether the struct v passes c. dialect is the database
// the filter's SQL runs on, whose case folding Match follows.
func (c *cond) match(v reflect.Value, dialect string) bool {
	fv, err := v.FieldByIndexErr(c.f.Index)
	if err != nil {
		return false
	}
	if fv.Kind() == reflect.Pointer {
		if c.op == IsNull {
			return fv.IsNil() == c.val.(bool)
		}
		if fv.IsNil() {
			return false // NULL passes no other condition, as in SQL
		}
		fv = fv.Elem()
	}
	switch c.op {
	case Eq:
		return compare(c.f.Kind, fv, c.val) == 0
	case Ne:
		return compare(c.f.Kind, fv, c.val) != 0
	case Gt:
		return compare(c.f.Kind, fv, c.val) > 0
	case Gte:
		return compare(c.f.Kind, fv, c.val) >= 0
	case Lt:
		return compare(c.f.Kind, fv, c.val) < 0
	case Lte:
		return compare(c.f.Kind, fv, c.val) <= 0
	case In, NotIn:
		for _, x := range c.vals {
			if compare(c.f.Kind, fv, x) == 0 {
				return c.op == In
			}
		}
		return c.op == NotIn
	case IsNull:
		return !c.val.(bool) // a field that is not a pointer holds a value
	}
	s, x := fv.String(), c.val.(string)
	switch c.op {
	case ILike, IContains, IStartsWith, IEndsWith:
		s, x = fold(s, dialect), fold(x, dialect)
	}
	switch c.op {
	case StartsWith, IStartsWith:
		return strings.HasPrefix(s, x)
	case EndsWith, IEndsWith:
		return strings.HasSuffix(s, x)
	}
	return strings.Contains(s, x)
}

// fold lowers the case of s as the dialect's case-insensitive match does:
// SQLite folds ASCII letters alone; PostgreSQL, and Match without a
// database, fold every letter.
func fold(s, dialect string) string {
	if dialect != "sqlite" {
		return strings.ToLower(s)
	}
	for i := 0; i < len(s); i++ {
		if 'A' <= s[i] && s[i] <= 'Z' {
			b := []byte(s)
			for j := i; j < len(b); j++ {
				if 'A' <= b[j] && b[j] <= 'Z' {
					b[j] += 'a' - 'A'
				}
			}
			return string(b)
		}
	}
	return s
}

// opText says what a filter with op does, for the document.
func opText(op Op, maxIn int) string {
	switch op {
	case Ne:
		return "is not this value"
	case Gt:
		return "is greater than this value"
	case Gte:
		return "is greater than or equal to this value"
	case Lt:
		return "is less than this value"
	case Lte:
		return "is less than or equal to this value"
	case In:
		return fmt.Sprintf("is one of these comma-separated values (at most %d)", maxIn)
	case NotIn:
		return fmt.Sprintf("is none of these comma-separated values (at most %d); rows where it is null do not pass", maxIn)
	case Like, Contains:
		return "contains this text, case-sensitive"
	case ILike, IContains:
		return "contains this text, ignoring case"
	case StartsWith:
		return "starts with this text, case-sensitive"
	case IStartsWith:
		return "starts with this text, ignoring case"
	case EndsWith:
		return "ends with this text, case-sensitive"
	case IEndsWith:
		return "ends with this text, ignoring case"
	case IsNull:
		return "is null (true) or is not null (false)"
	}
	return "is this value"
}
