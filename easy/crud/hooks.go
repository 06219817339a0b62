package crud

import (
	"context"
	"fmt"
	"reflect"

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
	beforeList
	afterList
	hookKinds
)

var hookNames = [hookKinds]string{
	"BeforeCreate", "AfterCreate", "BeforeUpdate", "AfterUpdate", "BeforeDelete",
	"AfterDelete", "BeforeGet", "AfterGet", "BeforeList", "AfterList",
}

type hookOption struct {
	kind hookKind
	fn   any
}

func addHook(kind hookKind, fn any) Option {
	return func(c *config) {
		if reflect.ValueOf(fn).IsNil() {
			c.problems = append(c.problems, hookNames[kind]+": nil hook")
			return
		}
		c.hooks = append(c.hooks, hookOption{kind, fn})
	}
}

// BeforeCreate runs fn before a row is inserted, in the transaction of
// the insert, with the row as the client sent it.
func BeforeCreate[T any](fn func(ctx context.Context, tx *gorm.DB, item *T) error) Option {
	return addHook(beforeCreate, fn)
}

// AfterCreate runs fn after a row is inserted, in the same transaction:
// the row has its primary key. An error rolls the insert back.
func AfterCreate[T any](fn func(ctx context.Context, tx *gorm.DB, item *T) error) Option {
	return addHook(afterCreate, fn)
}

// BeforeUpdate runs fn before a PUT or PATCH writes, in its transaction,
// with the row as it will be written.
func BeforeUpdate[T any](fn func(ctx context.Context, tx *gorm.DB, item *T) error) Option {
	return addHook(beforeUpdate, fn)
}

// AfterUpdate runs fn after a PUT or PATCH writes, in the same
// transaction. An error rolls the update back.
func AfterUpdate[T any](fn func(ctx context.Context, tx *gorm.DB, item *T) error) Option {
	return addHook(afterUpdate, fn)
}

// BeforeDelete runs fn before a row is deleted, in the transaction of the
// delete, with the row as stored. DELETE on the collection runs it for
// every row.
func BeforeDelete[T any](fn func(ctx context.Context, tx *gorm.DB, item *T) error) Option {
	return addHook(beforeDelete, fn)
}

// AfterDelete runs fn after a row is deleted, in the same transaction. An
// error rolls the delete back.
func AfterDelete[T any](fn func(ctx context.Context, tx *gorm.DB, item *T) error) Option {
	return addHook(afterDelete, fn)
}

// BeforeGet runs fn before a row is read; the item has only its primary
// key set.
func BeforeGet[T any](fn func(ctx context.Context, tx *gorm.DB, item *T) error) Option {
	return addHook(beforeGet, fn)
}

// AfterGet runs fn after a row is read, before it is written to the
// client: it may change or refuse it.
func AfterGet[T any](fn func(ctx context.Context, tx *gorm.DB, item *T) error) Option {
	return addHook(afterGet, fn)
}

// BeforeList runs fn with the parsed list query before it is run. It may
// change the query: add a Condition or a Scope (to show a user only their
// rows, say), change the sort or the page.
func BeforeList(fn func(ctx context.Context, q *query.Query) error) Option {
	return addHook(beforeList, fn)
}

// AfterList runs fn with the page of rows before it is written to the
// client.
func AfterList[T any](fn func(ctx context.Context, items []T) error) Option {
	return addHook(afterList, fn)
}

// itemHook is the type of the item hooks of a Router[T].
type itemHook[T any] = func(ctx context.Context, tx *gorm.DB, item *T) error

// hooks are a Router's hooks, typed.
type hooks[T any] struct {
	item       [beforeList][]itemHook[T]
	beforeList []func(context.Context, *query.Query) error
	afterList  []func(context.Context, []T) error
}

func newHooks[T any](opts []hookOption) (hooks[T], error) {
	var h hooks[T]
	for _, o := range opts {
		switch o.kind {
		case beforeList:
			h.beforeList = append(h.beforeList, o.fn.(func(context.Context, *query.Query) error))
		case afterList:
			fn, ok := o.fn.(func(context.Context, []T) error)
			if !ok {
				return h, fmt.Errorf("AfterList hook is a %T, not a func(context.Context, []%s) error", o.fn, reflect.TypeFor[T]())
			}
			h.afterList = append(h.afterList, fn)
		default:
			fn, ok := o.fn.(itemHook[T])
			if !ok {
				return h, fmt.Errorf("%s hook is a %T, not a func(context.Context, *gorm.DB, *%s) error",
					hookNames[o.kind], o.fn, reflect.TypeFor[T]())
			}
			h.item[o.kind] = append(h.item[o.kind], fn)
		}
	}
	return h, nil
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
