// Package crud is the generic CRUD router of easy: from a GORM model T it
// serves, under the table name, a list with filters, sorting and pages,
// create, read, replace, update and delete, all validated from T's
// constraint tags and all in the App's OpenAPI document.
//
//	type Item struct {
//		ID    uint    `json:"id" gorm:"primaryKey"`
//		Name  string  `json:"name" required:"true" minLength:"1"`
//		Price float64 `json:"price" minimum:"0"`
//	}
//
//	app := easy.New()
//	app.Include(easy.CRUDRouter[Item]()) // or crud.New[Item]()
//
// gives
//
//	GET    /items        list: ?skip=0&limit=100&sort=name,-price&price__gt=10&name__ilike=app
//	POST   /items        create (201); 409 on a unique or foreign key conflict
//	GET    /items/{id}   read; 404; 304 to If-None-Match
//	PUT    /items/{id}   replace the fields a client may write; 412 to a stale If-Match
//	PATCH  /items/{id}   change the fields sent, even to 0, "" or false; or a JSON Merge Patch
//	DELETE /items/{id}   delete (soft delete when T has gorm.DeletedAt); the row
//	DELETE /items        delete all, only with DeleteAll()
//	POST   /items/batch  creates, replaces, updates and deletes in one transaction, only with Batch()
//
// with operation IDs list_items, create_item, get_item, replace_item,
// update_item, delete_item, delete_all_items and batch_items, and the body schemas
// ItemCreate, ItemUpdate and ItemPatch: T without its primary key and its
// read-only fields (CreatedAt, UpdatedAt, DeletedAt, fields gorm does not
// let a client write and fields tagged easy:"readonly"), which a client
// cannot set.
//
// # The list query language
//
// A key is a field's JSON name for equality (name=apple) or the name, two
// underscores and an operator: ne, gt, gte, lt, lte (numbers and times),
// in and nin (a comma-separated list), like or contains, startswith,
// endswith and their case-insensitive ilike or icontains, istartswith,
// iendswith (strings; %, _ and \ are plain characters), isnull (nullable
// fields). Filters are AND-combined, but those of an OR group
// (or[name__like]=a&or[note__like]=a). sort=name,-price orders by name,
// then price descending; the primary key breaks ties, so pages are
// stable. skip and limit choose the page, and X-Total-Count says how many
// rows pass the filters; X-Next-Cursor and Link give the cursor of the
// next page, which ?cursor= continues from (keyset pages, signed with
// CursorKey). fields=id,name keeps those fields of each row. Column names come
// from T's parsed schema, never from the request, and values are parsed
// as the field's type and bound as parameters: a bad key, operator or
// value is a 422 naming the parameter. The language is package
// easy/query, which realtime filters and row policies share: a Router's
// ParseFilter parses the same filters for matching rows in memory.
//
// # Versions and batches
//
// A row's ETag is a hash of its column values: If-None-Match on a read
// answers 304, If-Match on a write answers 412 when the row has changed,
// checked on the row the write's transaction locked. With Batch(), a JSON
// array of operations runs in one transaction, each as its route would,
// and its realtime events follow the commit in order.
//
// # Hooks
//
// Before and after hooks run around each route. They are methods of
// Router[T], typed by T, so that a hook written for another model does
// not compile:
//
//	tasks := easy.CRUDRouter[Task]().
//		BeforeCreate(func(ctx context.Context, tx *gorm.DB, t *Task) error {
//			t.Owner = userFrom(ctx)
//			return nil
//		})
//
// The hooks of a write get its transaction: what they write commits or
// rolls back with the row. A Before hook's error stops the route with that
// error as the response (an *problem.HTTPError keeps its status) and
// writes nothing; an After hook's error rolls the write back.
//
// # Errors
//
// A missing row is a 404 ({"detail": "Item not found"}), a unique or
// foreign-key violation a 409 naming the field when it can, a database
// that cannot be reached a 503, and any other failure a 500 that shows
// nothing internal. See docs/crud.md for the whole story.
package crud
