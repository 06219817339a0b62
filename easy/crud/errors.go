package crud

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"reflect"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/mattn/go-sqlite3"
	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/fastapi-easy/easy-go/easy/problem"
	"github.com/fastapi-easy/easy-go/internal/model"
)

// violation is the kind of constraint a write broke.
type violation int

const (
	noViolation violation = iota
	uniqueViolation
	foreignKeyViolation
)

// constraintOf reads which constraint err reports, and the columns it
// names when the driver says. It understands the errors of gorm with
// TranslateError, of mattn/go-sqlite3 and of pgx.
func constraintOf(err error) (violation, []string) {
	var pg *pgconn.PgError
	if errors.As(err, &pg) {
		switch pg.Code {
		case "23505":
			return uniqueViolation, keyColumns(pg.Detail)
		case "23503":
			return foreignKeyViolation, keyColumns(pg.Detail)
		}
	}
	var lite sqlite3.Error
	if errors.As(err, &lite) {
		switch lite.ExtendedCode {
		case sqlite3.ErrConstraintUnique, sqlite3.ErrConstraintPrimaryKey:
			return uniqueViolation, sqliteColumns(lite.Error())
		case sqlite3.ErrConstraintForeignKey:
			return foreignKeyViolation, nil
		}
		// ON DELETE RESTRICT fails as a trigger does, with the message of
		// a foreign key.
		if lite.Code == sqlite3.ErrConstraint && strings.Contains(lite.Error(), "FOREIGN KEY constraint failed") {
			return foreignKeyViolation, nil
		}
	}
	switch {
	case errors.Is(err, gorm.ErrDuplicatedKey):
		return uniqueViolation, nil
	case errors.Is(err, gorm.ErrForeignKeyViolated):
		return foreignKeyViolation, nil
	}
	return noViolation, nil
}

// keyColumns reads the columns of PostgreSQL's detail "Key (a, b)=(1, 2)
// already exists."
func keyColumns(detail string) []string {
	rest, ok := strings.CutPrefix(detail, "Key (")
	if !ok {
		return nil
	}
	cols, _, ok := strings.Cut(rest, ")=")
	if !ok {
		return nil
	}
	out := strings.Split(cols, ", ")
	for i, c := range out {
		out[i] = strings.Trim(c, `"`)
	}
	return out
}

// sqliteColumns reads the columns of SQLite's "UNIQUE constraint failed:
// items.a, items.b".
func sqliteColumns(msg string) []string {
	_, list, ok := strings.Cut(msg, "constraint failed: ")
	if !ok {
		return nil
	}
	out := strings.Split(list, ", ")
	for i, c := range out {
		out[i] = c[strings.LastIndexByte(c, '.')+1:]
	}
	return out
}

// unavailable reports whether err says the database cannot be reached:
// refused or dropped connections, a closed pool, a timeout, a database
// too busy to answer.
func unavailable(err error) bool {
	if errors.Is(err, driver.ErrBadConn) || errors.Is(err, sql.ErrConnDone) ||
		errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) ||
		errors.Is(err, io.ErrUnexpectedEOF) || pgconn.Timeout(err) {
		return true
	}
	// database/sql does not export the error of a closed *sql.DB.
	if strings.Contains(err.Error(), "sql: database is closed") {
		return true
	}
	var ne net.Error
	var ce *pgconn.ConnectError
	if errors.As(err, &ne) || errors.As(err, &ce) {
		return true
	}
	var pg *pgconn.PgError
	if errors.As(err, &pg) {
		return strings.HasPrefix(pg.Code, "08") || pg.Code == "53300" || pg.Code == "57014" ||
			pg.Code == "57P01" || pg.Code == "57P02" || pg.Code == "57P03"
	}
	var lite sqlite3.Error
	if errors.As(err, &lite) {
		return lite.Code == sqlite3.ErrBusy || lite.Code == sqlite3.ErrLocked || lite.Code == sqlite3.ErrCantOpen
	}
	return false
}

// failure turns an error met by a route into the error the client gets:
// an HTTP or validation error as it is, a missing row a 404, a broken
// unique or foreign key a 409 naming the field when it can, an unreachable
// database a 503, and anything else a 500 that shows nothing internal.
// item, when not nil, is the row being written, to find the field of a
// unique conflict that the driver did not name.
func (c *core) failure(ctx context.Context, route Route, item any, err error) error {
	return c.failureOn(ctx, c.db, route, item, err)
}

