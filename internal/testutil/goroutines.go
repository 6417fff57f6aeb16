package testutil

import (
	"fmt"
	"runtime"
	"testing"
	"time"
)

const (
	// stableTries and stableEvery bound StableGoroutines: up to 5 s for
	// the goroutines of connections closed a moment ago to wind down.
	stableTries = 100
	stableEvery = 50 * time.Millisecond
	// goroutineEvery is how often WaitGoroutines counts again.
	goroutineEvery = 10 * time.Millisecond
	// leakTimeout is how long LeakCheck waits for a test's goroutines to
	// wind down: connections closed a moment ago take a while, a leak
	// never ends.
	leakTimeout = 10 * time.Second
	// stackDumpBytes is how much of every goroutine's stack a leak report
	// shows: enough for a few hundred goroutines.
	stackDumpBytes = 1 << 20
)

// StableGoroutines returns the goroutine count once it has stopped falling
// (goroutines of connections closed a moment ago wind down asynchronously).
func StableGoroutines() int {
	n := runtime.NumGoroutine()
	for range stableTries {
		time.Sleep(stableEvery)
		m := runtime.NumGoroutine()
		if m >= n {
			return n
		}
		n = m
	}
	return n
}

// WaitGoroutines waits until at most max goroutines run; past timeout it
// returns an error that holds every goroutine's stack.
func WaitGoroutines(max int, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		n := runtime.NumGoroutine()
		if n <= max {
			return nil
		}
		if time.Now().After(deadline) {
			buf := make([]byte, stackDumpBytes)
			buf = buf[:runtime.Stack(buf, true)]
			return fmt.Errorf("goroutine leak: %d running, want at most %d\n%s", n, max, buf)
		}
		time.Sleep(goroutineEvery)
	}
}

// LeakCheck records the goroutine count now and, when the test ends (after
// every cleanup registered later, so after servers and clients closed),
// fails the test unless the count comes back down within leakTimeout. Call
// it first in a test.
func LeakCheck(t testing.TB) {
	t.Helper()
	before := runtime.NumGoroutine()
	t.Cleanup(func() {
		if err := WaitGoroutines(before, leakTimeout); err != nil {
			t.Error(err)
		}
	})
}
