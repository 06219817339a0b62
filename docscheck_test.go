package easy_test

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/scanner"
	"go/token"
	"go/types"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/fastapi-easy/easy-go/internal/testkit"
)

// docPackages are the packages a fragment may name without importing
// them, by the name it uses.
var docPackages = map[string]string{
	"easy":      "github.com/fastapi-easy/easy-go/easy",
	"crud":      "github.com/fastapi-easy/easy-go/easy/crud",
	"migrate":   "github.com/fastapi-easy/easy-go/easy/migrate",
	"observe":   "github.com/fastapi-easy/easy-go/easy/observe",
	"openapi":   "github.com/fastapi-easy/easy-go/easy/openapi",
	"problem":   "github.com/fastapi-easy/easy-go/easy/problem",
	"query":     "github.com/fastapi-easy/easy-go/easy/query",
	"ratelimit": "github.com/fastapi-easy/easy-go/easy/ratelimit",
	"security":  "github.com/fastapi-easy/easy-go/easy/security",
	"ws":        "github.com/fastapi-easy/easy-go/easy/ws",

	"context": "context",
	"embed":   "embed",
	"errors":  "errors",
	"fmt":     "fmt",
	"fs":      "io/fs",
	"http":    "net/http",
	"io":      "io",
	"json":    "encoding/json",
	"log":     "log",
	"os":      "os",
	"rsa":     "crypto/rsa",
	"slog":    "log/slog",
	"strings": "strings",
	"sync":    "sync",
	"time":    "time",

	"bcrypt":     "golang.org/x/crypto/bcrypt",
	"chi":        "github.com/go-chi/chi/v5",
	"cors":       "github.com/go-chi/cors",
	"gorm":       "gorm.io/gorm",
	"jwt":        "github.com/golang-jwt/jwt/v5",
	"middleware": "github.com/go-chi/chi/v5/middleware",
	"otel":       "go.opentelemetry.io/otel",
	"postgres":   "gorm.io/driver/postgres",
	"prometheus": "github.com/prometheus/client_golang/prometheus",
	"redis":      "github.com/redis/go-redis/v9",
	"sqlite":     "gorm.io/driver/sqlite",
	"websocket":  "github.com/coder/websocket",
}

// docPrelude declares what the docs name throughout without declaring
// it: the App every sample adds to, the context of a request, and the JWT
// configuration of the security samples.
var docPrelude = map[string]string{
	"app": "var app *easy.App",
	"ctx": "var ctx context.Context",
	"cfg": "var cfg security.JWTConfig",
}

// A docChecker type-checks the Go samples of Markdown documents.
//
// A sample that starts with a package clause is a whole file and is
// checked as it is: every error counts.
//
// Any other sample is a fragment. Its declarations that start at column 0
// with type, func, var or const go to the file level, the rest into the
// body of a function; it imports the [docPackages] it names, and an
// elision, a line of "..." or a "{ ... }", stands for a panic. It sees what
// the blocks before it in the same document declared (types and their
// methods as written, other names as variables of the type the checker
// gave them) and the [docPrelude]. Errors that come from what a fragment
// leaves to its prose are not reported:
//   - an undefined plain identifier ("undefined: user"; but "undefined:
//     crud.Scope" is reported),
//   - "declared and not used" and "imported and not used",
//   - an error about a type made invalid by such an identifier,
//   - a missing return (the rest of the body was elided), and a return of
//     the fragment itself, which is the body of a function not shown.
type docChecker struct {
	fset *token.FileSet
	imp  types.Importer
}

func newDocChecker(t *testing.T) *docChecker {
	t.Helper()
	paths := make([]string, 0, len(docPackages))
	for _, p := range docPackages {
		paths = append(paths, p)
	}
	exports := testkit.Exports(t, paths...)
	for name, p := range docPackages {
		if exports[p] == "" {
			t.Fatalf("no export data for %s (%s), which samples may name", p, name)
		}
	}
	fset := token.NewFileSet()
	return &docChecker{fset: fset, imp: testkit.Importer(fset, exports)}
}

