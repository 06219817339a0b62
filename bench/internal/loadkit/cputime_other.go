//go:build !linux

package loadkit

import (
	"errors"
	"time"
)

// CPUTime returns the processor time that process pid has used; it reads
// a Linux process's CPU clock, and fails elsewhere.
func CPUTime(pid int) (time.Duration, error) {
	return 0, errors.New("loadkit: CPUTime needs Linux")
}
