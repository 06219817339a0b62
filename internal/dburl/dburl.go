// Package dburl reads a database URL, as DATABASE_URL gives one: the App
// opens the database it names, and tests open the database of an App they
// run as a child process with the same reading.
package dburl

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
)

// Database is the database a URL names: a SQLite file or a PostgreSQL
// server. One of its fields is set.
type Database struct {
	SQLite   string // the path of the SQLite file
	Postgres string // the URL of the PostgreSQL database, for its driver
}

// Parse reads raw: sqlite:PATH (also sqlite://PATH, sqlite:///ABS/PATH and
// sqlite3:) or postgres://... (postgresql:// too). Its errors name the
// variable DATABASE_URL and hide a password in raw.
func Parse(raw string) (Database, error) {
	scheme, rest, found := strings.Cut(raw, ":")
	if !found {
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
		if err != nil || u.Host == "" && u.Query().Get("host") == "" { // a socket: postgres:///db?host=/run/postgresql
			return Database{}, fmt.Errorf("DATABASE_URL %q: not a valid postgres:// URL", Redact(raw))
		}
		return Database{Postgres: raw}, nil
	}
	return Database{}, fmt.Errorf("DATABASE_URL %q: unsupported scheme %q (want sqlite or postgres)", Redact(raw), scheme)
}

// Redact hides a password in a database URL. A URL that does not parse,
// or that parses without its user where it has one (a password with a #
// in it), may still hold one: then all between :// and the last @ goes.
func Redact(raw string) string {
	u, err := url.Parse(raw)
	if err == nil && (u.User != nil || !strings.Contains(raw, "@")) {
		return u.Redacted()
	}
	if i := strings.Index(raw, "://"); i >= 0 {
		if j := strings.LastIndex(raw, "@"); j > i {
			return raw[:i+3] + "xxxxx" + raw[j:]
		}
	}
	return raw
}