type sampleCount struct{ files, fragments int }

// A sample is one ```go block of a document.
type sample struct {
	doc   string // as the test names it: README.md, docs/crud.md
	line  int    // of the first line of code, after the fence
	lines int
	code  string
}

// in reports whether pos, as line directives map it, is in s.
func (s sample) in(pos token.Position) bool {
	return pos.Filename == s.doc && pos.Line >= s.line && pos.Line < s.line+s.lines
}

// wholeFile reports whether s starts with a package clause.
func (s sample) wholeFile() bool {
	for line := range strings.Lines(s.code) {
		line = strings.TrimSpace(line)
		if line != "" && !strings.HasPrefix(line, "//") {
			return strings.HasPrefix(line, "package ")
		}
	}
	return false
}

// samples returns the ```go blocks of md, indented or not.
func samples(doc, md string) []sample {
	var out []sample
	var cur *sample
	indent := ""
	for i, line := range strings.Split(md, "\n") {
		trimmed := strings.TrimLeft(line, " \t")
		fence := strings.HasPrefix(trimmed, "```")
		switch {
		case cur == nil && fence:
			cur = &sample{} // another language: skipped to its end
			if info := strings.Fields(strings.TrimPrefix(trimmed, "```")); len(info) > 0 && info[0] == "go" {
				cur = &sample{doc: doc, line: i + 2}
				indent = line[:len(line)-len(trimmed)]
			}
		case cur != nil && fence && strings.TrimSpace(trimmed) == "```":
			if cur.doc != "" {
				out = append(out, *cur)
			}
			cur = nil
		case cur != nil && cur.doc != "":
			cur.code += strings.TrimPrefix(line, indent) + "\n"
			cur.lines++
		}
	}
	return out
}

// checkDoc checks the samples of one document in order and returns their
// errors as "doc:line:col: message".
func (c *docChecker) checkDoc(doc, md string) (errs []string, n sampleCount) {
	known := map[string]string{} // what earlier blocks declared: name (or type.method) to source
	for name, src := range docPrelude {
		known[name] = directive("prelude", 1) + src + "\n"
	}
	for _, s := range samples(doc, md) {
		if s.wholeFile() {
			n.files++
		} else {
			n.fragments++
		}
		errs = append(errs, c.check(s, known)...)
	}
	return errs, n
}

// check checks one sample with what earlier blocks left in known, and
// adds to known what it declares.
func (c *docChecker) check(s sample, known map[string]string) []string {
	whole := s.wholeFile()
	src := directive(s.doc, s.line) + s.code
	if !whole {
		top, body := chunks(s)
		// Parsed alone first, for the names it declares at file level:
		// they hide what earlier blocks declared.
		f, err := parser.ParseFile(c.fset, "assembled.go", assemble(s.doc, "", nil, top, body), parser.SkipObjectResolution)
		if err != nil {
			return parseErrors(s, err)
		}
		own := fileNames(f)
		var earlier []string
		for name, src := range known {
			typ, _, _ := strings.Cut(name, ".") // a method goes with its type
			if !own[typ] {
				earlier = append(earlier, src)
			}
		}
		slices.Sort(earlier)
		f, _ = parser.ParseFile(c.fset, "assembled.go", assemble(s.doc, "", earlier, top, body), parser.SkipObjectResolution)
		src = assemble(s.doc, imports(f, own), earlier, top, body)
	}
	f, err := parser.ParseFile(c.fset, "assembled.go", src, parser.ParseComments|parser.SkipObjectResolution)
	if err != nil {
		return parseErrors(s, err)
	}

	var found []types.Error
	conf := types.Config{Importer: c.imp, Error: func(err error) { found = append(found, err.(types.Error)) }}
	info := &types.Info{Scopes: map[ast.Node]*types.Scope{}, Defs: map[*ast.Ident]types.Object{}}
	pkg, _ := conf.Check(f.Name.Name, c.fset, []*ast.File{f}, info)

	undefined := map[string]bool{}
	for _, e := range found {
		if name, ok := strings.CutPrefix(e.Msg, "undefined: "); ok && !strings.Contains(name, ".") {
			undefined[name] = true
		}
	}
	returns := fragmentReturns(f)
	var out []string
	for _, e := range found {
		pos := c.fset.Position(e.Pos)
		if !s.in(pos) {
			continue // in what an earlier block declared: reported there
		}
		if !whole && fromContext(e, undefined, returns) {
			continue
		}
		out = append(out, fmt.Sprintf("%s: %s", pos, e.Msg))
	}
	c.carry(s, src, f, pkg, info, known)
	return out
}

