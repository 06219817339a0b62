package query

import (
	"reflect"
	"slices"
	"strconv"

	"gorm.io/gorm/clause"
)

// where is conds in SQL for the dialect, each on the column col names:
// the conditions outside a group and one OR of each group's conditions,
// all AND-combined.
func where(conds []cond, dialect string, col func(*cond) clause.Column) clause.Expression {
	exprs := make([]clause.Expression, 0, len(conds))
	var groups []string // in the order they first appear
	for i := range conds {
		c := &conds[i]
		if c.group == "" {
			exprs = append(exprs, c.expr(col(c), dialect))
		} else if !slices.Contains(groups, c.group) {
			groups = append(groups, c.group)
		}
	}
	for _, g := range groups {
		var or []clause.Expression
		for i := range conds {
			if c := &conds[i]; c.group == g {
				or = append(or, c.expr(col(c), dialect))
			}
		}
		// gorm joins an OR of one expression to the one before it with OR.
		if len(or) == 1 {
			exprs = append(exprs, or[0])
		} else {
			exprs = append(exprs, clause.Or(or...))
		}
	}
	if len(exprs) == 1 {
		return exprs[0]
	}
	return clause.And(exprs...)
}

// matchAll reports whether the struct v passes conds: every condition
// outside a group, and one condition of each group.
func matchAll(conds []cond, v reflect.Value, dialect string) bool {
	var pending []string // groups none of whose conditions has matched yet
	var passed []string
	for i := range conds {
		c := &conds[i]
		switch {
		case c.group == "":
			if !c.match(v, dialect) {
				return false
			}
		case slices.Contains(passed, c.group):
		case c.match(v, dialect):
			passed = append(passed, c.group)
			if j := slices.Index(pending, c.group); j >= 0 {
				pending = slices.Delete(pending, j, j+1)
			}
		case !slices.Contains(pending, c.group):
			pending = append(pending, c.group)
		}
	}
	return len(pending) == 0
}

// regroup renames the groups of conds that other uses too, so that
// AND-combining the two keeps their groups apart.
func regroup(conds, other []cond) []cond {
	clash, taken := map[string]bool{}, map[string]bool{}
	for _, c := range other {
		clash[c.group], taken[c.group] = true, true
	}
	for _, c := range conds {
		taken[c.group] = true
	}
	renamed := map[string]string{}
	out := slices.Clone(conds)
	for i := range out {
		g := out[i].group
		if g == "" || !clash[g] {
			continue
		}
		if _, ok := renamed[g]; !ok {
			n := 1
			for taken[g+"~"+strconv.Itoa(n)] {
				n++
			}
			renamed[g] = g + "~" + strconv.Itoa(n)
			taken[renamed[g]] = true
		}
		out[i].group = renamed[g]
	}
	return out
}
