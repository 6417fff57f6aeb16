package testutil

import (
	"slices"
	"testing"
	"time"
)

func TestClockNowAndAdd(t *testing.T) {
	start := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	c := NewClock(start)
	if got := c.Now(); !got.Equal(start) {
		t.Fatalf("Now = %v, want %v", got, start)
	}
	c.Add(90 * time.Second)
	if got := c.Now().Sub(start); got != 90*time.Second {
		t.Fatalf("advanced by %v, want 90s", got)
	}
}

// Timers fire once, when the clock reaches them, in the order scheduled;
// a stopped one never; and a timer's function may use the clock.
func TestClockTimers(t *testing.T) {
	c := NewClock(time.Unix(1_700_000_000, 0))
	var fired []string
	c.AfterFunc(2*time.Second, func() { fired = append(fired, "b") })
	c.AfterFunc(time.Second, func() { fired = append(fired, "a") })
	stopped := c.AfterFunc(time.Second, func() { fired = append(fired, "stopped") })
	c.AfterFunc(time.Second, func() {
		fired = append(fired, "a2")
		c.AfterFunc(time.Second, func() { fired = append(fired, "rescheduled") }) // no deadlock
	})
	if !stopped.Stop() || stopped.Stop() {
		t.Error("Stop: want true the first time, false after")
	}

	c.Add(999 * time.Millisecond)
	if len(fired) != 0 {
		t.Fatalf("fired %v before their time", fired)
	}
	c.Add(time.Millisecond)
	if want := []string{"a", "a2"}; !slices.Equal(fired, want) {
		t.Fatalf("at 1s fired %v, want %v", fired, want)
	}
	c.Add(time.Second)
	if want := []string{"a", "a2", "b", "rescheduled"}; !slices.Equal(fired, want) {
		t.Fatalf("at 2s fired %v, want %v", fired, want)
	}
	c.Add(time.Hour)
	if len(fired) != 4 {
		t.Fatalf("timers fired twice: %v", fired)
	}
}

func TestClockStopAfterFiring(t *testing.T) {
	c := NewClock(time.Unix(0, 0))
	tm := c.AfterFunc(time.Second, func() {})
	c.Add(time.Second)
	if tm.Stop() {
		t.Error("Stop reported stopping a timer that had fired")
	}
}