// fromContext reports whether e comes from what a fragment leaves to its
// context rather than from its use of the API.
func fromContext(e types.Error, undefined map[string]bool, returns []ast.Node) bool {
	first, _, _ := strings.Cut(e.Msg, "\n") // the rest says what a call has and wants
	if name, ok := strings.CutPrefix(first, "undefined: "); ok && undefined[name] {
		return true
	}
	if strings.HasPrefix(first, "declared and not used") || strings.HasSuffix(first, "and not used") ||
		first == "missing return" || strings.Contains(first, "invalid type") {
		return true
	}
	for _, r := range returns {
		if r.Pos() <= e.Pos && e.Pos < r.End() {
			return true
		}
	}
	return false
}

// parseErrors returns the first syntax error, which the others follow
// from.
func parseErrors(s sample, err error) []string {
	e := err.(scanner.ErrorList)[0]
	pos := e.Pos
	if !s.in(pos) { // at the end of the function around it
		pos = token.Position{Filename: s.doc, Line: s.line + s.lines - 1}
	}
	return []string{fmt.Sprintf("%s: does not parse as Go (a block in another language needs its own label): %s", pos, e.Msg)}
}

// fileNames returns the names a fragment declares at file level.
func fileNames(f *ast.File) map[string]bool {
	names := map[string]bool{}
	for _, d := range f.Decls {
		switch d := d.(type) {
		case *ast.FuncDecl:
			if d.Recv == nil {
				names[d.Name.Name] = true
			}
		case *ast.GenDecl:
			for _, spec := range d.Specs {
				switch spec := spec.(type) {
				case *ast.TypeSpec:
					names[spec.Name.Name] = true
				case *ast.ValueSpec:
					for _, id := range spec.Names {
						names[id.Name] = true
					}
				}
			}
		}
	}
	delete(names, "_")
	return names
}

// imports returns the import declaration of the [docPackages] f names.
func imports(f *ast.File, own map[string]bool) string {
	var paths []string
	ast.Inspect(f, func(n ast.Node) bool {
		if sel, ok := n.(*ast.SelectorExpr); ok {
			if id, ok := sel.X.(*ast.Ident); ok && docPackages[id.Name] != "" && !own[id.Name] {
				paths = append(paths, strconv.Quote(docPackages[id.Name]))
			}
		}
		return true
	})
	slices.Sort(paths)
	paths = slices.Compact(paths)
	if len(paths) == 0 {
		return ""
	}
	return "import (\n\t" + strings.Join(paths, "\n\t") + "\n)\n\n"
}

// fragmentReturns returns the return statements of the function around a
// fragment's statements, not those of function literals in it.
func fragmentReturns(f *ast.File) []ast.Node {
	var out []ast.Node
	for _, d := range f.Decls {
		if fd, ok := d.(*ast.FuncDecl); ok && fd.Name.Name == "_" && fd.Recv == nil && fd.Body != nil {
			ast.Inspect(fd.Body, func(n ast.Node) bool {
				if r, ok := n.(*ast.ReturnStmt); ok {
					out = append(out, r)
				}
				_, lit := n.(*ast.FuncLit)
				return !lit
			})
		}
	}
	return out
}

