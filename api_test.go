package easy_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"go/ast"
	"go/importer"
	"go/parser"
	"go/token"
	"go/types"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestPublicAPINamesNoInternalPackage checks that no exported signature of
// a public package (a function, a method of an exported type, an exported
// field, an alias, an embedded type) names a package under internal/: what
// users see must be documented where they can read it. It type-checks the
// packages from the compiler's export data, as users' code sees them. With
// -v it logs how many exported identifiers each package has.
func TestPublicAPINamesNoInternalPackage(t *testing.T) {
	if testing.Short() {
		t.Skip("builds every public package")
	}
	module, paths, imp := publicAPI(t)
	for _, path := range paths {
		pkg, err := imp.Import(path)
		if err != nil {
			t.Fatal(err)
		}
		w := apiWalker{pkg: pkg, seen: map[types.Type]bool{}}
		w.walk()
		for _, leak := range w.leaks {
			t.Errorf("%s.%s", strings.TrimPrefix(path, module+"/"), leak)
		}
		t.Logf("%-40s %3d exported names, %3d exported methods and fields", strings.TrimPrefix(path, module+"/"), w.names, w.members)
	}
}

// TestOptionsAreTypedByLevel checks that the compiler refuses an option
// where it does not apply (docs/conventions.md): each level (App, Group,
// operation) has its own option type, an option of several levels is one
// function accepted at each, and each security scheme takes only the
// options that apply to it.
func TestOptionsAreTypedByLevel(t *testing.T) {
	if testing.Short() {
		t.Skip("builds every public package")
	}
	_, _, imp := publicAPI(t)
	const prelude = `package p

import (
	"context"

	"github.com/fastapi-easy/easy-go/easy"
	"github.com/fastapi-easy/easy-go/easy/security"
)

var (
	app    = easy.New()
	h      = func(context.Context, *easy.NoInput) (*easy.NoContent, error) { return nil, nil }
	token  = func(context.Context, string) (string, error) { return "", nil }
	basic  = func(context.Context, string, string) (string, error) { return "", nil }
	_      = security.Name
)

func f() {
`
	for code, ok := range map[string]bool{
		`easy.New(easy.DB(nil), easy.Title("t", "1"), easy.Description("d"), easy.ForbidUnknownFields(), easy.NoMigrate())`:       true,
		`app.Group("/g", easy.Tags("t"), easy.Uses(), easy.Middleware(), easy.ForbidUnknownFields(), easy.AllowUnknownFields())`:  true,
		`easy.Get(app, "/", h, easy.Tags("t"), easy.Uses(), easy.Summary("s"), easy.Description("d"), easy.AllowUnknownFields())`: true,
		`easy.New(easy.Summary("s"))`:             false,
		`easy.New(easy.Tags("t"))`:                false,
		`app.Group("/g", easy.Summary("s"))`:      false,
		`app.Group("/g", easy.Description("d"))`:  false,
		`app.Group("/g", easy.DB(nil))`:           false,
		`easy.Get(app, "/", h, easy.DB(nil))`:     false,
		`easy.Get(app, "/", h, easy.NoMigrate())`: false,
		`easy.New(easy.Migrations(nil, "m"), easy.GoMigration(1, nil, nil), easy.MigrateOnStart())`: true,
		`app.Group("/g", easy.MigrateOnStart())`:                                                    false,

		`security.HTTPBearer(token, security.Name("n"), security.Optional(), security.TokenQuery("t"), security.BearerFormat("JWT"))`: true,
		`security.OAuth2Password("/token", token, security.Description("d"), security.TokenCookie("t"), security.Scopes(nil))`:        true,
		`security.HTTPBasic(basic, security.Name("n"), security.Realm("r"))`:                                                          true,
		`security.APIKeyHeader("X-Key", token, security.Name("n"), security.Description("d"), security.Optional())`:                   true,
		`security.HTTPBearer(token, security.Realm("r"))`:                                                                             false,
		`security.HTTPBearer(token, security.Scopes(nil))`:                                                                            false,
		`security.OAuth2Password("/token", token, security.BearerFormat("JWT"))`:                                                      false,
		`security.HTTPBasic(basic, security.TokenQuery("t"))`:                                                                         false,
		`security.APIKeyQuery("key", token, security.TokenCookie("t"))`:                                                               false,
		`security.APIKeyCookie("key", token, security.Realm("r"))`:                                                                    false,
	} {
		fset := token.NewFileSet()
		f, err := parser.ParseFile(fset, "p.go", prelude+"\t"+code+"\n}\n", 0)
		if err != nil {
			t.Fatal(err)
		}
		_, err = (&types.Config{Importer: imp}).Check("p", fset, []*ast.File{f}, nil)
		switch {
		case ok && err != nil:
			t.Errorf("%s: %v", code, err)
		case !ok && (err == nil || !strings.Contains(err.Error(), "cannot use")):
			t.Errorf("%s compiles (%v); want the option refused", code, err)
		}
	}
}

