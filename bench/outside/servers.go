package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/fastapi-easy/easy-go/bench/internal/loadkit"
	"github.com/fastapi-easy/easy-go/bench/outside/probe"
)

// The two servers, each a binary of its own.
var kinds = []string{"easy", "hand"}

// The servers' packages: observedserver is in internal/thirdparty, the
// module that has the OpenTelemetry SDK, which the workspace builds too.
var packages = map[string]string{
	"easy":     "github.com/fastapi-easy/easy-go/bench/outside/easyserver",
	"hand":     "github.com/fastapi-easy/easy-go/bench/outside/handserver",
	"observed": "github.com/fastapi-easy/easy-go/internal/thirdparty/observe/observedserver",
}

// build builds each server of names into dir with the go command and
// returns the binaries by name.
func build(ctx context.Context, goCmd, dir string, names ...string) (map[string]string, error) {
	bins := make(map[string]string)
	for _, kind := range names {
		bin := filepath.Join(dir, kind+"server")
		out, err := exec.CommandContext(ctx, goCmd, "build", "-o", bin, packages[kind]).CombinedOutput()
		if err != nil {
			return nil, fmt.Errorf("go build %s: %w\n%s", packages[kind], err, out)
		}
		bins[kind] = bin
	}
	return bins, nil
}

// server is a server under test, running as a process of its own on a
// fresh SQLite file.
type server struct {
	kind  string
	addr  string // the API's HOST:PORT
	probe string // the probe's HOST:PORT
	cmd   *exec.Cmd
	exits chan error // gets cmd.Wait's result
}

var serverCount struct {
	sync.Mutex
	n int
}

// binary is the server binary that runs as kind: easyserver in both
// columns with -vs nooutbox; observedserver in the easy column and
// easyserver in the hand one with -vs observe.
func binary(cfg config, kind string) string {
	switch {
	case cfg.vs == "nooutbox", cfg.vs == "observe" && kind == "hand":
		return cfg.bins["easy"]
	case cfg.vs == "observe":
		return cfg.bins["observed"]
	}
	return cfg.bins[kind]
}

// start starts the server of kind on a new database in cfg.dir and
// waits for its addresses. env is added to its environment.
func start(cfg config, kind string, env ...string) (*server, error) {
	serverCount.Lock()
	serverCount.n++
	db := filepath.Join(cfg.dir, fmt.Sprintf("%s-%d.db", kind, serverCount.n))
	serverCount.Unlock()
	var cmd *exec.Cmd
	switch bin := binary(cfg, kind); bin {
	case cfg.bins["hand"]:
		cmd = exec.Command(bin, "-db", db, "-pool", cfg.handPool)
	default: // package cardapp's program
		cmd = exec.Command(bin)
		env = append(env, "DATABASE_URL=sqlite:"+db)
		if kind == "hand" && cfg.vs == "nooutbox" {
			env = append(env, "EASYSERVER_NO_OUTBOX=1")
		}
	}
	cmd.Env = append(os.Environ(), env...)
	// What the server logs (easy logs the requests that wrk cuts short
	// at the end of a run) goes to a file beside its database.
	logFile, err := os.Create(strings.TrimSuffix(db, ".db") + ".log")
	if err != nil {
		return nil, err
	}
	defer logFile.Close() // the child has its own descriptor
	cmd.Stderr = logFile
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start the %s server: %w", kind, err)
	}
	s := &server{kind: kind, cmd: cmd, exits: make(chan error, 1)}
	// The waiter ends when the process does; stop makes sure it does.
	go func() { s.exits <- cmd.Wait() }()
	lines := make(chan string, 2)
	// The reader ends when the process closes its standard output.
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			select {
			case lines <- sc.Text():
			default: // nothing more is expected
			}
		}
		io.Copy(io.Discard, out)
	}()
	timeout := time.After(30 * time.Second)
	for s.addr == "" || s.probe == "" {
		select {
		case line := <-lines:
			if v, ok := strings.CutPrefix(line, "addr "); ok {
				s.addr = v
			} else if v, ok := strings.CutPrefix(line, "probe "); ok {
				s.probe = v
			}
		case err := <-s.exits:
			log, _ := os.ReadFile(logFile.Name())
			return nil, fmt.Errorf("the %s server exited before it served: %v\n%s", kind, err, log)
		case <-timeout:
			s.stop()
			return nil, fmt.Errorf("the %s server gave no address in 30s", kind)
		}
	}
	return s, nil
}

// stop sends SIGTERM and waits for the server to exit; one that takes
// longer than 15 seconds is killed.
func (s *server) stop() error {
	s.cmd.Process.Signal(syscall.SIGTERM)
	killed, err := loadkit.Stop(s.cmd.Process, s.exits, 15*time.Second)
	if killed {
		return fmt.Errorf("the %s server did not stop in 15s and was killed", s.kind)
	}
	return err
}

var probeClient = &http.Client{Timeout: 2 * time.Minute}

// stats reads the server's runtime counters.
func (s *server) stats() (probe.Stats, error) {
	var st probe.Stats
	res, err := probeClient.Get("http://" + s.probe + "/stats")
	if err != nil {
		return st, err
	}
	defer res.Body.Close()
	return st, json.NewDecoder(res.Body).Decode(&st)
}

// fetch saves what the probe serves at path into file.
func (s *server) fetch(path, file string) error {
	res, err := probeClient.Get("http://" + s.probe + path)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(res.Body)
		return fmt.Errorf("%s: %s %s", path, res.Status, b)
	}
	f, err := os.Create(file)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, res.Body); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