// carry records in known what sample s declared, for the blocks after it:
// types and their methods as written, other names as variables of the
// type the checker gave them, when it could.
func (c *docChecker) carry(s sample, src string, f *ast.File, pkg *types.Package, info *types.Info, known map[string]string) {
	tf := c.fset.File(f.Pos())
	text := func(prefix string, n ast.Node) string {
		pos := c.fset.Position(n.Pos())
		return directive(pos.Filename, pos.Line) + prefix + src[tf.Offset(n.Pos()):tf.Offset(n.End())]
	}
	var objects []types.Object
	for _, d := range f.Decls {
		if !s.in(c.fset.Position(d.Pos())) && !isWrapper(d) {
			continue
		}
		switch d := d.(type) {
		case *ast.GenDecl:
			for _, spec := range d.Specs {
				switch spec := spec.(type) {
				case *ast.TypeSpec:
					forget(known, spec.Name.Name)
					known[spec.Name.Name] = text("type ", spec)
				case *ast.ValueSpec:
					for _, id := range spec.Names {
						objects = append(objects, info.Defs[id])
					}
				}
			}
		case *ast.FuncDecl:
			switch {
			case d.Recv != nil:
				if recv := receiverName(d); recv != "" {
					known[recv+"."+d.Name.Name] = text("", d)
				}
			case isWrapper(d):
				scope := info.Scopes[d.Type]
				for _, name := range scope.Names() {
					if o := scope.Lookup(name); s.in(c.fset.Position(o.Pos())) {
						objects = append(objects, o)
					}
				}
			case d.Name.Name != "main" && d.Name.Name != "init":
				objects = append(objects, info.Defs[d.Name])
			}
		}
	}
	for _, o := range objects {
		if o == nil || o.Name() == "_" {
			continue
		}
		forget(known, o.Name())
		if typ, ok := carriedType(o, pkg); ok && docPackages[o.Name()] == "" {
			known[o.Name()] = directive("carried", 1) + fmt.Sprintf("var %s %s\n", o.Name(), typ)
		}
	}
}

// forget removes name from known, and its methods if it is a type.
func forget(known map[string]string, name string) {
	for k := range known {
		if k == name || strings.HasPrefix(k, name+".") {
			delete(known, k)
		}
	}
}

func isWrapper(d ast.Decl) bool {
	fd, ok := d.(*ast.FuncDecl)
	return ok && fd.Recv == nil && fd.Name.Name == "_"
}

// carriedType returns how o's type is written in another fragment, when
// it can be: not for an invalid type or a generic function, nor for one
// that names a package fragments do not import.
func carriedType(o types.Object, pkg *types.Package) (string, bool) {
	typ := types.Default(o.Type())
	if sig, ok := typ.(*types.Signature); ok && sig.TypeParams().Len() > 0 {
		return "", false
	}
	ok := true
	s := types.TypeString(typ, func(p *types.Package) string {
		if p == pkg {
			return ""
		}
		ok = ok && docPackages[p.Name()] == p.Path()
		return p.Name()
	})
	return s, ok && !strings.Contains(s, "invalid type")
}

func receiverName(d *ast.FuncDecl) string {
	t := d.Recv.List[0].Type
	if star, ok := t.(*ast.StarExpr); ok {
		t = star.X
	}
	if id, ok := t.(*ast.Ident); ok {
		return id.Name
	}
	return ""
}

// A chunk is a run of a fragment's lines: a declaration that starts at
// column 0 with the lines up to the next thing there, or statements.
type chunk struct {
	line int // in the document
	code string
}

// An elision stands for code: "{ ... }", or a line of "...", maybe with a
// comment after it.
var (
	elidedBlock = regexp.MustCompile(`\{\s*\.\.\.\s*\}`)
	elidedLine  = regexp.MustCompile(`^(\s*)\.\.\.(\s*//.*)?$`)
)