// publicAPI returns the module path, the import paths of its public
// packages, and an importer of their export data.
func publicAPI(t *testing.T) (module string, paths []string, imp types.Importer) {
	t.Helper()
	module, paths = publicPackages(t)
	exports := exportData(t, paths)
	imp = importer.ForCompiler(token.NewFileSet(), "gc", func(path string) (io.ReadCloser, error) {
		f, ok := exports[path]
		if !ok {
			return nil, errors.New("no export data for " + path)
		}
		return os.Open(f)
	})
	return module, paths, imp
}

// publicPackages returns the module path and the import paths of its
// public packages: every directory with non-test Go files of a package
// other than main, outside internal/, examples/, bench/, testdata/ and
// nested modules.
func publicPackages(t *testing.T) (module string, paths []string) {
	t.Helper()
	mod, err := os.ReadFile("go.mod")
	if err != nil {
		t.Fatal(err)
	}
	for line := range strings.Lines(string(mod)) {
		if m, ok := strings.CutPrefix(line, "module "); ok {
			module = strings.TrimSpace(m)
		}
	}
	err = filepath.WalkDir(".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || !d.IsDir() {
			return err
		}
		switch d.Name() {
		case "internal", "examples", "bench", "testdata":
			return filepath.SkipDir
		}
		if p != "." && (strings.HasPrefix(d.Name(), ".") || strings.HasPrefix(d.Name(), "_")) {
			return filepath.SkipDir
		}
		if _, err := os.Stat(filepath.Join(p, "go.mod")); err == nil && p != "." {
			return filepath.SkipDir
		}
		files, _ := filepath.Glob(filepath.Join(p, "*.go"))
		for _, f := range files {
			if strings.HasSuffix(f, "_test.go") {
				continue
			}
			src, err := os.ReadFile(f)
			if err != nil {
				return err
			}
			if bytes.Contains(src, []byte("\npackage main\n")) || bytes.HasPrefix(src, []byte("package main\n")) {
				return nil
			}
			paths = append(paths, module+"/"+filepath.ToSlash(p))
			return nil
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(paths) == 0 {
		t.Fatal("no public package found")
	}
	return module, paths
}

// exportData builds the packages and their dependencies and returns the
// export data file of each, by import path.
func exportData(t *testing.T, paths []string) map[string]string {
	t.Helper()
	cmd := exec.Command("go", append([]string{"list", "-export", "-deps", "-json=ImportPath,Export"}, paths...)...)
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	exports := map[string]string{}
	dec := json.NewDecoder(bytes.NewReader(out))
	for dec.More() {
		var p struct{ ImportPath, Export string }
		if err := dec.Decode(&p); err != nil {
			t.Fatal(err)
		}
		exports[p.ImportPath] = p.Export
	}
	return exports
}

// apiWalker walks the exported API of one package.
type apiWalker struct {
	pkg            *types.Package
	seen           map[types.Type]bool // unexported types of pkg already walked
	leaks          []string
	names, members int
}

func (w *apiWalker) walk() {
	scope := w.pkg.Scope()
	for _, name := range scope.Names() {
		obj := scope.Lookup(name)
		if !obj.Exported() {
			continue
		}
		w.names++
		switch obj := obj.(type) {
		case *types.TypeName:
			if obj.IsAlias() {
				w.check(name, types.Unalias(obj.Type()))
				if a, ok := obj.Type().(*types.Alias); ok {
					w.check(name, a.Rhs())
				}
				continue
			}
			w.typeAPI(name, obj.Type())
		default: // a function, variable or constant
			w.check(name, obj.Type())
		}
	}
}

// typeAPI checks what an exported (or exposed) named type shows: its
// exported fields, embedded types and methods, promoted ones included.
func (w *apiWalker) typeAPI(name string, t types.Type) {
	named, ok := t.(*types.Named)
	if !ok {
		w.check(name, t)
		return
	}
	if tps := named.TypeParams(); tps != nil {
		for i := range tps.Len() {
			w.check(name+"["+tps.At(i).Obj().Name()+"]", tps.At(i).Constraint())
		}
	}
	switch u := named.Underlying().(type) {
	case *types.Struct:
		w.fields(name, u)
	case *types.Interface:
		for i := range u.NumEmbeddeds() {
			w.check(name+" (embedded)", u.EmbeddedType(i))
		}
	default:
		w.check(name, u)
	}
	ms := types.NewMethodSet(types.NewPointer(named))
	if types.IsInterface(named) {
		ms = types.NewMethodSet(named)
	}
	for i := range ms.Len() {
		m := ms.At(i).Obj()
		if !m.Exported() {
			continue
		}
		if m.Pkg() == w.pkg || len(ms.At(i).Index()) > 1 {
			w.members++
		}
		w.check(name+"."+m.Name(), m.Type())
	}
}

// fields checks the exported fields of s and, through embedded structs,
// the fields they promote.
func (w *apiWalker) fields(name string, s *types.Struct) {
	for i := range s.NumFields() {
		f := s.Field(i)
		if f.Exported() {
			w.members++
			w.check(name+"."+f.Name(), f.Type())
			continue
		}
		if f.Embedded() { // its exported fields are promoted
			ft := f.Type()
			if p, ok := ft.(*types.Pointer); ok {
				ft = p.Elem()
			}
			if st, ok := ft.Underlying().(*types.Struct); ok {
				w.fields(name, st)
			}
		}
	}
}

// check reports where t names a type of an internal package. Types of the
// package itself that are unexported are looked into, as what they show
// is shown too; other packages' types are their own packages' business.
func (w *apiWalker) check(name string, t types.Type) {
	switch t := t.(type) {
	case *types.Alias:
		w.checkObj(name, t.Obj())
		w.check(name, t.Rhs())
	case *types.Named:
		w.checkObj(name, t.Obj())
		for i := range t.TypeArgs().Len() {
			w.check(name, t.TypeArgs().At(i))
		}
		if t.Obj().Pkg() == w.pkg && !t.Obj().Exported() && !w.seen[t] {
			w.seen[t] = true
			w.typeAPI(name, t)
		}
	case *types.Pointer:
		w.check(name, t.Elem())
	case *types.Slice:
		w.check(name, t.Elem())
	case *types.Array:
		w.check(name, t.Elem())
	case *types.Map:
		w.check(name, t.Key())
		w.check(name, t.Elem())
	case *types.Chan:
		w.check(name, t.Elem())
	case *types.Signature:
		if tps := t.TypeParams(); tps != nil {
			for i := range tps.Len() {
				w.check(name, tps.At(i).Constraint())
			}
		}
		for _, tup := range []*types.Tuple{t.Params(), t.Results()} {
			for i := range tup.Len() {
				w.check(name, tup.At(i).Type())
			}
		}
	case *types.Struct:
		for i := range t.NumFields() {
			if f := t.Field(i); f.Exported() || f.Embedded() {
				w.check(name+"."+f.Name(), f.Type())
			}
		}
	case *types.Interface:
		for i := range t.NumEmbeddeds() {
			w.check(name, t.EmbeddedType(i))
		}
		for i := range t.NumExplicitMethods() {
			if m := t.ExplicitMethod(i); m.Exported() {
				w.check(name+"."+m.Name(), m.Type())
			}
		}
	case *types.Union:
		for i := range t.Len() {
			w.check(name, t.Term(i).Type())
		}
	case *types.TypeParam, *types.Basic, *types.Tuple, nil:
	}
}

func (w *apiWalker) checkObj(name string, obj *types.TypeName) {
	if obj.Pkg() == nil {
		return
	}
	path := obj.Pkg().Path()
	leak := name + " names " + path + "." + obj.Name()
	if strings.Contains(path, "/internal/") && !slices.Contains(w.leaks, leak) {
		w.leaks = append(w.leaks, leak)
	}
}
