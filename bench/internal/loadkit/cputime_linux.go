package loadkit

import (
	"fmt"
	"syscall"
	"time"
	"unsafe"
)

// CPUTime returns the processor time, user and system, that process pid
// has used, read from its CPU clock (clock_gettime), to the nanosecond.
// /proc/PID/stat counts it in ticks of 10 ms, which a short run of a
// light server can end without one more of.
func CPUTime(pid int) (time.Duration, error) {
	if pid <= 0 { // 0 and -1 would name the caller's own clocks
		return 0, fmt.Errorf("the CPU clock of process %d: no such process", pid)
	}
	// The clock id of a process's CPU clock, as glibc's
	// clock_getcpuclockid makes it: the pid, inverted, above
	// CPUCLOCK_SCHED (2), the scheduler's exact count.
	clock := ^uintptr(pid)<<3 | 2
	var ts syscall.Timespec
	if _, _, errno := syscall.Syscall(syscall.SYS_CLOCK_GETTIME, clock, uintptr(unsafe.Pointer(&ts)), 0); errno != 0 {
		return 0, fmt.Errorf("the CPU clock of process %d: %w", pid, errno)
	}
	return time.Duration(ts.Nano()), nil
}
