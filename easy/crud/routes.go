package crud

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"reflect"
	"slices"
	"strconv"
	"strings"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/fastapi-easy/easy-go/easy/problem"
	"github.com/fastapi-easy/easy-go/easy/query"
	"github.com/fastapi-easy/easy-go/internal/binding"
	"github.com/fastapi-easy/easy-go/internal/model"
)

// DeleteAllResult is the answer of DELETE on the collection.
type DeleteAllResult struct {
	Deleted int64 `json:"deleted" required:"true" description:"How many rows were deleted."`
}

// list serves GET /items: a page of the rows that pass the filters, in
// order, with the number of all of them in X-Total-Count.
func (rt *Router[T]) list(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	values, err := binding.Query(r)
	if err != nil {
		rt.fail(w, r, err)
		return
	}
	inm, err := conditionOf(r, "If-None-Match")
	if err != nil {
		rt.fail(w, r, err)
		return
	}
	q, err := rt.parser.List(values)
	if err != nil {
		rt.fail(w, r, err)
		return
	}
	if len(rt.hooks.beforeList) > 0 {
		hq := q.Query()
		for _, fn := range rt.hooks.beforeList {
			if err := fn(ctx, hq); err != nil {
				rt.fail(w, r, rt.failure(ctx, ListRoute, nil, err))
				return
			}
		}
		if q, err = rt.parser.Resolve(hq); err != nil {
			rt.fail(w, r, fmt.Errorf("crud: BeforeList: %w", err))
			return
		}
	}
	sc, err := rt.scopeOf(ctx)
	if err != nil {
		rt.fail(w, r, rt.failure(ctx, ListRoute, nil, err))
		return
	}

	items, total, next, err := rt.find(ctx, q, sc)
	if err != nil {
		rt.fail(w, r, rt.failure(ctx, ListRoute, nil, err))
		return
	}
	for _, fn := range rt.hooks.afterList {
		if err := fn(ctx, items); err != nil {
			rt.fail(w, r, rt.failure(ctx, ListRoute, nil, err))
			return
		}
	}
	b, err := encode(items, q.Fields())
	if err != nil {
		rt.fail(w, r, fmt.Errorf("crud: encode response: %w", err))
		return
	}
	count := ""
	if total >= 0 {
		count = strconv.FormatInt(total, 10)
	}
	tag := weakETag(b, []byte(count), []byte(next))
	if inm != nil && inm.matchWeak(tag) {
		notModified(w, tag)
		return
	}
	h := w.Header()
	h.Set("ETag", tag)
	if count != "" {
		h.Set("X-Total-Count", count)
	}
	if next != "" {
		h.Set("X-Next-Cursor", next)
		h.Set("Link", nextLink(r, next))
	}
	writeJSON(w, http.StatusOK, b)
}

// find runs a list query: the page of rows, the number of all rows that
// pass the filters and the policy (-1 on a cursor page, which does not
// count), and the cursor of the next page ("" on the last).
func (rt *Router[T]) find(ctx context.Context, q *query.List, sc scoped) (items []T, total int64, next string, err error) {
	db := sc.where(q.Where(rt.db.WithContext(ctx).Model(new(T))))
	limit := q.Limit()
	var more bool
	if q.Cursor() == "" {
		if err := db.Count(&total).Error; err != nil {
			return nil, 0, "", err
		}
		if limit == 0 || int64(q.Skip()) >= total {
			return []T{}, total, "", nil
		}
		items = make([]T, 0, min(int64(limit), total-int64(q.Skip())))
		if err := q.Page(db.Session(&gorm.Session{})).Find(&items).Error; err != nil {
			return nil, 0, "", err
		}
		more = int64(q.Skip()+len(items)) < total
	} else {
		total = -1
		if limit == 0 {
			return []T{}, total, "", nil
		}
		// One row more than the page says whether another page follows.
		items = make([]T, 0, limit+1)
		if err := q.Page(db.Session(&gorm.Session{})).Limit(limit + 1).Find(&items).Error; err != nil {
			return nil, 0, "", err
		}
		more = len(items) > limit
		items = items[:min(len(items), limit)]
	}
	if more && len(items) > 0 {
		if next, err = q.NextCursor(&items[len(items)-1]); err != nil {
			return nil, 0, "", err
		}
	}
	return items, total, next, nil
}

