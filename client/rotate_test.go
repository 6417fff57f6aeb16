package client

import (
	"slices"
	"sync"
	"testing"
	"time"

	"sotto/e2ee"
)

// scheduleRig is a schedule on a fake clock that records what it does:
// "start <reason>" and "switch", each with the clock's offset.
type scheduleRig struct {
	mu    sync.Mutex
	clock *fakeClock
	t0    time.Time
	s     *schedule
	log   []string
}

func newScheduleRig(interval time.Duration) *scheduleRig {
	r := &scheduleRig{clock: newFakeClock()}
	r.t0 = r.clock.Now()
	r.s = &schedule{lock: &r.mu, clock: r.clock, interval: interval, delay: e2ee.KeySwitchDelay,
		start:     func(reason string) { r.log = append(r.log, r.at()+" start "+reason) },
		switchKey: func() { r.log = append(r.log, r.at()+" switch") },
	}
	r.mu.Lock()
	r.s.begin()
	r.mu.Unlock()
	return r
}

func (r *scheduleRig) at() string { return r.clock.Now().Sub(r.t0).String() }

func (r *scheduleRig) trigger(reason string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.s.trigger(reason)
}

func (r *scheduleRig) want(t *testing.T, want ...string) {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	if !slices.Equal(r.log, want) {
		t.Fatalf("schedule did\n  %q\nwant\n  %q", r.log, want)
	}
}

// A trigger starts a rotation at once; the Sender switches exactly
// KeySwitchDelay later, not before.
func TestScheduleSwitchAfterDelay(t *testing.T) {
	r := newScheduleRig(e2ee.RotationInterval)
	r.trigger(rotateLeave)
	r.clock.Advance(e2ee.KeySwitchDelay - time.Millisecond)
	r.want(t, "0s start leave")
	r.clock.Advance(time.Millisecond)
	r.want(t, "0s start leave", "500ms switch")
}

// Triggers while a rotation waits for its switch are folded into exactly
// one more rotation, right after the switch; at most one per delay.
func TestScheduleFoldsTriggers(t *testing.T) {
	r := newScheduleRig(e2ee.RotationInterval)
	r.trigger(rotateJoin)
	r.clock.Advance(100 * time.Millisecond)
	r.trigger(rotateLeave)
	r.trigger(rotateJoin)
	r.clock.Advance(300 * time.Millisecond)
	r.trigger(rotateLeave)
	r.clock.Advance(2 * e2ee.KeySwitchDelay)
	r.want(t, "0s start join", "500ms switch", "500ms start folded", "1s switch")
	// Quiet again: a trigger now starts at once.
	r.clock.Advance(time.Second)
	r.trigger(rotateLeave)
	r.clock.Advance(e2ee.KeySwitchDelay)
	r.want(t, "0s start join", "500ms switch", "500ms start folded", "1s switch", "2.4s start leave", "2.9s switch")
}

// Every interval without another rotation, one on the timer; a rotation
// for any reason restarts the interval, so no key lives longer than it.
func TestScheduleTimer(t *testing.T) {
	r := newScheduleRig(time.Minute)
	r.clock.Advance(time.Minute)
	r.want(t, "1m0s start timer")
	r.clock.Advance(30 * time.Second)
	r.trigger(rotateJoin) // at 1m30s: the next timer rotation moves to 2m30s
	r.clock.Advance(59 * time.Second)
	r.want(t, "1m0s start timer", "1m0.5s switch", "1m30s start join", "1m30.5s switch")
	r.clock.Advance(time.Second)
	r.want(t, "1m0s start timer", "1m0.5s switch", "1m30s start join", "1m30.5s switch", "2m30s start timer")
}

// close stops every timer: nothing runs afterwards.
func TestScheduleClose(t *testing.T) {
	r := newScheduleRig(time.Minute)
	r.trigger(rotateLeave)
	r.mu.Lock()
	r.s.close()
	r.s.trigger(rotateJoin)
	r.mu.Unlock()
	r.clock.Advance(time.Hour)
	r.want(t, "0s start leave")
	if n := r.clock.pending(); n != 0 {
		t.Fatalf("%d timers left after close", n)
	}
}
