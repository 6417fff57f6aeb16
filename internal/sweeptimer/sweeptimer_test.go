package sweeptimer

import (
	"sync"
	"testing"
	"time"
)

// A table with entries is swept on time with no other call, again while
// entries are left, and the timer disarms once the table is empty; a
// stopped timer never sweeps.
func TestSweepsUntilEmpty(t *testing.T) {
	var mu sync.Mutex
	var st Timer
	entries, sweeps := 3, 0
	sweep := func() int { sweeps++; entries--; return entries }
	mu.Lock()
	st.ArmLocked(&mu, 5*time.Millisecond, sweep)
	st.ArmLocked(&mu, 5*time.Millisecond, sweep) // armed already: no second timer
	mu.Unlock()
	deadline := time.Now().Add(2 * time.Second)
	for {
		mu.Lock()
		done, armed, n := entries == 0, st.Armed(), sweeps
		mu.Unlock()
		if done && !armed {
			if n != 3 {
				t.Errorf("%d sweeps for 3 entries, one each: want 3", n)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after 2 s: %d entries left, armed %v", entries, armed)
		}
		time.Sleep(time.Millisecond)
	}

	mu.Lock()
	entries = 1
	st.ArmLocked(&mu, 5*time.Millisecond, sweep)
	st.StopLocked()
	st.ArmLocked(&mu, 5*time.Millisecond, sweep)
	armed := st.Armed()
	mu.Unlock()
	time.Sleep(30 * time.Millisecond)
	mu.Lock()
	defer mu.Unlock()
	if armed || sweeps != 3 {
		t.Errorf("a stopped timer: armed %v, swept %d more times", armed, sweeps-3)
	}
}
