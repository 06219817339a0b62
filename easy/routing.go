package easy

import (
	"net/http"
	"strings"

	"github.com/go-chi/chi/v5"

	"github.com/fastapi-easy/easy-go/easy/problem"
)

// allowMethods are the methods a 405's Allow header may name, in the order
// it names them.
var allowMethods = []string{
	http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
	http.MethodDelete, http.MethodOptions, http.MethodConnect, http.MethodTrace,
}

// notFound answers a request no route matches. "OPTIONS *", a question
// about the server rather than a resource, gets net/http's answer: 200
// with no body (Serve hands it to the App; see App.server).
func notFound(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodOptions && r.RequestURI == "*" {
		w.Header().Set("Content-Length", "0")
		w.WriteHeader(http.StatusOK)
		return
	}
	problem.Text(w, http.StatusNotFound, "Not Found")
}

// methodNotAllowed answers a request for a path whose routes take other
// methods: 405 with those methods in Allow (RFC 9110 §15.5.6). HEAD is
// allowed wherever GET is, since the App answers it as GET. A method chi
// does not know reaches here too; on a path with no route it is a 404.
func (a *App) methodNotAllowed(w http.ResponseWriter, r *http.Request) {
	path := r.URL.RawPath
	if path == "" {
		path = r.URL.Path
	}
	var allow []string
	for _, m := range allowMethods {
		if a.mux.Match(chi.NewRouteContext(), m, path) || m == http.MethodHead && len(allow) > 0 && allow[0] == http.MethodGet {
			allow = append(allow, m)
		}
	}
	if len(allow) == 0 {
		notFound(w, r)
		return
	}
	w.Header().Set("Allow", strings.Join(allow, ", "))
	problem.Text(w, http.StatusMethodNotAllowed, "Method Not Allowed")
}
