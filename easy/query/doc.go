// Package query is easy's query language, the one FastAPI-Easy documents,
// and the row policy built on it. The CRUD list, realtime subscriptions
// and row policies all read it here, so a filter means one thing in SQL
// and in memory:
//
//	GET /items?name=apple&price__gt=10&id__in=1,2,3&name__ilike=app&sort=-price,name&skip=20&limit=10
//
// A key is a field's JSON name for equality (name=apple) or the name, two
// underscores and an operator: ne, gt, gte, lt, lte (numbers and times), in
// and nin (a comma-separated list: one of, none of), like or contains,
// startswith, endswith and their case-insensitive ilike or icontains,
// istartswith and iendswith (strings; %, _ and \ are plain characters),
// and isnull (true or false, on a nullable field). Filters are
// AND-combined, but those written or[key]=value (or or1[key], or2[key],
// ...), which are OR-combined with the others of their group:
//
//	GET /items?active=true&or[name__icontains]=app&or[note__icontains]=app
//
// sort=name,-price orders by name, then price descending;
// the primary key breaks ties, so pages are stable. skip and limit choose
// the page. Column names come from the model's parsed schema, never from
// the request, and values are parsed as the field's type and bound as
// parameters: a bad key, operator or value is a *problem.ValidationError
// (422) naming the parameter.
//
// A Parser is the language of one model (New); it parses a list (List), a
// filter (Filter) and turns a Query built in Go back into a List
// (Resolve). A Filter selects rows in SQL (Apply) and matches them in
// memory (Match). A Policy (Rows) is a resource's row rule: the CRUD
// router and the realtime endpoint each take the same Policy and apply it
// through Scope.
package query
