package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
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
	args := []string{"serve", "-kind", strings.TrimSuffix(kind, "-sse"), "-db", db, "-sendqueue", strconv.Itoa(cfg.queue), "-heartbeat", cfg.beat.String()}
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

// rss reads the child's resident set size, in bytes, from /proc.
func (c *child) rss() (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", c.cmd.Process.Pid))
	if err != nil {
		return 0, err
	}
	for line := range bytes.Lines(b) {
		if v, ok := bytes.CutPrefix(line, []byte("VmRSS:")); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(string(v)), " kB"), 10, 64)
			return kb << 10, err
		}
	}
	return 0, fmt.Errorf("no VmRSS in /proc/%d/status", c.cmd.Process.Pid)
}

// stop closes the child's input, which shuts it down, and waits for it
// to exit; a child that takes longer than 15 seconds is killed.
func (c *child) stop() error {
	c.in.Close()
	// The goroutine ends when the child, which this function kills at
	// the latest, has exited.
	go func() { c.exits <- c.cmd.Wait() }()
	select {
	case err := <-c.exits:
		return err
	case <-time.After(15 * time.Second):
		c.cmd.Process.Kill()
		<-c.exits
		return fmt.Errorf("the %s server did not stop in 15s and was killed", c.kind)
	}
}

// cpuTime returns the processor time, user and system, that process pid
// has used, read from /proc/PID/stat (in USER_HZ, 100 a second on Linux).
func cpuTime(pid int) (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// The fields after the command name, which is in parentheses and may
	// hold anything, start with the state (field 3); utime and stime are
	// fields 14 and 15.
	i := bytes.LastIndexByte(b, ')')
	fields := strings.Fields(string(b[i+1:]))
	if i < 0 || len(fields) < 13 {
		return 0, fmt.Errorf("/proc/%d/stat: unexpected format", pid)
	}
	var ticks int64
	for _, f := range fields[11:13] {
		n, err := strconv.ParseInt(f, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("/proc/%d/stat: %w", pid, err)
		}
		ticks += n
	}
	return time.Duration(ticks) * time.Second / 100, nil
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
	m.server, _ = cpuTime(m.pid)
	m.local, _ = cpuTime(os.Getpid())
	return m
}

// stop returns the shares of one processor (1 is a whole one) used since
// start.
func (m cpuMeter) stop() (server, local float64) {
	wall := time.Since(m.start).Seconds()
	s, _ := cpuTime(m.pid)
	l, _ := cpuTime(os.Getpid())
	return (s - m.server).Seconds() / wall, (l - m.local).Seconds() / wall
}
