package crud

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math"
	"net/http"
	"reflect"
	"slices"
	"strings"

	"gorm.io/gorm"

	"github.com/fastapi-easy/easy-go/easy/problem"
	"github.com/fastapi-easy/easy-go/internal/binding"
	"github.com/fastapi-easy/easy-go/internal/model"
)

// A batch (POST /items/batch, with Batch()) is a JSON array of
// operations, run in order in one transaction:
//
//	[{"op": "create", "body": {...}},
//	 {"op": "replace", "id": 1, "body": {...}, "if_match": "\"...\""},
//	 {"op": "update", "id": 2, "body": {...}},
//	 {"op": "delete", "id": 3}]
//
// Each operation means what its single route means: the same body, row
// policy, hooks and If-Match. Every operation is checked before any runs,
// and every problem is reported at once, located by its index:
// ["body", 2, "body", "price"]. If one fails when it runs, the transaction
// rolls back, nothing is written and no event is published, and the
// answer is that operation's error, its detail prefixed with
// "Operation 2: ". Else the answer lists each operation's result in order,
// and the realtime events of its rows follow the commit, in order.

// batchRoutes are the operations of a batch and the routes they do.
var batchRoutes = [...]struct {
	op    string
	route Route
}{{"create", CreateRoute}, {"replace", ReplaceRoute}, {"update", UpdateRoute}, {"delete", DeleteRoute}}

// batchOps returns the operations a batch takes: those whose single route
// is mounted.
func (c *core) batchOps() []string {
	var ops []string
	for _, b := range batchRoutes {
		if c.cfg.enabled(b.route) {
			ops = append(ops, b.op)
		}
	}
	return ops
}

// batchRoutes returns the routes a batch may do, when r is the batch.
func (c *core) batchRoutes(r Route) []Route {
	if r != BatchRoute {
		return nil
	}
	var out []Route
	for _, b := range batchRoutes {
		if c.cfg.enabled(b.route) {
			out = append(out, b.route)
		}
	}
	return out
}

// batchResult is what one operation of a batch did.
type batchResult[T any] struct {
	Op     string `json:"op" required:"true" enum:"create,replace,update,delete" description:"The operation."`
	Status int    `json:"status" required:"true" description:"The status its single route would answer: 201 for a create, else 200."`
	ETag   string `json:"etag,omitempty" description:"The entity tag of the row as written; none for a delete."`
	Body   *T     `json:"body" required:"true" description:"The row as written, or as it was deleted."`
}

// SchemaName names the result's schema after the model's: ItemBatchResult.
func (batchResult[T]) SchemaName() string {
	if n, ok := any(new(T)).(interface{ SchemaName() string }); ok {
		return n.SchemaName() + "BatchResult"
	}
	name := reflect.TypeFor[T]().Name()
	if i := strings.IndexByte(name, '['); i > 0 {
		name = name[:i]
	}
	return name + "BatchResult"
}

// batchHead is the part of an operation the binding checks as it checks
// a path: its id (of the key's type and constraints) and If-Match.
func (c *core) batchHead() reflect.Type {
	tag := strings.Replace(string(idTag(c.m)), `path:"id"`, `json:"id"`, 1)
	return reflect.StructOf([]reflect.StructField{
		{Name: "ID", Type: c.m.PK.Type, Tag: reflect.StructTag(tag)},
		{Name: "IfMatch", Type: reflect.TypeFor[*string](), Tag: `json:"if_match"`},
	})
}

// batchItem is one operation of a batch, checked and ready to run.
type batchItem[T any] struct {
	op     string
	route  Route
	id     any
	im     *condition
	item   *T             // the new row of a create
	cols   []string       // the columns a replace or an update writes
	change func(*T) error // what a replace or an update does to the row
}

