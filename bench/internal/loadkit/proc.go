package loadkit

import (
	"bytes"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// StatusBytes reads a size field of /proc/PID/status, such as VmRSS
// (resident memory) or VmHWM (its peak), in bytes.
func StatusBytes(pid int, field string) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for line := range bytes.Lines(b) {
		if v, ok := bytes.CutPrefix(line, []byte(field+":")); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(string(v)), " kB"), 10, 64)
			return kb << 10, err
		}
	}
	return 0, fmt.Errorf("no %s in /proc/%d/status", field, pid)
}

// RSS reads process pid's resident set size, in bytes.
func RSS(pid int) (int64, error) { return StatusBytes(pid, "VmRSS") }

// WriteCalls returns how many write system calls (write, writev,
// sendto …) process pid has made: syscw in /proc/PID/io.
func WriteCalls(pid int) (uint64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/io", pid))
	if err != nil {
		return 0, err
	}
	for line := range bytes.Lines(b) {
		if v, ok := bytes.CutPrefix(line, []byte("syscw:")); ok {
			return strconv.ParseUint(string(bytes.TrimSpace(v)), 10, 64)
		}
	}
	return 0, fmt.Errorf("no syscw in /proc/%d/io", pid)
}

// LoadAvg returns the machine's load averages over 1, 5 and 15 minutes,
// from /proc/loadavg, as the kernel writes them: the machine is shared,
// and what else runs on it shows in the numbers.
func LoadAvg() ([3]string, error) {
	var avg [3]string
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return avg, err
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return avg, fmt.Errorf("/proc/loadavg: %d fields", len(f))
	}
	copy(avg[:], f)
	return avg, nil
}

// RaiseFileLimit raises the soft limit on open files to the hard one:
// thousands of sockets need it.
func RaiseFileLimit() error {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return fmt.Errorf("getrlimit: %w", err)
	}
	if lim.Cur < lim.Max {
		lim.Cur = lim.Max
		if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
			return fmt.Errorf("setrlimit: %w", err)
		}
	}
	return nil
}

// Stop waits for a server process that has been asked to end (sent a
// signal, its input closed) and kills it if it has not exited within
// grace. exits gets the result of the process's cmd.Wait. killed reports
// whether it had to be killed; err is what Wait returned otherwise.
func Stop(p *os.Process, exits <-chan error, grace time.Duration) (killed bool, err error) {
	t := time.NewTimer(grace)
	defer t.Stop()
	select {
	case err := <-exits:
		return false, err
	case <-t.C:
		p.Kill()
		<-exits
		return true, nil
	}
}
