package dburl

import "testing"

func TestParse(t *testing.T) {
	for _, c := range []struct {
		raw  string
		want Database
		err  string
	}{
		{raw: "sqlite:easy.db", want: Database{SQLite: "easy.db"}},
		{raw: "sqlite://data/easy.db", want: Database{SQLite: "data/easy.db"}},
		{raw: "sqlite:///var/lib/easy.db", want: Database{SQLite: "/var/lib/easy.db"}},
		{raw: "SQLite3:easy.db", want: Database{SQLite: "easy.db"}},
		{raw: "postgres://u:p@db:5432/app?sslmode=disable", want: Database{Postgres: "postgres://u:p@db:5432/app?sslmode=disable"}},
		{raw: "postgresql://u@db/app", want: Database{Postgres: "postgresql://u@db/app"}},
		{raw: "postgres:///app?host=/run/postgresql", want: Database{Postgres: "postgres:///app?host=/run/postgresql"}},
		{raw: "sqlite:", err: `DATABASE_URL: sqlite: needs a file path, as in sqlite:easy.db`},
		{raw: "nonsense", err: `DATABASE_URL "nonsense": want sqlite:PATH or postgres://USER:PASSWORD@HOST/DB`},
		{raw: "postgres://u:hunter2@/db", err: `DATABASE_URL "postgres://u:xxxxx@/db": not a valid postgres:// URL`},
		{raw: "mysql://root:hunter2@localhost/db", err: `DATABASE_URL "mysql://root:xxxxx@localhost/db": unsupported scheme "mysql" (want sqlite or postgres)`},
		{raw: "postgres:///app", err: `DATABASE_URL "postgres:///app": not a valid postgres:// URL`},
		// A password with a # or a / in it: the URL does not parse as one,
		// or parses without its user; the password is hidden all the same.
		{raw: "postgres://u:pa#ss@db/app", err: `DATABASE_URL "postgres://u:xxxxx@db/app": not a valid postgres:// URL`},
		{raw: "mysql://u:12#secret@db/app", err: `DATABASE_URL "mysql://u:xxxxx@db/app": unsupported scheme "mysql" (want sqlite or postgres)`},
		{raw: "mysql://u:p@q/r@db/app", err: `DATABASE_URL "mysql://u:xxxxx@db/app": unsupported scheme "mysql" (want sqlite or postgres)`},
		// A password in the query, as pgx reads one, and in a key=value DSN,
		// whose colon would otherwise read as the end of a scheme.
		{raw: "mysql://u@db/app?password=hunter2&sslmode=disable", err: `DATABASE_URL "mysql://u@db/app": unsupported scheme "mysql" (want sqlite or postgres)`},
		{raw: "host=db password=se:cret", err: `DATABASE_URL "host=db password=xxxxx": want sqlite:PATH or postgres://USER:PASSWORD@HOST/DB`},
		{raw: "host=db sslpassword='a b'", err: `DATABASE_URL "host=db sslpassword=xxxxx": want sqlite:PATH or postgres://USER:PASSWORD@HOST/DB`},
	} {
		got, err := Parse(c.raw)
		switch {
		case c.err != "" && (err == nil || err.Error() != c.err):
			t.Errorf("Parse(%q) error = %v, want %s", c.raw, err, c.err)
		case c.err == "" && (err != nil || got != c.want):
			t.Errorf("Parse(%q) = %+v, %v; want %+v", c.raw, got, err, c.want)
		}
	}
}