// batch serves POST /items/batch.
func (rt *Router[T]) batch(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	raw, err := binding.ReadBody(r)
	if err != nil {
		rt.fail(w, r, err)
		return
	}
	items, err := rt.decodeBatch(ctx, raw)
	if err != nil {
		rt.fail(w, r, err)
		return
	}
	sc, err := rt.scopeOf(ctx)
	if err != nil {
		rt.fail(w, r, rt.failure(ctx, BatchRoute, nil, err))
		return
	}
	results := make([]batchResult[T], len(items))
	failed, cur := -1, (*T)(nil)
	err = rt.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		// Items before single belong to a run whose INSERT failed: they go
		// one by one, and the rest of the run is not tried in bulk again,
		// which would insert and undo it once per row.
		single := 0
		for i := 0; i < len(items); {
			if n := rt.createRun(items[i:]); n > 1 && i >= single {
				if ok, err := rt.createAll(tx, sc, items[i:i+n], results[i:i+n]); err != nil {
					return err
				} else if ok {
					i += n
					continue
				}
				// One of them failed: one by one, to say which.
				single = i + n
			}
			if err := rt.run(ctx, tx, sc, &items[i], &results[i]); err != nil {
				failed, cur = i, results[i].Body
				return err
			}
			i++
		}
		return nil
	})
	if err != nil {
		if failed < 0 {
			rt.fail(w, r, rt.failure(ctx, BatchRoute, nil, err))
			return
		}
		rt.fail(w, r, operationError(failed, rt.failure(ctx, items[failed].route, cur, err)))
		return
	}
	rt.write(w, r, http.StatusOK, results)
}

// createRun is how many creates begin items that can be inserted with
// one statement: with no create hooks, which see each row alone.
func (rt *Router[T]) createRun(items []batchItem[T]) int {
	if rt.hooks.has(beforeCreate, afterCreate) {
		return 0
	}
	n := 0
	for n < len(items) && items[n].route == CreateRoute {
		n++
	}
	return n
}

// batchRows is how many rows one INSERT of a batch holds at most: few
// enough that their values stay far below what the databases bind in one
// statement (32,766 on SQLite, 65,535 on PostgreSQL).
func (c *core) batchRows() int {
	return max(1, min(500, 10000/max(1, len(c.m.Fields))))
}

// createAll inserts the rows of creates with as few statements as it can,
// in order, and fills their results. If an insert fails it undoes them
// (to a savepoint) and reports false, for the caller to find the failing
// one by inserting them one by one.
func (rt *Router[T]) createAll(tx *gorm.DB, sc scoped, items []batchItem[T], results []batchResult[T]) (bool, error) {
	rows := make([]T, len(items))
	for k := range items {
		sc.fill(items[k].item)
		rows[k] = *items[k].item
	}
	const sp = "easy_batch"
	if err := tx.SavePoint(sp).Error; err != nil {
		return false, err
	}
	for lo, size := 0, rt.batchRows(); lo < len(rows); lo += size {
		part := rows[lo:min(lo+size, len(rows))]
		if err := tx.Clauses(stored).Create(&part).Error; err != nil {
			return false, tx.RollbackTo(sp).Error
		}
	}
	for k := range rows {
		*items[k].item = rows[k]
		results[k] = batchResult[T]{Op: items[k].op, Status: http.StatusCreated, ETag: rt.etag(items[k].item), Body: items[k].item}
	}
	return true, nil
}

// run does one operation of a batch in tx and fills its result; the
// result's Body is the row it worked on, even when it fails.
func (rt *Router[T]) run(ctx context.Context, tx *gorm.DB, sc scoped, it *batchItem[T], res *batchResult[T]) error {
	res.Op, res.Status = it.op, http.StatusOK
	var err error
	switch it.route {
	case CreateRoute:
		res.Body, res.Status = it.item, http.StatusCreated
		sc.fill(it.item)
		res.ETag, err = rt.create1(ctx, tx, it.item)
	case ReplaceRoute, UpdateRoute:
		res.Body = new(T)
		if it.id == nil {
			return gorm.ErrRecordNotFound
		}
		res.ETag, err = rt.change1(ctx, tx, sc, it.id, it.im, slices.Clone(it.cols), res.Body, it.change)
	case DeleteRoute:
		res.Body = new(T)
		if it.id == nil {
			return gorm.ErrRecordNotFound
		}
		if err = rt.load(tx, sc, it.id, it.im, res.Body); err == nil {
			err = rt.remove(ctx, tx, res.Body)
		}
	}
	if err != nil {
		// In the transaction, a conflict is found with the batch's own rows.
		return rt.failureOn(ctx, tx, it.route, res.Body, err)
	}
	return nil
}