// chunks splits a fragment into declarations for the file level and
// statements for a function body.
func chunks(s sample) (top, body []chunk) {
	var cur *chunk
	curTop := false
	flush := func() {
		switch {
		case cur == nil:
		case curTop:
			top = append(top, *cur)
		default:
			body = append(body, *cur)
		}
		cur = nil
	}
	for i, line := range strings.Split(strings.TrimSuffix(s.code, "\n"), "\n") {
		line = elidedBlock.ReplaceAllString(line, `{ panic("elided") }`)
		line = elidedLine.ReplaceAllString(line, `${1}panic("elided")$2`)
		if line != "" && !strings.ContainsAny(line[:1], " \t})") { // something starts at column 0
			decl := false
			for _, kw := range []string{"type ", "func ", "var ", "const "} {
				decl = decl || strings.HasPrefix(line, kw)
			}
			if decl || curTop {
				flush()
				curTop = decl
			}
		}
		if cur == nil {
			cur = &chunk{line: s.line + i}
		}
		cur.code += line + "\n"
	}
	flush()
	return top, body
}

// assemble writes a fragment as a file: its imports, what earlier blocks
// declared, its file-level declarations and a function around the rest,
// each piece after a line directive that gives its place in the document.
func assemble(doc, imports string, earlier []string, top, body []chunk) string {
	var b strings.Builder
	b.WriteString("package sample\n\n" + imports)
	for _, c := range earlier {
		b.WriteString(c + "\n")
	}
	for _, c := range top {
		b.WriteString(directive(doc, c.line) + c.code)
	}
	b.WriteString(directive("fragment", 1) + "func _() {\n")
	for _, c := range body {
		b.WriteString(directive(doc, c.line) + c.code)
	}
	b.WriteString("}\n")
	return b.String()
}

// directive returns a line directive: what follows it is line line of
// file, from column 1.
func directive(file string, line int) string {
	return fmt.Sprintf("//line %s:%d:1\n", file, line)
}

// apiRef matches a name of the API in prose: a member of one of easy's
// packages, and maybe a field or method of it.
var apiRef = regexp.MustCompile(`\b(easy|crud|openapi|problem|query|ratelimit|security|ws)\.([A-Z]\w*)(?:\.([A-Z]\w*))?`)

// references checks the names of the API that md gives outside its ```go
// blocks (which checkDoc checks), and returns those that do not exist as
// "doc:line:col: message".
func (c *docChecker) references(doc, md string) []string {
	inSample := map[int]bool{} // line numbers, from 1
	for _, s := range samples(doc, md) {
		for l := s.line - 1; l <= s.line+s.lines; l++ { // with the fences
			inSample[l] = true
		}
	}
	var out []string
	for i, line := range strings.Split(md, "\n") {
		if inSample[i+1] {
			continue
		}
		for _, m := range apiRef.FindAllStringSubmatchIndex(line, -1) {
			at := fmt.Sprintf("%s:%d:%d: %s", doc, i+1, m[0]+1, line[m[0]:m[1]])
			name, member := line[m[2]:m[3]], line[m[4]:m[5]]
			pkg, err := c.imp.Import(docPackages[name])
			if err != nil {
				out = append(out, fmt.Sprintf("%s: %v", at, err))
				continue
			}
			obj := pkg.Scope().Lookup(member)
			if obj == nil || !obj.Exported() {
				out = append(out, fmt.Sprintf("%s: package %s has no such member", at, name))
				continue
			}
			if tn, ok := obj.(*types.TypeName); ok && m[6] >= 0 {
				sel := line[m[6]:m[7]]
				if o, _, _ := types.LookupFieldOrMethod(types.NewPointer(tn.Type()), true, pkg, sel); o == nil {
					out = append(out, fmt.Sprintf("%s: type %s.%s has no field or method %s", at, name, member, sel))
				}
			}
		}
	}
	return out
}