// nextLink is the Link header (RFC 8288) of the next page: the request's
// URL with the cursor in place of skip or of the cursor before.
func nextLink(r *http.Request, cursor string) string {
	var b strings.Builder
	b.WriteString("<" + r.URL.EscapedPath() + "?")
	for part := range strings.SplitSeq(r.URL.RawQuery, "&") {
		key, _, _ := strings.Cut(part, "=")
		if k, err := url.QueryUnescape(key); part == "" || err == nil && (k == "skip" || k == "cursor") {
			continue
		}
		b.WriteString(part + "&")
	}
	b.WriteString("cursor=" + cursor + `>; rel="next"`)
	return b.String()
}

// createOne serves POST /items.
func (rt *Router[T]) createOne(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	item := new(T)
	if in := rt.cfg.create; in != nil {
		body := reflect.New(in.typ).Interface()
		if err := rt.create.Bind(r, body); err != nil {
			rt.fail(w, r, err)
			return
		}
		if err := in.convert(ctx, body, item); err != nil {
			rt.fail(w, r, rt.failure(ctx, CreateRoute, nil, err))
			return
		}
	} else if err := rt.create.Bind(r, item); err != nil {
		rt.fail(w, r, err)
		return
	}
	if err := rt.m.Check(item, model.Created); err != nil {
		rt.fail(w, r, err)
		return
	}
	sc, err := rt.scopeOf(ctx)
	if err != nil {
		rt.fail(w, r, rt.failure(ctx, CreateRoute, nil, err))
		return
	}
	sc.fill(item)
	tag, err := rt.insert(ctx, item)
	if err != nil {
		rt.fail(w, r, rt.failure(ctx, CreateRoute, item, err))
		return
	}
	w.Header().Set("ETag", tag)
	rt.write(w, r, http.StatusCreated, item)
}

// insert writes a new row, in one transaction with the create hooks, and
// returns its entity tag.
func (rt *Router[T]) insert(ctx context.Context, item *T) (string, error) {
	db := rt.db.WithContext(ctx)
	if !rt.hooks.has(beforeCreate, afterCreate) {
		if err := db.Clauses(stored).Create(item).Error; err != nil {
			return "", err
		}
		return rt.etag(item), nil
	}
	var tag string
	err := db.Transaction(func(tx *gorm.DB) (err error) {
		tag, err = rt.create1(ctx, tx, item)
		return err
	})
	return tag, err
}

// stored makes a write read back the row it wrote (RETURNING), so that
// the answer and its entity tag are the row as the database stores it:
// PostgreSQL rounds a numeric, orders a box's corners, drops an xml
// declaration; SQLite turns "007" into 7 in an integer column. They were
// the values the client sent, and an If-Match with the tag failed.
var stored = clause.Returning{}

// create1 inserts item in tx with the create hooks and returns the
// entity tag of the row as written.
func (rt *Router[T]) create1(ctx context.Context, tx *gorm.DB, item *T) (string, error) {
	if err := rt.hooks.run(beforeCreate, ctx, tx, item); err != nil {
		return "", err
	}
	if err := tx.Clauses(stored).Create(item).Error; err != nil {
		return "", err
	}
	tag := rt.etag(item)
	return tag, rt.hooks.run(afterCreate, ctx, tx, item)
}