// operationError is err, the error of operation i of a batch, as the
// client gets it: a 422's locations under ["body", i], another error's
// detail prefixed with the operation.
func operationError(i int, err error) error {
	var ve *problem.ValidationError
	var he *problem.HTTPError
	switch {
	case errors.As(err, &ve):
		return reroot(i, ve)
	case errors.As(err, &he):
		detail := he.Detail
		if s, ok := detail.(string); ok {
			detail = fmt.Sprintf("Operation %d: %s", i, s)
		}
		return &problem.HTTPError{Status: he.Status, Detail: detail, Err: he.Err}
	}
	return err
}

// reroot moves the body locations of ve, ["body", ...], under operation
// i's body, ["body", i, "body", ...].
func reroot(i int, ve *problem.ValidationError) *problem.ValidationError {
	out := &problem.ValidationError{Errors: slices.Clone(ve.Errors)}
	for j, fe := range out.Errors {
		if len(fe.Loc) > 0 && fe.Loc[0] == "body" {
			out.Errors[j].Loc = append([]any{"body", i, "body"}, fe.Loc[1:]...)
		}
	}
	return out
}

// decodeBatch reads and checks every operation of a batch, and reports
// every problem at once.
func (rt *Router[T]) decodeBatch(ctx context.Context, raw []byte) ([]batchItem[T], error) {
	var elems []json.RawMessage
	if len(bytes.TrimSpace(raw)) == 0 {
		return nil, problem.Invalid("missing", []any{"body"}, "Field required", nil)
	}
	if err := json.Unmarshal(raw, &elems); err != nil || elems == nil {
		var v any
		json.Unmarshal(raw, &v)
		return nil, problem.Invalid("list_type", []any{"body"}, "Input should be a valid list", v)
	}
	if max := rt.cfg.maxBatch; len(elems) > max {
		return nil, &problem.ValidationError{Errors: []problem.FieldError{{Type: "too_long", Loc: []any{"body"},
			Msg: fmt.Sprintf("List should have at most %d items after validation, not %d", max, len(elems)),
			Ctx: map[string]any{"max_length": max, "actual_length": len(elems)}}}}
	}
	items := make([]batchItem[T], len(elems))
	var errs problem.ValidationError
	for i, e := range elems {
		if err := rt.decodeOperation(ctx, i, e, &items[i]); err != nil {
			var ve *problem.ValidationError
			if !errors.As(err, &ve) {
				return nil, operationError(i, rt.failure(ctx, items[i].route, nil, err))
			}
			errs.Errors = append(errs.Errors, ve.Errors...)
		}
	}
	return items, errs.Err()
}

