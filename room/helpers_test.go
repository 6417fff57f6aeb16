package room

// What every test of the registry uses: a Sink that records, a clock the
// test moves, and a registry wired to it.

import (
	"bytes"
	"sync"
	"time"
)

// recorder is a Sink that keeps every event it is given.
type recorder struct {
	mu     sync.Mutex
	events []Event
}

func (r *recorder) Deliver(e Event) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, e)
}

func (r *recorder) take() []Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	ev := r.events
	r.events = nil
	return ev
}

// fakeClock runs the talk-time timers only when the test says so.
type fakeClock struct {
	mu     sync.Mutex
	now    time.Time
	timers []*fakeTimer
}

type fakeTimer struct {
	at      time.Time
	f       func()
	stopped bool
	clock   *fakeClock
}

func (t *fakeTimer) Stop() bool {
	t.clock.mu.Lock()
	defer t.clock.mu.Unlock()
	was := !t.stopped
	t.stopped = true
	return was
}

func (c *fakeClock) AfterFunc(d time.Duration, f func()) Timer {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := &fakeTimer{at: c.now.Add(d), f: f, clock: c}
	c.timers = append(c.timers, t)
	return t
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// advance moves time on and fires due timers outside the clock's lock, as
// time.AfterFunc would from its own goroutine.
func (c *fakeClock) advance(d time.Duration) {
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

func newTestRegistry(cfg Config) (*Registry, *fakeClock) {
	clk := &fakeClock{now: time.Unix(1_700_000_000, 0)}
	cfg.AfterFunc = clk.AfterFunc
	cfg.Now = clk.Now
	return NewRegistry(cfg), clk
}

func token(b byte) []byte { return bytes.Repeat([]byte{b}, 32) }
