//go:build unix

package procstat

import (
	"testing"
	"time"
)

// spinFor is how much CPU time the test burns; spinDeadline bounds the wall
// time it may take on a loaded machine before the clock is called stuck.
const (
	spinFor      = 20 * time.Millisecond
	spinDeadline = 10 * time.Second
)

func TestCPUTimeGrowsWithWork(t *testing.T) {
	u0, s0, err := CPUTime()
	if err != nil {
		t.Fatal(err)
	}
	if u0 <= 0 {
		t.Fatalf("user time %v at the start of a running test", u0)
	}
	x := uint64(1)
	for start := time.Now(); ; {
		for range 1 << 16 {
			x = x*6364136223846793005 + 1442695040888963407
		}
		u, s, err := CPUTime()
		if err != nil {
			t.Fatal(err)
		}
		if u < u0 || s < s0 {
			t.Fatalf("CPU time went back: user %v -> %v, system %v -> %v", u0, u, s0, s)
		}
		if u-u0 >= spinFor {
			break
		}
		if time.Since(start) > spinDeadline {
			t.Fatalf("user time grew by %v in %v of spinning (x=%d)", u-u0, spinDeadline, x)
		}
	}
}