// get serves GET /items/{id}.
func (rt *Router[T]) get(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	id, err := rt.bindID(r)
	if err != nil {
		rt.fail(w, r, err)
		return
	}
	db := rt.db.WithContext(ctx)
	values, err := binding.Query(r)
	if err == nil {
		err = rt.readTakes(values)
	}
	if err != nil {
		rt.fail(w, r, err)
		return
	}
	deleted, err := rt.parser.Deleted(values)
	if err != nil {
		rt.fail(w, r, err)
		return
	}
	fields, err := rt.parser.Fields(values)
	if err != nil {
		rt.fail(w, r, err)
		return
	}
	inm, err := conditionOf(r, "If-None-Match")
	if err != nil {
		rt.fail(w, r, err)
		return
	}
	if deleted {
		db = db.Unscoped()
	}
	sc, err := rt.scopeOf(ctx)
	if err != nil {
		rt.fail(w, r, rt.failure(ctx, GetRoute, nil, err))
		return
	}
	item := new(T)
	if rt.hooks.has(beforeGet) {
		reflect.ValueOf(item).Elem().FieldByIndex(rt.m.PK.Index).Set(reflect.ValueOf(id).Convert(rt.m.PK.Type))
		if err := rt.hooks.run(beforeGet, ctx, db, item); err != nil {
			rt.fail(w, r, rt.failure(ctx, GetRoute, nil, err))
			return
		}
	}
	if err := sc.where(db.Where(clause.Eq{Column: rt.m.PK.Column, Value: id})).Take(item).Error; err != nil {
		rt.fail(w, r, rt.failure(ctx, GetRoute, nil, err))
		return
	}
	// The tag is the stored row's: what an AfterGet hook changes in the
	// answer is not a new version of the row.
	tag := rt.etag(item)
	if err := rt.hooks.run(afterGet, ctx, db, item); err != nil {
		rt.fail(w, r, rt.failure(ctx, GetRoute, nil, err))
		return
	}
	if inm != nil && inm.matchWeak(tag) {
		notModified(w, tag)
		return
	}
	b, err := encode(item, fields)
	if err != nil {
		rt.fail(w, r, fmt.Errorf("crud: encode response: %w", err))
		return
	}
	w.Header().Set("ETag", tag)
	writeJSON(w, http.StatusOK, b)
}

// takingNoQuery serves a route that reads no query parameter of its own
// (the writes, delete-all) with next, once it has refused every query
// parameter but its dependencies', as the list refuses one it does not
// know: a route that dropped the query would drop a condition the client
// meant (DELETE /items?name=apple deleted every row, DELETE
// /items/1?name=pear row 1 whatever its name).
func (rt *Router[T]) takingNoQuery(route Route, next http.HandlerFunc) http.HandlerFunc {
	msg := "Unknown query parameter: a write takes none"
	if route == DeleteAllRoute {
		msg = "Unknown query parameter: deleting all rows takes no filter"
	}
	return func(w http.ResponseWriter, r *http.Request) {
		if r.URL.RawQuery != "" {
			values, err := binding.Query(r)
			if err == nil {
				err = query.Only(values, rt.queryNames[route], msg)
			}
			if err != nil {
				rt.fail(w, r, err)
				return
			}
		}
		next(w, r)
	}
}

// readTakes refuses a query parameter a read does not take, as the list
// does: GET /items/1?name=pear does not answer a row of another name.
// include_deleted is left to Parser.Deleted, which says whether it is
// taken.
func (rt *Router[T]) readTakes(values url.Values) error {
	msg := "Unknown query parameter: a read takes fields"
	if rt.parser.IncludeDeleted() {
		msg += " and include_deleted"
	}
	return query.Only(values, rt.queryNames[GetRoute], msg)
}

// replaceOne serves PUT /items/{id}: every field a client may write is
// set from the body, the others are kept.
func (rt *Router[T]) replaceOne(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	im, cerr := conditionOf(r, "If-Match")
	id, err := rt.bindID(r)
	in := rt.cfg.update
	var body any
	if in != nil {
		body = reflect.New(in.typ).Interface()
	} else {
		body = new(T)
	}
	berr := rt.replace.Bind(r, body)
	if berr == nil && in == nil {
		berr = rt.m.Check(body, model.Updatable)
	}
	if err != nil || berr != nil || cerr != nil {
		rt.fail(w, r, joinInvalid(cerr, err, berr))
		return
	}
	cols, change := rt.replacement(ctx, body)
	item, tag, err := rt.modify(ctx, ReplaceRoute, id, im, cols, change)
	if err != nil {
		rt.fail(w, r, err)
		return
	}
	w.Header().Set("ETag", tag)
	rt.write(w, r, http.StatusOK, item)
}

