package openapi

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
)

// security is the security list of an operation of a channel that
// requires secs: each scheme the OpenAPI document has under its name,
// written as AsyncAPI writes it, added to the components and referred to
// (copied instead when the requirement names scopes, which AsyncAPI
// keeps in the scheme).
func (r *renderer) security(secs []Security) ([]any, error) {
	out := make([]any, 0, len(secs))
	for _, sec := range secs {
		s, err := r.scheme(sec.Name)
		if err != nil {
			return nil, err
		}
		r.schemes[sec.Name] = s
		if len(sec.Scopes) == 0 {
			out = append(out, ref("#/components/securitySchemes/"+sec.Name))
			continue
		}
		if _, ok := s["scopes"]; !ok {
			return nil, fmt.Errorf("security scheme %s of type %v takes no scopes", sec.Name, s["type"])
		}
		c := maps.Clone(s)
		c["scopes"] = slices.Clone(sec.Scopes)
		out = append(out, c)
	}
	return out, nil
}

// scheme converts the OpenAPI security scheme name of the Spec into an
// AsyncAPI 3.0 one.
func (r *renderer) scheme(name string) (map[string]any, error) {
	s := r.spec
	s.mu.Lock()
	var (
		b   []byte
		err error
	)
	if c := s.reflector.Spec.Components; c != nil {
		if sc, ok := c.SecuritySchemes[name]; ok && sc.SecurityScheme != nil {
			b, err = json.Marshal(sc.SecurityScheme)
		}
	}
	s.mu.Unlock()
	if err != nil {
		return nil, fmt.Errorf("security scheme %s: %w", name, err)
	}
	if b == nil {
		return nil, fmt.Errorf("security scheme %s is not in the OpenAPI document", name)
	}
	var o map[string]any
	if err := json.Unmarshal(b, &o); err != nil {
		return nil, fmt.Errorf("security scheme %s: %w", name, err)
	}
	return asyncScheme(name, o, r.absolute)
}

// asyncScheme writes the OpenAPI 3.1 security scheme o as AsyncAPI 3.0
// does: an apiKey is an httpApiKey, OAuth 2 flows list availableScopes,
// a flow or OpenID Connect scheme lists the scopes required, and its URLs
// are absolute.
func asyncScheme(name string, o map[string]any, absolute func(string) string) (map[string]any, error) {
	a := map[string]any{}
	if d, ok := o["description"]; ok {
		a["description"] = d
	}
	copyKeys := func(keys ...string) {
		for _, k := range keys {
			if v, ok := o[k]; ok {
				a[k] = v
			}
		}
	}
	switch o["type"] {
	case "apiKey":
		a["type"] = "httpApiKey"
		copyKeys("name", "in")
	case "http":
		a["type"] = "http"
		copyKeys("scheme", "bearerFormat")
	case "mutualTLS":
		a["type"] = "X509"
	case "openIdConnect":
		a["type"] = "openIdConnect"
		if u, ok := o["openIdConnectUrl"].(string); ok {
			a["openIdConnectUrl"] = absolute(u)
		}
		a["scopes"] = []string{}
	case "oauth2":
		a["type"] = "oauth2"
		flows := map[string]any{}
		in, _ := o["flows"].(map[string]any)
		for kind, f := range in {
			fm, _ := f.(map[string]any)
			flow := map[string]any{}
			for _, k := range []string{"authorizationUrl", "tokenUrl", "refreshUrl"} {
				if u, ok := fm[k].(string); ok {
					flow[k] = absolute(u)
				}
			}
			flow["availableScopes"] = fm["scopes"]
			if flow["availableScopes"] == nil {
				flow["availableScopes"] = map[string]any{}
			}
			flows[kind] = flow
		}
		a["flows"] = flows
		a["scopes"] = []string{}
	default:
		return nil, fmt.Errorf("security scheme %s: type %v has no AsyncAPI form", name, o["type"])
	}
	return a, nil
}
