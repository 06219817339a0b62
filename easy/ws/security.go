package ws

import (
	"fmt"
	"net/http"
	"reflect"
	"sync"

	"gorm.io/gorm/schema"

	"github.com/fastapi-easy/easy-go/easy"
)

// Secure makes the realtime endpoints take the same credentials as the
// REST API: dep (a scheme of easy/security, or the current user that
// needs one) is resolved from the handshake request, and its error
// refuses the connection before the upgrade with its status (401
// {"detail":"Not authenticated"}, say). Browsers cannot set headers on a
// WebSocket, so give a bearer scheme security.TokenQuery("access_token")
// or security.TokenCookie. A principal that implements Expiring (as
// *security.Claims does) has its connection closed with 1008 when it
// expires. The rules hide the rows the principal may not read, from
// events and from initial snapshots alike; a resource without a rule is
// seen whole. Secure sets the Authenticate and Authorize hooks.
func Secure[T any](dep easy.Dependency[T], rules ...Rule[T]) Option {
	return func(c *config) {
		c.authenticate = func(r *http.Request) (any, error) { return dep.Resolve(r) }
		if len(rules) == 0 {
			return
		}
		c.authorize = func(principal any, resource string, ch Change) bool {
			p, _ := principal.(T)
			for _, rule := range rules {
				if rule.applies(resource, ch.Row) {
					return rule.allow(p, ch.Row)
				}
			}
			return true
		}
	}
}

// Rule decides which rows of one model a principal of type T may see.
type Rule[T any] struct {
	model reflect.Type // *M
	table string
	allow func(principal T, row any) bool
}

// Rows is the Rule for model M: allow says whether principal may see row,
// as the REST API's crud.Scope does for the same model. row is nil for a
// delete whose row is not known (a bulk delete published through a
// broker); return false then to hide it. The resource of M is its table
// under GORM's default naming.
func Rows[T, M any](allow func(principal T, row *M) bool) Rule[T] {
	s, err := schema.Parse(new(M), &sync.Map{}, schema.NamingStrategy{})
	if err != nil {
		panic(fmt.Sprintf("ws: Rows: %s: %v", reflect.TypeFor[M](), err))
	}
	return Rule[T]{
		model: reflect.TypeFor[*M](),
		table: s.Table,
		allow: func(p T, row any) bool {
			m, _ := row.(*M)
			return allow(p, m)
		},
	}
}

// applies reports whether the rule is for the row (or, without a row,
// the resource).
func (r Rule[T]) applies(resource string, row any) bool {
	if row != nil {
		return reflect.TypeOf(row) == r.model
	}
	return resource == r.table
}
