package main

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/fastapi-easy/easy-go/easy"
	"github.com/fastapi-easy/easy-go/easy/crud"
	"github.com/fastapi-easy/easy-go/easy/ws"
	"github.com/fastapi-easy/easy-go/internal/testkit"
	"github.com/fastapi-easy/easy-go/internal/thirdparty/spectest"
)

// The generator and the runtime its code imports, pinned so that after the
// first run everything comes from the module cache.
const (
	oapiCodegen = "github.com/oapi-codegen/oapi-codegen/v2/cmd/oapi-codegen@v2.8.2"
	oapiRuntime = "github.com/oapi-codegen/runtime v1.9.0"
)

// A client that a third-party generator, oapi-codegen, builds from the
// app's OpenAPI document can create, filter, patch and delete items, run
// batches, write with If-Match and walk a list by cursor: the document is
// not only valid but enough to program against. The client
// program is testdata/client/main.go; it runs in a module of its own in a
// temporary directory, so that nothing it needs enters our go.mod.
func TestGeneratedClient(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a generated client with the go command")
	}
	goCmd, err := exec.LookPath("go")
	if err != nil {
		testkit.Unavailable(t, "the go command is not on PATH")
	}
	s := startBatchServer(t, filepath.Join(t.TempDir(), "items.db"))
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

	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Minute)
	defer cancel()
	// run runs name in dir; download says that it fetches modules, so that
	// a failure to reach the module proxy skips the test rather than fails
	// it (unless EASY_TEST_REQUIRE=all).
	run := func(download bool, name string, args ...string) string {
		t.Helper()
		cmd := exec.CommandContext(ctx, name, args...)
		cmd.Dir = dir
		cmd.WaitDelay = 10 * time.Second // a child left holding the output cannot hold the test
		// GOWORK=off: the temporary module is not part of any workspace
		// around it; GOTOOLCHAIN=local: this go, not one go.mod asks for.
		cmd.Env = append(os.Environ(), "GOWORK=off", "GOTOOLCHAIN=local")
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		if err := cmd.Run(); err != nil {
			if download && proxyUnreachable(stderr.String()) {
				testkit.Unavailable(t, fmt.Sprintf("go %s: the module proxy is unreachable:\n%s", args[0], stderr.String()))
			}
			t.Fatalf("%s %s: %v\n%s%s", filepath.Base(name), strings.Join(args, " "), err, stdout.String(), stderr.String())
		}
		return stdout.String()
	}
	run(true, goCmd, "run", oapiCodegen, "-generate", "types,client", "-package", "main", "-o", "client.gen.go", "openapi.json")
	run(true, goCmd, "mod", "tidy")
	run(false, goCmd, "build", "-o", "client", ".")
	got := run(false, filepath.Join(dir, "client"), s.url)

	want := "created 1 and 2; price__gt=5 listed 1 of 1; patched 1 to apple 12; deleted 2; reading it: 404\n" +
		"batch answered [201 201 201 200]; a failing batch: 404 Operation 1: Item not found; If-Match stale: 412, current: 200; " +
		"cursor walk: [apple cherry date fig] in 2 pages\n"
	if got != want {
		t.Errorf("the client printed\n%swant\n%s", got, want)
	}
	var left []Item
	if err := s.app.DB().Order("id").Find(&left).Error; err != nil {
		t.Fatal(err)
	}
	if want := []Item{{1, "apple", 14}, {3, "cherry", 3}, {4, "date", 4}, {5, "fig", 5}}; !slices.Equal(left, want) {
		t.Errorf("the table holds %+v, want %+v", left, want)
	}
}

// startBatchServer is startServer for the app of newApp with batches
// turned on, which the client runs too.
func startBatchServer(t *testing.T, db string) *server {
	t.Helper()
	t.Setenv("DATABASE_URL", "sqlite:"+db)
	app := easy.New(easy.Title("Items", "1.0.0"), easy.Logger(slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))))
	if _, err := app.Database(); err != nil {
		t.Fatal(err)
	}
	app.Include(easy.CRUDRouter[Item](crud.Batch()))
	ws.Setup(app, Item{})
	mountDashboard(app)
	addr, _ := testkit.ServeOn(t, "127.0.0.1:0", app.Serve)
	return &server{url: "http://" + addr, addr: addr, app: app}
}

// goVersion is the go line of the examples' go.mod, for the client's module.
func goVersion(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "go.mod"))
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

// proxyUnreachable reports whether the go command failed to fetch a
// module, from what it wrote to stderr: a URL of the module proxy protocol
// (/@v/), the public proxy or checksum database, or fetching turned off.
func proxyUnreachable(stderr string) bool {
	for _, s := range []string{"/@v/", "proxy.golang.org", "sum.golang.org", "GOPROXY=off",
		"verifying module", "module lookup disabled"} {
		if strings.Contains(stderr, s) {
			return true
		}
	}
	return false
}
