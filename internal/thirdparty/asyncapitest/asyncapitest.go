// Package asyncapitest checks an AsyncAPI document with third-party
// tools, so that tests do not take the framework's word for its own
// document: Validate runs the AsyncAPI initiative's parser (npm
// @asyncapi/parser, installed in testdata/parser by .ci/run with npm ci)
// on it under Node, and Messages checks real messages against its payload
// schemas with a JSON Schema validator (pb33f/jsonschema).
package asyncapitest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/pb33f/jsonschema/v6"

	"github.com/fastapi-easy/easy-go/internal/testkit"
)

// Diagnostic is one finding of the parser. Severity is the parser's: 0
// error, 1 warning, 2 information, 3 hint.
type Diagnostic struct {
	Severity int    `json:"severity"`
	Code     string `json:"code"`
	Message  string `json:"message"`
	Path     []any  `json:"path"`
}

// parserDir is the folder of the npm package that holds the parser.
func parserDir() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "testdata", "parser")
}

// Validate parses doc (JSON or YAML) with @asyncapi/parser and fails t
// on every error and warning it reports; it returns every diagnostic.
// Without Node or the installed parser it skips t, or fails it under
// EASY_TEST_REQUIRE=all.
func Validate(t testing.TB, doc []byte) []Diagnostic {
	t.Helper()
	node, err := exec.LookPath("node")
	if err != nil {
		testkit.Unavailable(t, "node is not on PATH: the AsyncAPI parser runs under Node")
	}
	dir := parserDir()
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "@asyncapi", "parser")); err != nil {
		testkit.Unavailable(t, "the AsyncAPI parser is not installed: run npm ci in "+dir)
	}
	cmd := exec.Command(node, "validate.mjs")
	cmd.Dir = dir
	cmd.Stdin = bytes.NewReader(doc)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("asyncapitest: the parser failed: %v\n%s", err, stderr.String())
	}
	var diags []Diagnostic
	if err := json.Unmarshal(out, &diags); err != nil {
		t.Fatalf("asyncapitest: the parser's output: %v\n%s", err, out)
	}
	for _, d := range diags {
		line := fmt.Sprintf("%s at %v: %s", d.Code, d.Path, d.Message)
		if d.Severity <= 1 {
			t.Errorf("asyncapitest: the parser reports (severity %d) %s", d.Severity, line)
			continue
		}
		t.Logf("asyncapitest: the parser notes (severity %d) %s", d.Severity, line)
	}
	return diags
}

// Checker checks messages against the payload schemas of a document.
type Checker struct {
	doc      map[string]any
	compiler *jsonschema.Compiler
	schemas  map[string]*jsonschema.Schema
}

const docURL = "file:///asyncapi.json"

// Messages reads doc, a document as JSON, for Check.
func Messages(t testing.TB, doc []byte) *Checker {
	t.Helper()
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(doc))
	if err != nil {
		t.Fatalf("asyncapitest: read document: %v", err)
	}
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft7) // AsyncAPI's schemas are a superset of draft 7
	c.AssertFormat()
	if err := c.AddResource(docURL, v); err != nil {
		t.Fatalf("asyncapitest: %v", err)
	}
	m, _ := v.(map[string]any)
	return &Checker{doc: m, compiler: c, schemas: map[string]*jsonschema.Schema{}}
}

// Check reports whether msg is valid as the message name of channel: its
// payload schema must exist, compile and accept msg.
func (c *Checker) Check(channel, name string, msg []byte) error {
	loc := "#/channels/" + channel + "/messages/" + name + "/payload"
	sch, ok := c.schemas[loc]
	if !ok {
		chs, _ := c.doc["channels"].(map[string]any)
		ch, _ := chs[channel].(map[string]any)
		msgs, _ := ch["messages"].(map[string]any)
		m, _ := msgs[name].(map[string]any)
		if _, ok := m["payload"]; !ok {
			return fmt.Errorf("the document has no payload for message %s of channel %s", name, channel)
		}
		var err error
		if sch, err = c.compiler.Compile(docURL + loc); err != nil {
			return fmt.Errorf("compile %s: %w", loc, err)
		}
		c.schemas[loc] = sch
	}
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(msg))
	if err != nil {
		return fmt.Errorf("message %s is not JSON: %w", msg, err)
	}
	if err := sch.Validate(v); err != nil {
		return fmt.Errorf("message %s of %s: %s", strings.TrimSpace(string(msg)), loc, err)
	}
	return nil
}
