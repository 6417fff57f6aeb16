//go:build unix

package procstat

import (
	"syscall"
	"time"
)

// CPUTime is the CPU time this process has used so far, user and system,
// as getrusage(RUSAGE_SELF) counts it: all its threads, none of its
// children, so a tool that runs its load in a child process measures only
// itself. The benchmarks divide its growth over a window by the packets
// sent in it.
func CPUTime() (user, sys time.Duration, err error) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0, 0, err
	}
	return time.Duration(ru.Utime.Nano()), time.Duration(ru.Stime.Nano()), nil
}
