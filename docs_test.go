package easy_test

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

// TestDocSamples type-checks every ```go block of README.md and
// docs/*.md against the packages of this module, so that a sample that
// calls what no longer exists, or calls it wrongly, fails here with its
// file and line. Fragments are checked with what they leave to their
// context: see [docChecker].
func TestDocSamples(t *testing.T) {
	start := time.Now()
	c := newDocChecker(t)
	listed := time.Since(start)
	var n sampleCount
	docs := readDocs(t)
	for _, d := range docs {
		errs, count := c.checkDoc(d.name, d.text)
		for _, e := range errs {
			t.Error(e)
		}
		n.files += count.files
		n.fragments += count.fragments
	}
	if n.files+n.fragments == 0 {
		t.Fatal("no ```go block in README.md or docs/*.md")
	}
	t.Logf("%d Go samples in %d documents: %d whole files, %d fragments; checked in %v, after %v listing export data",
		n.files+n.fragments, len(docs), n.files, n.fragments,
		(time.Since(start) - listed).Round(time.Millisecond), listed.Round(time.Millisecond))
}

// TestDocReferences checks that what the docs' prose names of the API,
// such as `easy.DB` in a table of options or `crud.Router.BeforeList`,
// exists.
func TestDocReferences(t *testing.T) {
	c := newDocChecker(t)
	for _, d := range readDocs(t) {
		for _, e := range c.references(d.name, d.text) {
			t.Error(e)
		}
	}
}

type doc struct{ name, text string }

// readDocs returns README.md and docs/*.md.
func readDocs(t *testing.T) []doc {
	t.Helper()
	names, err := filepath.Glob("docs/*.md")
	if err != nil {
		t.Fatal(err)
	}
	var docs []doc
	for _, name := range append([]string{"README.md"}, names...) {
		text, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		docs = append(docs, doc{name, string(text)})
	}
	return docs
}

// TestDocChecker pins what the sample checker reports and what it leaves
// to a fragment's context.
func TestDocChecker(t *testing.T) {
	cases := []struct {
		name string
		md   string
		want []string
	}{
		{"good fragment", "```go\n" +
			"type Out struct{ Name string }\n" +
			"\n" +
			"easy.Get(app, \"/out\", func(ctx context.Context, _ *easy.NoInput) (*Out, error) {\n" +
			"\treturn &Out{Name: \"x\"}, nil\n" +
			"}, easy.Summary(\"Read out\"))\n" +
			"```\n", nil},
		{"names left to the context", "```go\n" +
			"u, err := users.ByToken(ctx, token) // undefined, unused\n" +
			"easy.Post(app, \"/transfers\", func(ctx context.Context, in *TransferIn) (*Transfer, error) {\n" +
			"\tdb := tx.From(ctx)\n" +
			"\t// ... elided, so no return\n" +
			"})\n" +
			"if err != nil { ... }\n" +
			"return err\n" +
			"```\n", nil},
		{"undefined package member", "Prose.\n\n```go\n" +
			"app.Include(easy.CRUDRouter[Item](crud.Scope(\"owner\")))\n" +
			"```\n", []string{"x.md:4:40: undefined: crud.Scope"}},
		{"wrong argument type", "```go\n" +
			"easy.Get(app, \"/out\", readOut,\n" +
			"\teasy.Summary(42))\n" +
			"```\n", []string{"x.md:3:15: cannot use 42 (untyped int constant) as string value in argument to easy.Summary"}},
		{"wrong argument count", "```go\n" +
			"ws.NewManager().Watch()\n" +
			"```\n", []string{"x.md:2:23: not enough arguments in call to ws.NewManager().Watch\n\thave ()\n\twant (*easy.App, ...any)"}},
		{"no such method, on a name an earlier block declared", "```go\n" +
			"m := ws.NewManager()\n" +
			"```\n" +
			"\n" +
			"```go\n" +
			"m.Emit(\"items\")\n" +
			"```\n", []string{"x.md:6:3: m.Emit undefined (type *ws.Manager has no field or method Emit)"}},
		{"a type an earlier block declared", "```go\n" +
			"type Item struct{ Name string }\n" +
			"type Task struct{ Owner string }\n" +
			"```\n" +
			"\n" +
			"```go\n" +
			"easy.CRUDRouter[Task]().BeforeCreate(func(ctx context.Context, tx *gorm.DB, t *Item) error { return nil })\n" +
			"```\n", []string{"x.md:7:38: cannot use (func(ctx context.Context, tx *gorm.DB, t *Item) error literal) (value of type func(ctx context.Context, tx *gorm.DB, t *Item) error) as func(ctx context.Context, tx *gorm.DB, item *Task) error value in argument to easy.CRUDRouter[Task]().BeforeCreate"}},
		{"whole file", "```go\n" +
			"package main\n" +
			"\n" +
			"import \"github.com/fastapi-easy/easy-go/easy\"\n" +
			"\n" +
			"func main() {\n" +
			"\tapp := easy.New()\n" +
			"\tapp.Run()\n" +
			"}\n" +
			"```\n", []string{"x.md:8:10: not enough arguments in call to app.Run\n\thave ()\n\twant (string)"}},
		{"not Go", "```go\n" +
			"$ go run .\n" +
			"```\n", []string{"x.md:2:1: does not parse as Go (a block in another language needs its own label): illegal character U+0024 '$'"}},
	}
	c := newDocChecker(t)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, _ := c.checkDoc("x.md", tc.md)
			if !slices.Equal(got, tc.want) {
				t.Errorf("got\n\t%q\nwant\n\t%q", got, tc.want)
			}
		})
	}
}

// TestDocReferencesChecker pins what the check of the prose reports.
func TestDocReferencesChecker(t *testing.T) {
	const md = "Give `easy.DB(db)`, or `easy.WithDatabase(db)`; see crud.Router.BeforeList\n" +
		"and crud.Router.BeforeQuery. A file easy.db, and easy.App.\n" +
		"```go\n" +
		"easy.Nope() // a sample: TestDocSamples checks it\n" +
		"```\n" +
		"```js\n" +
		"ws.Nope()\n" +
		"```\n"
	want := []string{
		"x.md:1:25: easy.WithDatabase: package easy has no such member",
		"x.md:2:5: crud.Router.BeforeQuery: type crud.Router has no field or method BeforeQuery",
		"x.md:7:1: ws.Nope: package ws has no such member",
	}
	got := newDocChecker(t).references("x.md", md)
	if !slices.Equal(got, want) {
		t.Errorf("got\n\t%q\nwant\n\t%q", got, want)
	}
}
