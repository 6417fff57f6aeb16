// Package procstat reads a process's resident memory from Linux's /proc and
// its CPU time from getrusage, for the tools and tests that measure the
// server (cmd/loadgen, cmd/sigload, cmd/floor, the memory tests of signal and
// sfu).
package procstat

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
)

// ErrNoRSS is RSSKB's answer for a status file without a VmRSS line (a
// kernel thread, or not Linux's format).
var ErrNoRSS = errors.New("procstat: no VmRSS line")

// RSSKB is the resident set of process pid (0: this process) in KiB, as
// the VmRSS line of /proc/<pid>/status gives it.
func RSSKB(pid int) (int64, error) {
	path := "/proc/self/status"
	if pid != 0 {
		path = fmt.Sprintf("/proc/%d/status", pid)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	return parseRSS(string(b))
}

// parseRSS finds "VmRSS:   12345 kB" in a status file's text.
func parseRSS(status string) (int64, error) {
	for _, line := range strings.Split(status, "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			if err != nil {
				return 0, fmt.Errorf("procstat: VmRSS %q: %w", strings.TrimSpace(v), err)
			}
			return kb, nil
		}
	}
	return 0, ErrNoRSS
}
