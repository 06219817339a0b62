package easy

import "github.com/fastapi-easy/easy-go/easy/crud"

// CRUDRouter returns the CRUD API of the model T over the App's database:
// list, create, read, replace, update and delete under the table name
// (/items for Item), with filters, sorting and pages on the list, all in
// the OpenAPI document. Include it in an App or a Group, which migrates T
// first:
//
//	app.Include(easy.CRUDRouter[Item]())
//
// See package easy/crud for the options, the hooks and the query language.
func CRUDRouter[T any](opts ...crud.Option) *crud.Router[T] {
	return crud.New[T](opts...)
}
