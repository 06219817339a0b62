package easy

import (
	"io/fs"
	"net/http"
	"path"

	"github.com/fastapi-easy/easy-go/easy/problem"
)

// FileServer returns a handler that serves the files of fsys, as
// http.FileServerFS does (index.html for a directory, Range,
// If-Modified-Since), but answers as the App does: a missing file, or a
// directory without index.html, is 404 {"detail":"Not Found"} (no
// listing), and every other error is JSON too.
//
//	app.Handle("GET /static/*", http.StripPrefix("/static", easy.FileServer(files)))
func FileServer(fsys fs.FS) http.Handler {
	return jsonErrors(http.FileServerFS(noListing{fsys}))
}

// noListing is a file system whose directories exist only when they hold
// an index.html.
type noListing struct{ fs.FS }

func (n noListing) Open(name string) (fs.File, error) {
	f, err := n.FS.Open(name)
	if err != nil {
		return nil, err
	}
	if st, err := f.Stat(); err == nil && st.IsDir() {
		if _, err := fs.Stat(n.FS, path.Join(name, "index.html")); err != nil {
			f.Close()
			return nil, fs.ErrNotExist
		}
	}
	return f, nil
}

// jsonErrors makes the errors h writes with net/http's helpers
// (http.Error, http.NotFound: text/plain) JSON {"detail": ...}, with the
// status's text as the detail.
func jsonErrors(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.ServeHTTP(&errorWriter{ResponseWriter: w}, r)
	})
}

// errorWriter writes an error status as JSON and drops the text the
// handler writes after it.
type errorWriter struct {
	http.ResponseWriter
	failed bool // an error was written: drop the handler's body
	wrote  bool
}

func (e *errorWriter) WriteHeader(status int) {
	if e.wrote {
		return
	}
	if status < http.StatusOK { // 1xx: informational, the response is still to come
		e.ResponseWriter.WriteHeader(status)
		return
	}
	e.wrote = true
	if status < http.StatusBadRequest {
		e.ResponseWriter.WriteHeader(status)
		return
	}
	e.failed = true
	detail := http.StatusText(status)
	if detail == "" {
		detail = "Error"
	}
	problem.Text(e.ResponseWriter, status, detail)
}

func (e *errorWriter) Write(b []byte) (int, error) {
	if !e.wrote {
		e.WriteHeader(http.StatusOK)
	}
	if e.failed {
		return len(b), nil
	}
	return e.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the connection.
func (e *errorWriter) Unwrap() http.ResponseWriter { return e.ResponseWriter }
