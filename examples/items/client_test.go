package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/fastapi-easy/easy-go/internal/spectest"
)

// The generator and the runtime its code imports, pinned so that after the
// first run everything comes from the module cache.
const (
	oapiCodegen = "github.com/oapi-codegen/oapi-codegen/v2/cmd/oapi-codegen@v2.8.2"
	oapiRuntime = "github.com/oapi-codegen/runtime v1.9.0"
)

// A client that a third-party generator, oapi-codegen, builds from the
// app's OpenAPI document can create, filter, patch and delete items: the
// document is not only valid but enough to program against. The client
// program is testdata/client/main.go; it runs in a module of its own in a
// temporary directory, so that nothing it needs enters our go.mod.
func TestGeneratedClient(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a generated client with the go command")
	}
	goCmd, err := exec.LookPath("go")
	if err != nil {
		requireOrSkip(t, "the go command is not on PATH")
	}
	s := startServer(t, filepath.Join(t.TempDir(), "items.db"), "127.0.0.1:0")
	_, spec := spectest.Fetch(t, s.url+"/openapi.json")

	dir := t.TempDir()
	program, err := os.ReadFile(filepath.Join("testdata", "client", "main.go"))
	if err != nil {
		t.Fatal(err)
	}
	goMod := fmt.Sprintf("module itemsclient\n\ngo %s\n\nrequire %s\n", goVersion(t), oapiRuntime)
	for name, b := range map[string][]byte{"openapi.json": spec, "go.mod": []byte(goMod), "main.go": program} {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	run := func(args ...string) string {
		t.Helper()
		cmd := exec.CommandContext(ctx, goCmd, args...)
		cmd.Dir = dir
		// GOWORK=off: the temporary module is not part of any workspace
		// around it; -mod=mod lets go mod tidy write go.sum.
		cmd.Env = append(os.Environ(), "GOWORK=off", "GOFLAGS=-mod=mod", "GOTOOLCHAIN=local")
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		if err := cmd.Run(); err != nil {
			if unreachable(stderr.String()) {
				requireOrSkip(t, fmt.Sprintf("go %s: the module proxy is unreachable:\n%s", args[0], stderr.String()))
			}
			t.Fatalf("go %s: %v\n%s%s", strings.Join(args, " "), err, stdout.String(), stderr.String())
		}
		return stdout.String()
	}
	run("run", oapiCodegen, "-generate", "types,client", "-package", "main", "-o", "client.gen.go", "openapi.json")
	run("mod", "tidy")
	got := run("run", ".", s.url)

	want := "created 1 and 2; price__gt=5 listed 1 of 1; patched 1 to apple 12; deleted 2; reading it: 404\n"
	if got != want {
		t.Errorf("the client printed\n%swant\n%s", got, want)
	}
	var left []Item
	if err := s.app.DB().Order("id").Find(&left).Error; err != nil {
		t.Fatal(err)
	}
	if len(left) != 1 || left[0] != (Item{ID: 1, Name: "apple", Price: 12}) {
		t.Errorf("the table holds %+v, want only {1 apple 12}", left)
	}
}

// goVersion is the go line of our go.mod, for the client's module.
func goVersion(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	for line := range strings.Lines(string(b)) {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "go "); ok {
			return v
		}
	}
	t.Fatal("go.mod has no go line")
	return ""
}

// unreachable reports whether the go command failed to reach the network,
// from what it wrote to stderr.
func unreachable(stderr string) bool {
	for _, s := range []string{"dial tcp", "no such host", "connection refused", "i/o timeout",
		"network is unreachable", "TLS handshake timeout", "proxy.golang.org: 5", "GOPROXY=off"} {
		if strings.Contains(stderr, s) {
			return true
		}
	}
	return false
}

// requireOrSkip skips t for reason, or fails it when EASY_TEST_REQUIRE=all.
func requireOrSkip(t *testing.T, reason string) {
	t.Helper()
	if os.Getenv("EASY_TEST_REQUIRE") == "all" {
		t.Fatalf("%s, and EASY_TEST_REQUIRE=all", reason)
	}
	t.Skip(reason)
}