// update serves PATCH /items/{id}: the fields in the body are set, even to
// 0, "" or false; the others are kept.
func (rt *Router[T]) update(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	im, cerr := conditionOf(r, "If-Match")
	id, err := rt.bindID(r)
	if isMergePatch(r) {
		rt.mergeUpdate(w, r, im, id, joinInvalid(cerr, err))
		return
	}
	patch := new(T)
	present, berr := rt.patch.BindPresent(r, patch)
	if berr == nil {
		berr = rt.m.Check(patch, func(f *model.Field) bool { return f.Update && present[f.Name] })
	}
	if err != nil || berr != nil || cerr != nil {
		rt.fail(w, r, joinInvalid(cerr, err, berr))
		return
	}
	cols, change := rt.patching(patch, present)
	item, tag, err := rt.modify(ctx, UpdateRoute, id, im, cols, change)
	if err != nil {
		rt.fail(w, r, err)
		return
	}
	w.Header().Set("ETag", tag)
	rt.write(w, r, http.StatusOK, item)
}

// replacement returns what PUT with body (a *T, or the UpdateInput's
// body) does to a row: the columns it writes (nil: those it changes) and
// the change.
func (rt *Router[T]) replacement(ctx context.Context, body any) ([]string, func(*T) error) {
	if in := rt.cfg.update; in != nil {
		return nil, func(item *T) error {
			if err := in.convert(ctx, body, item); err != nil {
				return err
			}
			return rt.m.Check(item, model.Updated)
		}
	}
	return slices.Clone(rt.replaceCols), func(item *T) error { // gorm may append to the columns
		rt.m.Copy(item, body.(*T), model.Updatable)
		return nil
	}
}

// patching returns what PATCH does to a row with patch, whose body held
// the fields present: the columns it writes and the change.
func (rt *Router[T]) patching(patch *T, present map[string]bool) ([]string, func(*T) error) {
	sent := func(f *model.Field) bool { return f.Update && present[f.Name] }
	return rt.m.Columns(sent), func(item *T) error {
		rt.m.Copy(item, patch, sent)
		return nil
	}
}

// modify loads row id, checks it against If-Match (im, nil when absent),
// changes it with change and the update hooks, and writes the columns
// cols and any other the change or a hook made, all in one transaction.
// It returns the row as written and its entity tag, or the error for the
// client.
func (rt *Router[T]) modify(ctx context.Context, route Route, id any, im *condition, cols []string, change func(*T) error) (*T, string, error) {
	sc, err := rt.scopeOf(ctx)
	if err != nil {
		return nil, "", rt.failure(ctx, route, nil, err)
	}
	item := new(T)
	var tag string
	err = rt.db.WithContext(ctx).Transaction(func(tx *gorm.DB) (err error) {
		tag, err = rt.change1(ctx, tx, sc, id, im, cols, item, change)
		return err
	})
	if err != nil {
		return nil, "", rt.failure(ctx, route, item, err)
	}
	return item, tag, nil
}

// load reads row id of the scope into item, in tx, and checks it against
// If-Match: a row that has changed is a 412. With If-Match the row is
// locked (FOR UPDATE, where the database has it) until tx ends, so that
// no other writer changes it between the check and the write.
func (rt *Router[T]) load(tx *gorm.DB, sc scoped, id any, im *condition, item *T) error {
	q := sc.where(tx.Where(clause.Eq{Column: rt.m.PK.Column, Value: id}))
	if im != nil {
		q = q.Clauses(clause.Locking{Strength: clause.LockingStrengthUpdate})
	}
	if err := q.Take(item).Error; err != nil {
		return err
	}
	if im != nil {
		if tag := rt.etag(item); !im.matchStrong(tag) {
			return rt.changed(tag)
		}
	}
	return nil
}

// change1 is one update in tx: it loads row id into item, changes it and
// writes it, and returns the entity tag of the row as written.
func (rt *Router[T]) change1(ctx context.Context, tx *gorm.DB, sc scoped, id any, im *condition, cols []string, item *T, change func(*T) error) (string, error) {
	old := new(T)
	if err := rt.load(tx, sc, id, im, old); err != nil {
		return "", err
	}
	*item = *old
	if err := change(item); err != nil {
		return "", err
	}
	if err := rt.hooks.run(beforeUpdate, ctx, tx, item); err != nil {
		return "", err
	}
	// The row stays in its scope, whatever the body or a hook said.
	sc.fill(item)
	if cols == nil || rt.hooks.has(beforeUpdate) {
		cols = rt.m.Changed(old, item, cols)
	}
	// The key is the stored row's, whatever a hook or conversion did.
	pk := reflect.ValueOf(item).Elem().FieldByIndex(rt.m.PK.Index)
	pk.Set(reflect.ValueOf(old).Elem().FieldByIndex(rt.m.PK.Index))
	if len(cols) > 0 {
		res := tx.Model(item).Clauses(stored).Select(cols).Updates(item)
		if res.Error != nil {
			return "", res.Error
		}
		if res.RowsAffected == 0 {
			return "", gorm.ErrRecordNotFound
		}
	}
	tag := rt.etag(item)
	return tag, rt.hooks.run(afterUpdate, ctx, tx, item)
}

