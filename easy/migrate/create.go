package migrate

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/pressly/goose/v3"
)

// template is a new migration file: goose's two sections, to fill in.
const template = `-- +goose Up
-- The change, one SQL statement after another, each ending with ";".
-- "migrate plan" prints those AutoMigrate would run for the models.

-- +goose Down
-- How to undo the change, for "migrate down".
`

// Create writes a new, empty SQL migration file for name into the
// Config's Dir, numbered one past the highest version there or among the
// Go migrations (00001_create_items.sql, 00002_...), and returns its
// path.
func (s *Schema) Create(name string) (string, error) {
	if s.cfg.Dir == "" {
		return "", errors.New("migrate: create: no migrations directory: give the App easy.Migrations(fsys, dir)")
	}
	slug := slugify(name)
	if slug == "" {
		return "", fmt.Errorf("migrate: create: %q is not a name: use letters and digits", name)
	}
	if err := os.MkdirAll(s.cfg.Dir, 0o755); err != nil {
		return "", fmt.Errorf("migrate: create: %w", err)
	}
	next, err := s.nextVersion()
	if err != nil {
		return "", err
	}
	path := filepath.Join(s.cfg.Dir, fmt.Sprintf("%05d_%s.sql", next, slug))
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return "", fmt.Errorf("migrate: create: %w", err)
	}
	_, err = f.WriteString(template)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return "", fmt.Errorf("migrate: create: %w", err)
	}
	return path, nil
}

// nextVersion is one past the highest version of the files in Dir and
// of the Go migrations.
func (s *Schema) nextVersion() (int64, error) {
	var highest int64
	for _, g := range s.cfg.Go {
		highest = max(highest, g.Version)
	}
	entries, err := os.ReadDir(s.cfg.Dir)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return 0, fmt.Errorf("migrate: create: %w", err)
	}
	for _, e := range entries {
		if ext := filepath.Ext(e.Name()); e.IsDir() || ext != ".sql" && ext != ".go" {
			continue
		}
		if v, err := goose.NumericComponent(e.Name()); err == nil {
			highest = max(highest, v)
		}
	}
	return highest + 1, nil
}

// slugify makes name a file name's part: lower-case letters and digits,
// words joined by "_".
func slugify(name string) string {
	var b strings.Builder
	gap := false
	for _, r := range strings.ToLower(name) {
		if 'a' <= r && r <= 'z' || '0' <= r && r <= '9' {
			if gap && b.Len() > 0 {
				b.WriteByte('_')
			}
			b.WriteRune(r)
			gap = false
		} else {
			gap = true
		}
	}
	return b.String()
}
