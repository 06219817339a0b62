package openapi

import (
	"github.com/swaggest/openapi-go/openapi31"
)

// AddSecurityScheme puts a security scheme into components.securitySchemes
// under name, which operations then name in their Security. Adding a name
// again replaces its scheme: every operation that uses a scheme adds it.
func (s *Spec) AddSecurityScheme(name string, scheme openapi31.SecurityScheme) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rendered, s.yaml = nil, nil
	s.reflector.SpecEns().ComponentsEns().WithSecuritySchemesItem(name,
		openapi31.SecuritySchemeOrReference{SecurityScheme: &scheme})
}
