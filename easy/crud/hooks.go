package crud

import (
	"context"

	"gorm.io/gorm"

	"github.com/fastapi-easy/easy-go/easy/query"
)

// hookKind is when a hook runs.
type hookKind int

const (
	beforeCreate hookKind = iota
	afterCreate
	beforeUpdate
	afterUpdate
	beforeDelete
	afterDelete
	beforeGet
	afterGet
	hookKinds
)

// itemHook is the type of the hooks of a Router[T] that get one row.
type itemHook[T any] = func(ctx context.Context, tx *gorm.DB, item *T) error

// hooks are a Router's hooks, in the order they were added.
type hooks[T any] struct {
	item       [hookKinds][]itemHook[T]
	beforeList []func(context.Context, *query.Query) error
	afterList  []func(context.Context, []T) error
}

// BeforeCreate runs fn before a row is inserted, in the transaction of
// the insert, with the row as the client sent it. It returns rt, so that
// calls chain.
func (rt *Router[T]) BeforeCreate(fn func(ctx context.Context, tx *gorm.DB, item *T) error) *Router[T] {
	return rt.addHook("BeforeCreate", beforeCreate, fn)
}

// AfterCreate runs fn after a row is inserted, in the same transaction:
// the row has its primary key. An error rolls the insert back.
func (rt *Router[T]) AfterCreate(fn func(ctx context.Context, tx *gorm.DB, item *T) error) *Router[T] {
	return rt.addHook("AfterCreate", afterCreate, fn)
}

// BeforeUpdate runs fn before a PUT or PATCH writes, in its transaction,
// with the row as it will be written.
func (rt *Router[T]) BeforeUpdate(fn func(ctx context.Context, tx *gorm.DB, item *T) error) *Router[T] {
	return rt.addHook("BeforeUpdate", beforeUpdate, fn)
}

// AfterUpdate runs fn after a PUT or PATCH writes, in the same
// transaction. An error rolls the update back.
func (rt *Router[T]) AfterUpdate(fn func(ctx context.Context, tx *gorm.DB, item *T) error) *Router[T] {
	return rt.addHook("AfterUpdate", afterUpdate, fn)
}

// BeforeDelete runs fn before a row is deleted, in the transaction of the
// delete, with the row as stored. DELETE on the collection runs it for
// every row.
func (rt *Router[T]) BeforeDelete(fn func(ctx context.Context, tx *gorm.DB, item *T) error) *Router[T] {
	return rt.addHook("BeforeDelete", beforeDelete, fn)
}

// AfterDelete runs fn after a row is deleted, in the same transaction. An
// error rolls the delete back.
func (rt *Router[T]) AfterDelete(fn func(ctx context.Context, tx *gorm.DB, item *T) error) *Router[T] {
	return rt.addHook("AfterDelete", afterDelete, fn)
}

// BeforeGet runs fn before a row is read; the item has only its primary
// key set.
func (rt *Router[T]) BeforeGet(fn func(ctx context.Context, tx *gorm.DB, item *T) error) *Router[T] {
	return rt.addHook("BeforeGet", beforeGet, fn)
}

// AfterGet runs fn after a row is read, before it is written to the
// client: it may change or refuse it.
func (rt *Router[T]) AfterGet(fn func(ctx context.Context, tx *gorm.DB, item *T) error) *Router[T] {
	return rt.addHook("AfterGet", afterGet, fn)
}

// BeforeList runs fn with the parsed list query before it is run. It may
// change the query: add a Condition or a Scope (to show a user only their
// rows, say), change the sort or the page.
func (rt *Router[T]) BeforeList(fn func(ctx context.Context, q *query.Query) error) *Router[T] {
	rt.configure("BeforeList", fn == nil)
	rt.hooks.beforeList = append(rt.hooks.beforeList, fn)
	return rt
}

// AfterList runs fn with the page of rows before it is written to the
// client.
func (rt *Router[T]) AfterList(fn func(ctx context.Context, items []T) error) *Router[T] {
	rt.configure("AfterList", fn == nil)
	rt.hooks.afterList = append(rt.hooks.afterList, fn)
	return rt
}

func (rt *Router[T]) addHook(name string, kind hookKind, fn itemHook[T]) *Router[T] {
	rt.configure(name, fn == nil)
	rt.hooks.item[kind] = append(rt.hooks.item[kind], fn)
	return rt
}

// configure panics when a method that sets up rt is called too late or
// with nothing: a mounted Router serves requests, which read its setup
// without a lock.
func (rt *Router[T]) configure(method string, isNil bool) {
	if rt.mounted {
		panic("crud: " + method + ": the Router is mounted; set it up before it is included")
	}
	if isNil {
		panic("crud: " + method + ": nil function")
	}
}

func (h *hooks[T]) run(kind hookKind, ctx context.Context, tx *gorm.DB, item *T) error {
	for _, fn := range h.item[kind] {
		if err := fn(ctx, tx, item); err != nil {
			return err
		}
	}
	return nil
}

func (h *hooks[T]) has(kinds ...hookKind) bool {
	for _, k := range kinds {
		if len(h.item[k]) > 0 {
			return true
		}
	}
	return false
}
