// Package dburl reads a database URL, as DATABASE_URL gives one: the App
// opens the database it names, and tests open the database of an App they
// run as a child process with the same reading.
package dburl

import (
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"strings"
)

// Database is the database a URL names: a SQLite file or a PostgreSQL
// server. One of its fields is set.
type Database struct {
	SQLite   string // the path of the SQLite file
	Postgres string // the URL of the PostgreSQL database, for its driver
}

// Parse reads raw: sqlite:PATH (also sqlite://PATH, sqlite:///ABS/PATH and
// sqlite3:) or postgres://... (postgresql:// too; for a Unix socket
// postgres:///DB?host=/DIR). Its errors name the variable DATABASE_URL
// and show raw as Redact does.
func Parse(raw string) (Database, error) {
	scheme, rest, found := strings.Cut(raw, ":")
	if !found || !isScheme(scheme) {
		return Database{}, fmt.Errorf("DATABASE_URL %q: want sqlite:PATH or postgres://USER:PASSWORD@HOST/DB", Redact(raw))
	}
	switch strings.ToLower(scheme) {
	case "sqlite", "sqlite3":
		path := strings.TrimPrefix(rest, "//")
		if path == "" {
			return Database{}, errors.New("DATABASE_URL: sqlite: needs a file path, as in sqlite:easy.db")
		}
		return Database{SQLite: path}, nil
	case "postgres", "postgresql":
		u, err := url.Parse(raw)
		if err != nil || u.Host == "" && u.Query().Get("host") == "" {
			return Database{}, fmt.Errorf("DATABASE_URL %q: not a valid postgres:// URL", Redact(raw))
		}
		return Database{Postgres: raw}, nil
	}
	return Database{}, fmt.Errorf("DATABASE_URL %q: unsupported scheme %q (want sqlite or postgres)", Redact(raw), scheme)
}

// isScheme reports whether s is a URL scheme (RFC 3986): a letter, then
// letters, digits, "+", "-" and ".".
func isScheme(s string) bool {
	for i, c := range s {
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z':
		case i > 0 && ('0' <= c && c <= '9' || c == '+' || c == '-' || c == '.'):
		default:
			return false
		}
	}
	return s != ""
}

// Redact shows a database URL without its secrets, for an error message:
// scheme, user, host and path, with the password and the query (which
// may hold password= for pgx) left out. It does not parse the URL: one
// that does not parse, or that parses otherwise than a driver reads it (a
// password with a # or a / in it), is shown without them all the same.
// A key=value DSN is shown with its password= values hidden.
func Redact(raw string) string {
	scheme, rest, ok := strings.Cut(raw, "://")
	if !ok {
		return kvPassword.ReplaceAllString(raw, "${1}xxxxx")
	}
	var user string
	if at := strings.LastIndex(rest, "@"); at >= 0 {
		name, _, secret := strings.Cut(rest[:at], ":")
		user = name + "@"
		if secret {
			user = name + ":xxxxx@"
		}
		rest = rest[at+1:]
	}
	if i := strings.IndexAny(rest, "?#"); i >= 0 {
		rest = rest[:i]
	}
	return scheme + "://" + user + rest
}

// kvPassword finds the values of password and sslpassword in a key=value
// DSN, quoted or not.
var kvPassword = regexp.MustCompile(`(\b(?:ssl)?password\s*=\s*)('(?:[^'\\]|\\.)*'|\S+)`)
