package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/fastapi-easy/easy-go/internal/testkit"
)

// TestTwoProcessesStartAtOnce builds the app and starts two processes of
// it at the same moment against a new database, twenty times, on a SQLite
// file and on PostgreSQL: both start and serve, log no error and exit
// cleanly on SIGTERM, and the database has its tables once, each
// migration applied once.
func TestTwoProcessesStartAtOnce(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the app with the go command")
	}
	const rounds = 20
	bin := buildApp(t)
	for _, kind := range []string{"sqlite", "postgres"} {
		t.Run(kind, func(t *testing.T) {
			for round := range rounds {
				t.Run(fmt.Sprint(round), func(t *testing.T) {
					url := "sqlite:" + filepath.Join(t.TempDir(), "items.db")
					if kind == "postgres" {
						url = testkit.PostgresDatabase(t)
					}
					var wg sync.WaitGroup
					start := make(chan struct{})
					for i := range 2 {
						wg.Go(func() {
							<-start
							if err := runOnce(bin, url); err != nil {
								t.Errorf("process %d: %v", i, err)
							}
						})
					}
					close(start)
					wg.Wait()
					checkSchema(t, url)
				})
			}
		})
	}
}

// buildApp builds the app into a temporary directory.
func buildApp(t *testing.T) string {
	t.Helper()
	goCmd, err := exec.LookPath("go")
	if err != nil {
		testkit.Unavailable(t, "the go command is not on PATH")
	}
	bin := filepath.Join(t.TempDir(), "items")
	out, err := exec.Command(goCmd, "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// serving is the line the app logs once it serves, with its address.
var serving = regexp.MustCompile(`easy: serving the API at .* addr=(\S+)`)

// runOnce starts the app on DATABASE_URL url, waits until it serves,
// lists the items, stops it with SIGTERM and checks that it exited with
// status 0, having logged no error.
func runOnce(bin, url string) error {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "-addr", "127.0.0.1:0")
	cmd.Env = append(os.Environ(), "DATABASE_URL="+url)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return err
	}
	if err := cmd.Start(); err != nil {
		return err
	}
	var log strings.Builder
	addr := make(chan string, 1)
	copied := make(chan struct{})
	go func() { // ends when the process closes its standard error
		defer close(copied)
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			log.WriteString(sc.Text() + "\n")
			if m := serving.FindStringSubmatch(sc.Text()); m != nil {
				addr <- m[1]
			}
		}
	}()
	var failure error
	select {
	case a := <-addr:
		failure = list("http://" + a + "/items")
		cmd.Process.Signal(syscall.SIGTERM)
	case <-copied:
		failure = fmt.Errorf("exited before serving")
	}
	<-copied
	if err := cmd.Wait(); err != nil && failure == nil {
		failure = fmt.Errorf("exit: %v", err)
	}
	if failure == nil && (strings.Contains(log.String(), "ERROR") || strings.Contains(log.String(), "panic")) {
		failure = fmt.Errorf("an error logged")
	}
	if failure != nil {
		return fmt.Errorf("%w; its log:\n%s", failure, log.String())
	}
	return nil
}

// list checks that GET url answers 200 with an empty list.
func list(url string) error {
	res, err := http.Get(url)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if res.StatusCode != 200 || string(b) != "[]" {
		return fmt.Errorf("GET /items: %d %s", res.StatusCode, b)
	}
	return nil
}

// checkSchema checks that the database of url has the app's table and
// goose's, and each migration recorded once.
func checkSchema(t *testing.T, url string) {
	t.Helper()
	db := testkit.OpenURL(t, url)
	if tables := testkit.Tables(t, db); !slices.Equal(tables, []string{"easy_outbox_items", "goose_db_version", "items"}) {
		t.Errorf("tables %q, want [easy_outbox_items goose_db_version items]", tables)
	}
	var versions []int
	if err := db.Raw("SELECT version_id FROM goose_db_version ORDER BY id").Scan(&versions).Error; err != nil || !slices.Equal(versions, []int{0, 1, 2}) {
		t.Errorf("goose_db_version %v (%v), want [0 1 2]", versions, err)
	}
}