// decodeOperation reads and checks operation i of a batch into it.
func (rt *Router[T]) decodeOperation(ctx context.Context, i int, raw json.RawMessage, it *batchItem[T]) error {
	loc := func(more ...any) []any { return append([]any{"body", i}, more...) }
	var errs problem.ValidationError
	var props map[string]json.RawMessage
	if json.Unmarshal(raw, &props) != nil || props == nil {
		var v any
		json.Unmarshal(raw, &v)
		return problem.Invalid("model_attributes_type", loc(), "Input should be a valid dictionary or object to extract fields from", v)
	}
	ops := rt.batchOps()
	var op string
	switch opRaw, ok := props["op"]; {
	case !ok:
		errs.Add("missing", loc("op"), "Field required", rawValue(raw))
	case json.Unmarshal(opRaw, &op) != nil || !slices.Contains(ops, op):
		expected := "'" + strings.Join(ops, "', '") + "'"
		if n := strings.LastIndex(expected, ", "); n > 0 {
			expected = expected[:n] + " or " + expected[n+2:]
		}
		errs.Errors = append(errs.Errors, problem.FieldError{Type: "enum", Loc: loc("op"), Input: rawValue(opRaw),
			Msg: "Input should be " + expected, Ctx: map[string]any{"expected": expected}})
	}
	if rt.forbid {
		for _, name := range slices.Sorted(maps.Keys(props)) {
			if !slices.Contains([]string{"op", "id", "body", "if_match"}, name) {
				errs.Add("extra_forbidden", loc(name), "Extra inputs are not permitted", rawValue(props[name]))
			}
		}
	}
	head := reflect.New(rt.batchHeadType)
	present, err := rt.batchHeadPlan.DecodeJSON(raw, head.Interface(), loc())
	if err != nil {
		errs.Errors = append(errs.Errors, err.(*problem.ValidationError).Errors...)
	}
	for _, b := range batchRoutes {
		if b.op == op {
			it.op, it.route = op, b.route
		}
	}
	if it.route != CreateRoute && it.route != "" && !present["id"] {
		errs.Add("missing", loc("id"), "Field required", rawValue(raw))
	}
	if im := head.Elem().Field(1); !im.IsNil() {
		c, err := parseCondition("if_match", []string{im.Elem().String()})
		if err != nil {
			fe := err.(*problem.ValidationError).Errors[0]
			fe.Loc = loc("if_match")
			errs.Errors = append(errs.Errors, fe)
		}
		it.im = c
	}
	if it.route == "" {
		return errs.Err()
	}
	if it.route != CreateRoute && present["id"] && err == nil {
		it.id = rt.batchID(head.Elem().Field(0), loc("id"), &errs)
	}
	body, hasBody := props["body"]
	if it.route == DeleteRoute {
		return errs.Err()
	}
	if !hasBody {
		errs.Add("missing", loc("body"), "Field required", rawValue(raw))
		return errs.Err()
	}
	if err := rt.decodeOperationBody(ctx, it, body); err != nil {
		var ve *problem.ValidationError
		if !errors.As(err, &ve) {
			return err
		}
		errs.Errors = append(errs.Errors, reroot(i, ve).Errors...)
	}
	return errs.Err()
}

// batchID is the key an operation names, or nil for one no row has.
func (rt *Router[T]) batchID(id reflect.Value, loc []any, errs *problem.ValidationError) any {
	switch rt.m.PK.Kind {
	case model.KindUint:
		if id.Uint() > math.MaxInt64 {
			return nil // databases store keys as signed 64-bit integers
		}
	case model.KindString:
		s, fe := rt.m.PK.StoredText(id.String())
		if fe != nil {
			fe.Loc = loc
			errs.Errors = append(errs.Errors, *fe)
		}
		return reflect.ValueOf(s).Convert(id.Type()).Interface()
	}
	return id.Interface()
}

// decodeOperationBody reads the body of a create, replace or update, as
// its single route reads it, with the route's locations, ["body", ...],
// which decodeOperation moves under the operation.
func (rt *Router[T]) decodeOperationBody(ctx context.Context, it *batchItem[T], raw json.RawMessage) error {
	loc := []any{"body"}
	switch it.route {
	case CreateRoute:
		it.item = new(T)
		if in := rt.cfg.create; in != nil {
			body := reflect.New(in.typ).Interface()
			if _, err := rt.create.DecodeJSON(raw, body, loc); err != nil {
				return err
			}
			if err := in.convert(ctx, body, it.item); err != nil {
				return err
			}
		} else if _, err := rt.create.DecodeJSON(raw, it.item, loc); err != nil {
			return err
		}
		return rt.m.Check(it.item, model.Created)
	case ReplaceRoute:
		in := rt.cfg.update
		var body any = new(T)
		if in != nil {
			body = reflect.New(in.typ).Interface()
		}
		if _, err := rt.replace.DecodeJSON(raw, body, loc); err != nil {
			return err
		}
		if in == nil {
			if err := rt.m.Check(body, model.Updatable); err != nil {
				return err
			}
		}
		it.cols, it.change = rt.replacement(ctx, body)
	case UpdateRoute:
		patch := new(T)
		present, err := rt.patch.DecodeJSON(raw, patch, loc)
		if err != nil {
			return err
		}
		it.cols, it.change = rt.patching(patch, present)
		return rt.m.Check(patch, func(f *model.Field) bool { return f.Update && present[f.Name] })
	}
	return nil
}

// rawValue is a JSON value for the input of an error.
func rawValue(raw json.RawMessage) any {
	var v any
	if json.Unmarshal(raw, &v) != nil {
		return nil
	}
	return v
}