// deleteOne serves DELETE /items/{id}; it answers with the deleted row.
func (rt *Router[T]) deleteOne(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	im, cerr := conditionOf(r, "If-Match")
	id, err := rt.bindID(r)
	if err != nil || cerr != nil {
		rt.fail(w, r, joinInvalid(cerr, err))
		return
	}
	sc, err := rt.scopeOf(ctx)
	if err != nil {
		rt.fail(w, r, rt.failure(ctx, DeleteRoute, nil, err))
		return
	}
	item := new(T)
	err = rt.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := rt.load(tx, sc, id, im, item); err != nil {
			return err
		}
		return rt.remove(ctx, tx, item)
	})
	if err != nil {
		rt.fail(w, r, rt.failure(ctx, DeleteRoute, nil, err))
		return
	}
	rt.write(w, r, http.StatusOK, item)
}

// remove deletes a loaded row with the delete hooks, in tx.
func (rt *Router[T]) remove(ctx context.Context, tx *gorm.DB, item *T) error {
	if err := rt.hooks.run(beforeDelete, ctx, tx, item); err != nil {
		return err
	}
	id := reflect.ValueOf(item).Elem().FieldByIndex(rt.m.PK.Index).Interface()
	res := tx.Where(clause.Eq{Column: rt.m.PK.Column, Value: id}).Delete(item)
	if res.Error != nil {
		return res.Error
	}
	if res.RowsAffected == 0 {
		return gorm.ErrRecordNotFound
	}
	return rt.hooks.run(afterDelete, ctx, tx, item)
}

// deleteAll serves DELETE /items. With delete hooks it deletes row by row,
// so that every hook sees every row. It takes no filter (takingNoQuery).
func (rt *Router[T]) deleteAll(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	sc, err := rt.scopeOf(ctx)
	if err != nil {
		rt.fail(w, r, rt.failure(ctx, DeleteAllRoute, nil, err))
		return
	}
	var n int64
	err = rt.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if !rt.hooks.has(beforeDelete, afterDelete) {
			res := sc.where(tx.Session(&gorm.Session{AllowGlobalUpdate: true})).Delete(new(T))
			n = res.RowsAffected
			return res.Error
		}
		var batch []T
		return sc.where(tx).Order(rt.parser.Order()).FindInBatches(&batch, 500, func(btx *gorm.DB, _ int) error {
			for i := range batch {
				if err := rt.remove(ctx, tx, &batch[i]); err != nil {
					return err
				}
				n++
			}
			return nil
		}).Error
	})
	if err != nil {
		rt.fail(w, r, rt.failure(ctx, DeleteAllRoute, nil, err))
		return
	}
	rt.write(w, r, http.StatusOK, &DeleteAllResult{Deleted: n})
}

// fail writes err.
func (c *core) fail(w http.ResponseWriter, r *http.Request, err error) {
	problem.Write(w, r, c.log, err)
}

// write writes v as the JSON response.
func (c *core) write(w http.ResponseWriter, r *http.Request, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		c.fail(w, r, fmt.Errorf("crud: encode response: %w", err))
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(b)
}

// joinInvalid reports the problems of a request's path and body together,
// as one 422, or the first error that is not a validation error.
func joinInvalid(errs ...error) error {
	var all problem.ValidationError
	for _, err := range errs {
		if err == nil {
			continue
		}
		ve, ok := err.(*problem.ValidationError)
		if !ok {
			return err
		}
		all.Errors = append(all.Errors, ve.Errors...)
	}
	return all.Err()
}
