package openapi

import (
	"net/http"

	"github.com/swaggest/swgui/v5emb"
)

// JSONHandler serves the document as JSON.
func (s *Spec) JSONHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, err := s.MarshalJSON()
		if err != nil {
			http.Error(w, `{"detail":"Internal Server Error"}`, http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Write(b)
	})
}

// YAMLHandler serves the document as YAML.
func (s *Spec) YAMLHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, err := s.YAML()
		if err != nil {
			http.Error(w, `{"detail":"Internal Server Error"}`, http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/yaml")
		w.Write(b)
	})
}

// Docs serves Swagger UI for the document at specURL. Its assets are
// embedded in the binary, so the page works offline. basePath is the
// path Docs is mounted at, such as "/docs".
func Docs(title, specURL, basePath string) http.Handler {
	return v5emb.New(title, specURL, basePath)
}
