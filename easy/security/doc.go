// Package security provides FastAPI's security schemes as typed
// dependencies of package easy: HTTP Bearer (with JWT verification), the
// OAuth2 password flow with its token route, API keys in a header, query
// or cookie, and HTTP Basic. Each scheme is an easy.Dependency of the
// principal its verify function returns, so handlers read a typed user
// with From; each is enforced on the operations that use it and shown in
// the OpenAPI document (components.securitySchemes and the operation's
// security), which gives Swagger UI its Authorize button.
//
//	user := security.HTTPBearer(security.JWT[security.Claims](security.JWTConfig{Key: secret}))
//	admin := security.Roles(user, "admin")
//	easy.Delete(app, "/items/{id}", deleteItem, easy.Uses(admin))
//
// Missing credentials are a 401 {"detail":"Not authenticated"} with the
// scheme's WWW-Authenticate challenge; credentials that fail verification
// are a 401 too; a principal without the scope or role an operation
// requires is a 403. Credentials never appear in errors or logs.
//
// Each scheme takes the options that apply to it, and the compiler
// refuses the others (Realm given to HTTPBearer does not compile):
//
//	Name, Description, Optional  Option        every scheme
//	TokenQuery, TokenCookie      TokenOption   HTTPBearer, OAuth2Password
//	BearerFormat                 BearerOption  HTTPBearer
//	Scopes                       OAuth2Option  OAuth2Password
//	Realm                        BasicOption   HTTPBasic
package security
