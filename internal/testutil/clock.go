package testutil

import (
	"sync"
	"time"
)

// Clock is a clock only the test moves: code under test reads it (Now) and
// schedules on it (AfterFunc) where it would use time.Now and
// time.AfterFunc, and nothing happens until the test calls Add. It is
// safe for concurrent use.
type Clock struct {
	mu     sync.Mutex
	now    time.Time
	timers []*Timer
}

// NewClock returns a Clock that reads start until it is advanced.
func NewClock(start time.Time) *Clock { return &Clock{now: start} }

// Timer is a function scheduled on a Clock.
type Timer struct {
	at      time.Time
	f       func()
	stopped bool // stopped or fired
	clock   *Clock
}

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// AfterFunc schedules f for when the clock has advanced by d.
func (c *Clock) AfterFunc(d time.Duration, f func()) *Timer {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := &Timer{at: c.now.Add(d), f: f, clock: c}
	c.timers = append(c.timers, t)
	return t
}

// Stop keeps the timer from firing, and reports whether it stopped it (as
// time.Timer's Stop: false if it had fired or was stopped already).
func (t *Timer) Stop() bool {
	t.clock.mu.Lock()
	defer t.clock.mu.Unlock()
	was := !t.stopped
	t.stopped = true
	return was
}

// Add moves the clock on by d and runs the timers that came due, in the
// order they were scheduled, on the caller's goroutine but outside the
// clock's lock: as time.AfterFunc would from its own goroutine, a timer's
// function may read the clock or schedule again.
func (c *Clock) Add(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	var due []func()
	kept := c.timers[:0]
	for _, t := range c.timers {
		switch {
		case t.stopped:
		case !t.at.After(c.now):
			t.stopped = true
			due = append(due, t.f)
		default:
			kept = append(kept, t)
		}
	}
	c.timers = kept
	c.mu.Unlock()
	for _, f := range due {
		f()
	}
}
