package openapi

import (
	_ "embed"
	"html/template"
	"net/http"
)

// JSONHandler serves the document as JSON, its servers at the request's
// host.
func (a *AsyncAPI) JSONHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, err := a.MarshalRequest(r)
		serve(w, "application/json", b, err)
	})
}

// YAMLHandler serves the document as YAML.
func (a *AsyncAPI) YAMLHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, err := a.YAMLRequest(r)
		serve(w, "application/yaml", b, err)
	})
}

func serve(w http.ResponseWriter, contentType string, b []byte, err error) {
	if err != nil {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusInternalServerError)
		w.Write([]byte(`{"detail":"Internal Server Error"}`))
		return
	}
	w.Header().Set("Content-Type", contentType)
	w.Write(b)
}

//go:embed asyncapi.html
var asyncAPIPage string

var asyncAPITemplate = template.Must(template.New("asyncapi").Parse(asyncAPIPage))

// AsyncAPIDocs serves a page that shows the AsyncAPI document at specURL:
// its servers, channels, operations, messages and their payload schemas.
// It is one small HTML file with its script and styles inline, embedded
// in the binary, so it works offline and needs no CDN. docsURL, when not
// empty, is the OpenAPI docs page it links to.
func AsyncAPIDocs(title, specURL, docsURL string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Content-Security-Policy", "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self'")
		asyncAPITemplate.Execute(w, struct{ Title, Spec, Docs string }{title, specURL, docsURL})
	})
}
