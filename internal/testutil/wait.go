package testutil

import (
	"testing"
	"time"
)

// pollEvery is how often a condition is asked again: short against the
// deadlines tests use (seconds), long enough not to spin a core.
const pollEvery = 5 * time.Millisecond

// settleEvery is how often Settled reads its count.
const settleEvery = 10 * time.Millisecond

// Eventually polls cond until it holds (true) or timeout has passed (false).
func Eventually(timeout time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(pollEvery)
	}
	return true
}

// WaitFor polls cond until it holds, and fails the test if timeout passes
// first; what names the condition in the failure.
func WaitFor(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	if !Eventually(timeout, cond) {
		t.Fatalf("timed out after %v waiting for %s", timeout, what)
	}
}

// Settled waits until count has not changed for quiet (packets still on
// their way have arrived) and returns it; a count still moving after
// timeout fails the test.
func Settled(t testing.TB, timeout, quiet time.Duration, what string, count func() int) int {
	t.Helper()
	deadline := time.Now().Add(timeout)
	n, since := count(), time.Now()
	for time.Since(since) < quiet {
		if time.Now().After(deadline) {
			t.Fatalf("%s still changing after %v", what, timeout)
		}
		time.Sleep(settleEvery)
		if m := count(); m != n {
			n, since = m, time.Now()
		}
	}
	return n
}
