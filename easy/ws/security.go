package ws

import (
	"context"
	"fmt"
	"net/http"
	"reflect"

	"github.com/fastapi-easy/easy-go/easy"
	"github.com/fastapi-easy/easy-go/easy/query"
)

// Secure makes the realtime endpoints take the same credentials as the
// REST API: dep (a scheme of easy/security, or the current user that
// needs one) is resolved from the handshake request, and its error
// refuses the connection before the upgrade with its status (401
// {"detail":"Not authenticated"}, say). Browsers cannot set headers on a
// WebSocket, so give a bearer scheme security.TokenQuery("access_token")
// or security.TokenCookie. The connection keeps the request's context, so
// the row policies of Policy read its user as the REST API reads a
// request's, and its principal is dep's value. A principal that
// implements Expiring (as *security.Claims does) has its connection
// closed with 1008 when it expires. Secure sets the Authenticate hook.
func Secure[T any](dep easy.Dependency[T]) Option {
	return func(c *config) {
		c.secured = dep
		c.authenticate = func(r *http.Request) (context.Context, any, error) {
			ctx, err := dep.Resolve(r)
			if err != nil {
				return nil, nil, err
			}
			return ctx, dep.From(ctx), nil
		}
	}
}

// Policy applies the row policy pol to the resource of model, as
// crud.Policy does to its REST API: a snapshot reads only the rows pol
// allows (in SQL, so that its limit counts only them), and a connection
// receives the events of those rows alone. pol reads the connection's
// user from the context Secure resolved; an error it returns refuses the
// connection before the upgrade with its status. A row that leaves what a
// connection may see, by an update, reaches it as a delete when it held
// the row, and is never named to it otherwise. model must be one of the
// models the Manager watches (Watch, Setup).
func Policy(model any, pol *query.Policy) Option {
	t := reflect.TypeOf(model)
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t == nil || t.Kind() != reflect.Struct || pol == nil {
		panic(fmt.Sprintf("ws: Policy(%T, %v): want a model struct and a policy", model, pol))
	}
	return func(c *config) { c.policies = append(c.policies, modelPolicy{typ: t, pol: pol}) }
}

// modelPolicy is the Policy option: the row policy of one model.
type modelPolicy struct {
	typ reflect.Type
	pol *query.Policy
}

// attachPolicies gives each policy to the source of its model.
func attachPolicies(sources []*gormSource, policies []modelPolicy) {
	for _, mp := range policies {
		var src *gormSource
		for _, s := range sources {
			if s.typ == mp.typ {
				src = s
			}
		}
		if src == nil {
			panic(fmt.Sprintf("ws: Policy: %s is not a model the Manager watches", mp.typ))
		}
		if err := src.parser.Check(mp.pol); err != nil {
			panic("ws: Policy: " + err.Error())
		}
		src.policy = mp.pol
	}
}