// failureOn is failure, looking for the field of a conflict in db: a
// transaction, whose own rows the conflict may be with.
func (c *core) failureOn(ctx context.Context, db *gorm.DB, route Route, item any, err error) error {
	var he *problem.HTTPError
	var ve *problem.ValidationError
	switch {
	case errors.As(err, &he), errors.As(err, &ve):
		return err
	case errors.Is(err, gorm.ErrRecordNotFound):
		return c.notFound()
	}
	switch v, cols := constraintOf(err); v {
	case uniqueViolation:
		fields := c.fieldsOf(cols)
		if len(fields) == 0 && item != nil {
			fields = c.probeUnique(ctx, db, route == CreateRoute, item)
		}
		if len(fields) == 0 {
			return &problem.HTTPError{Status: http.StatusConflict, Detail: c.m.Name + " already exists", Err: err}
		}
		return &problem.HTTPError{Status: http.StatusConflict, Err: err,
			Detail: fmt.Sprintf("%s with this %s already exists", c.m.Name, strings.Join(fields, " and "))}
	case foreignKeyViolation:
		if route == DeleteRoute || route == DeleteAllRoute {
			return &problem.HTTPError{Status: http.StatusConflict, Err: err,
				Detail: c.m.Name + " is still referenced by other rows"}
		}
		fields := c.fieldsOf(cols)
		if len(fields) == 0 && item != nil {
			fields = c.probeForeign(ctx, db, item)
		}
		if len(fields) > 0 {
			return &problem.HTTPError{Status: http.StatusConflict, Err: err,
				Detail: fmt.Sprintf("%s refers by %s to a row that does not exist", c.m.Name, strings.Join(fields, " and "))}
		}
		return &problem.HTTPError{Status: http.StatusConflict, Err: err,
			Detail: c.m.Name + " refers to a row that does not exist"}
	}
	var pg *pgconn.PgError
	if errors.As(err, &pg) && strings.HasPrefix(pg.Code, "22") {
		// A data exception: a value the column cannot hold (too long, out
		// of range). Its column is seldom known.
		loc := []any{"body"}
		if route == ListRoute {
			loc = []any{"query"}
		}
		return &problem.ValidationError{Errors: []problem.FieldError{{Type: "value_error", Loc: loc,
			Msg: "Value error, a value does not fit its column"}}}
	}
	if unavailable(err) {
		return fmt.Errorf("crud: %s: %w: %w", route, problem.ErrUnavailable, err)
	}
	return fmt.Errorf("crud: %s: %w", route, err)
}

func (c *core) notFound() error {
	return problem.New(http.StatusNotFound, c.m.Name+" not found")
}

// fieldsOf maps column names to JSON names; nil when one is unknown.
func (c *core) fieldsOf(cols []string) []string {
	out := make([]string, 0, len(cols))
	for _, col := range cols {
		f := c.m.FieldByColumn(col)
		if f == nil {
			return nil
		}
		out = append(out, f.Name)
	}
	return out
}

// probeUnique finds the unique fields whose values item shares with
// another row: the driver's error did not name them (SQLite's, once gorm
// translated it). A new row may also clash on its primary key (one a
// BeforeCreate hook set).
func (c *core) probeUnique(ctx context.Context, db *gorm.DB, create bool, item any) []string {
	if ctx.Err() != nil {
		return nil
	}
	v := reflect.ValueOf(item).Elem()
	pk := v.FieldByIndex(c.m.PK.Index)
	sets := c.m.Uniques
	if create && !pk.IsZero() {
		sets = append([][]*model.Field{{c.m.PK}}, sets...)
	}
	for _, set := range sets {
		q := db.WithContext(ctx).Unscoped().Model(reflect.New(c.m.Type).Interface())
		names := make([]string, len(set))
		for i, f := range set {
			fv, err := v.FieldByIndexErr(f.Index)
			if err != nil {
				return nil
			}
			q = q.Where(clause.Eq{Column: f.Column, Value: fv.Interface()})
			names[i] = f.Name
		}
		if set[0] != c.m.PK && !pk.IsZero() {
			q = q.Where(clause.Neq{Column: c.m.PK.Column, Value: pk.Interface()})
		}
		var n int64
		if q.Limit(1).Count(&n).Error == nil && n > 0 {
			return names
		}
	}
	return nil
}

// probeForeign finds the foreign keys of item that refer to no row.
func (c *core) probeForeign(ctx context.Context, db *gorm.DB, item any) []string {
	if ctx.Err() != nil {
		return nil
	}
	v := reflect.ValueOf(item).Elem()
	var out []string
	for _, ref := range c.m.Refs {
		fv, err := v.FieldByIndexErr(ref.Field.Index)
		if err != nil || fv.IsZero() {
			continue
		}
		if fv.Kind() == reflect.Pointer {
			fv = fv.Elem()
		}
		var n int64
		err = db.WithContext(ctx).Table(ref.Table).Where(clause.Eq{Column: clause.Column{Name: ref.Column}, Value: fv.Interface()}).
			Limit(1).Count(&n).Error
		if err == nil && n == 0 {
			out = append(out, ref.Field.Name)
		}
	}
	return out
}
