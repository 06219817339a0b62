package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/fastapi-easy/easy-go/bench/internal/loadkit"
)

// child is a server under test, running as a child process.
type child struct {
	kind  string
	addr  string // 127.0.0.1:PORT
	cmd   *exec.Cmd
	in    io.WriteCloser
	out   *bufio.Reader
	exits chan error // gets cmd.Wait's result
}

// startChild starts cfg.exe as a server of kind on a new database and
// waits for its address. memRate, when not 0, sets the child's
// runtime.MemProfileRate.
func startChild(cfg config, kind string, memRate int) (*child, error) {
	dir, err := os.MkdirTemp(cfg.dir, kind)
	if err != nil {
		return nil, err
	}
	db := filepath.Join(dir, "items.db")
	args := []string{"serve", "-kind", serverKind(kind), "-db", db, "-sendqueue", strconv.Itoa(cfg.queue), "-heartbeat", cfg.beat.String()}
	if memRate > 0 {
		args = append(args, "-memprofilerate", strconv.Itoa(memRate))
	}
	cmd := exec.Command(cfg.exe, args...)
	cmd.Stderr = os.Stderr
	in, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	outPipe, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start server: %w", err)
	}
	c := &child{kind: kind, cmd: cmd, in: in, out: bufio.NewReader(outPipe), exits: make(chan error, 1)}
	line, err := c.readLine(30 * time.Second)
	addr, ok := strings.CutPrefix(line, "addr ")
	if err != nil || !ok {
		c.stop()
		return nil, fmt.Errorf("server did not give its address: %q %v", line, err)
	}
	c.addr = addr
	return c, nil
}

// readLine reads the child's next line of output, waiting at most d.
func (c *child) readLine(d time.Duration) (string, error) {
	type result struct {
		line string
		err  error
	}
	ch := make(chan result, 1)
	// The goroutine ends with the read, at the latest when the child
	// exits and its stdout closes.
	go func() {
		line, err := c.out.ReadString('\n')
		ch <- result{strings.TrimSpace(line), err}
	}()
	select {
	case r := <-ch:
		return r.line, r.err
	case <-time.After(d):
		return "", fmt.Errorf("no answer from the %s server in %s", c.kind, d)
	}
}

// do sends a command (see serve) and returns the child's answer.
func (c *child) do(cmd string) (string, error) {
	if _, err := fmt.Fprintln(c.in, cmd); err != nil {
		return "", err
	}
	line, err := c.readLine(60 * time.Second)
	if err == nil && strings.HasPrefix(line, "error ") {
		err = fmt.Errorf("%s server: %s: %s", c.kind, cmd, line)
	}
	return line, err
}

func (c *child) stats() (runtimeStats, error) {
	var s runtimeStats
	line, err := c.do("stats")
	if err != nil {
		return s, err
	}
	return s, json.Unmarshal([]byte(line), &s)
}

// stop closes the child's input, which shuts it down, and waits for it
// to exit; a child that takes longer than 15 seconds is killed.
func (c *child) stop() error {
	c.in.Close()
	// The goroutine ends when the child, which this function kills at
	// the latest, has exited.
	go func() { c.exits <- c.cmd.Wait() }()
	killed, err := loadkit.Stop(c.cmd.Process, c.exits, 15*time.Second)
	if killed {
		return fmt.Errorf("the %s server did not stop in 15s and was killed", c.kind)
	}
	return err
}

// cpuMeter measures the share of a processor the server and wsload itself
// use over a window.
type cpuMeter struct {
	pid           int
	start         time.Time
	server, local time.Duration
}

func startCPU(c *child) cpuMeter {
	m := cpuMeter{pid: c.cmd.Process.Pid, start: time.Now()}
	m.server, _ = loadkit.CPUTime(m.pid)
	m.local, _ = loadkit.CPUTime(os.Getpid())
	return m
}

// stop returns the shares of one processor (1 is a whole one) used since
// start.
func (m cpuMeter) stop() (server, local float64) {
	wall := time.Since(m.start).Seconds()
	s, _ := loadkit.CPUTime(m.pid)
	l, _ := loadkit.CPUTime(os.Getpid())
	return (s - m.server).Seconds() / wall, (l - m.local).Seconds() / wall
}
