package testkit

import (
	"fmt"
	"go/importer"
	"go/token"
	"go/types"
	"io"
	"os"
	"os/exec"
	"runtime/debug"
	"strings"
	"testing"
)

// Exports maps pkgs and the packages they import to the files of their
// compiled export data. It asks for the packages built as the running
// test's were (-race, -tags), which the cache holds already. A package
// that go list cannot build maps to "", and importing it fails with a
// message that names it.
func Exports(t testing.TB, pkgs ...string) map[string]string {
	t.Helper()
	args := []string{"list", "-e", "-export", "-deps", "-f", "{{.ImportPath}}={{.Export}}"}
	if info, ok := debug.ReadBuildInfo(); ok {
		for _, s := range info.Settings {
			switch {
			case s.Key == "-race" && s.Value == "true":
				args = append(args, "-race")
			case s.Key == "-tags":
				args = append(args, "-tags="+s.Value)
			}
		}
	}
	out, err := exec.Command("go", append(args, pkgs...)...).Output()
	if err != nil {
		var stderr []byte
		if e, ok := err.(*exec.ExitError); ok {
			stderr = e.Stderr
		}
		t.Fatalf("gotypes: go list: %v\n%s", err, stderr)
	}
	files := map[string]string{}
	for line := range strings.Lines(string(out)) {
		path, file, _ := strings.Cut(strings.TrimSpace(line), "=")
		files[path] = file
	}
	return files
}

// Importer returns an importer that reads the packages of exports. It
// keeps what it has read, so one importer serves many checks.
func Importer(fset *token.FileSet, exports map[string]string) types.Importer {
	return importer.ForCompiler(fset, "gc", func(path string) (io.ReadCloser, error) {
		if exports[path] == "" {
			return nil, fmt.Errorf("no export data for %s", path)
		}
		return os.Open(exports[path])
	})
}
