package client

// When this member rotates its sender key (docs/keys.md, "Sending: when a
// member rotates"): on a leave, on a later joiner's hello, and every
// RotationInterval; never more than once per KeySwitchDelay. The schedule
// decides only when; keys.go makes, wraps and sends the keys.

import (
	"sync"
	"time"
)

// Why a rotation started (Event.Reason of "rotate").
const (
	rotateLeave  = "leave"  // a member left or was removed: it gets none of the new key
	rotateJoin   = "join"   // a later joiner's hello: it gets only the new key
	rotateTimer  = "timer"  // RotationInterval passed since the last new key
	rotateFolded = "folded" // triggers that came while a rotation waited for its switch
)

// clock is the time the schedule and the key ring's expiry run on: the
// real one in a Client, a fake one in unit tests.
type clock interface {
	Now() time.Time
	// AfterFunc calls f in its own goroutine after d, unless stopped.
	AfterFunc(d time.Duration, f func()) stopper
}

type stopper interface{ Stop() bool }

type realClock struct{}

func (realClock) Now() time.Time                              { return time.Now() }
func (realClock) AfterFunc(d time.Duration, f func()) stopper { return time.AfterFunc(d, f) }

// schedule is one member's rotation timing. Every method is called with
// lock held, and its callbacks (start, switchKey) run with lock held: in a
// Client the lock is c.mu, so the schedule, the members and the keys move
// together.
//
// A rotation is two steps: start (a new key is made, wrapped for every
// member whose hello we hold, sent) and, KeySwitchDelay later, switchKey
// (the Sender moves to it). A trigger between the two is folded: one more
// rotation starts right after the switch, whatever the number of triggers.
// The interval timer restarts with every new key, so no key of ours is in
// use longer than interval (plus the switch delay).
type schedule struct {
	lock      sync.Locker
	clock     clock
	interval  time.Duration
	delay     time.Duration
	start     func(reason string) // make and send a new key
	switchKey func()              // move the Sender to the key start made
	flush     func()              // if set, run after a timer's work, with lock let go (events)

	pending   bool    // start ran, switchKey not yet
	folded    bool    // a trigger came while pending
	closed    bool    // erased: nothing runs any more
	intervalT stopper // the RotationInterval timer
	switchT   stopper // the KeySwitchDelay timer while pending
	intervalN uint64  // bumped per interval timer, so one that fired while being reset does nothing
}

// begin arms the interval timer for the first key (epoch 0, made at join).
func (s *schedule) begin() { s.armInterval() }

// trigger asks for a rotation now, or right after the pending one switches.
func (s *schedule) trigger(reason string) {
	if s.closed {
		return
	}
	if s.pending {
		s.folded = true
		return
	}
	s.rotate(reason)
}

func (s *schedule) rotate(reason string) {
	s.pending = true
	s.start(reason)
	s.armInterval()
	s.switchT = s.after(s.delay, s.switchNow)
}

// switchNow runs when KeySwitchDelay has passed since start.
func (s *schedule) switchNow() {
	if !s.pending {
		return
	}
	s.pending, s.switchT = false, nil
	s.switchKey()
	if s.folded {
		s.folded = false
		s.rotate(rotateFolded)
	}
}

func (s *schedule) armInterval() {
	if s.intervalT != nil {
		s.intervalT.Stop()
	}
	s.intervalN++
	n := s.intervalN
	s.intervalT = s.after(s.interval, func() {
		if n == s.intervalN {
			s.trigger(rotateTimer)
		}
	})
}

// after runs f under lock after d, unless the schedule was closed by then.
func (s *schedule) after(d time.Duration, f func()) stopper {
	return s.clock.AfterFunc(d, func() {
		s.lock.Lock()
		if !s.closed {
			f()
		}
		s.lock.Unlock()
		if s.flush != nil {
			s.flush()
		}
	})
}

// close stops every timer: the membership is over.
func (s *schedule) close() {
	s.closed = true
	for _, t := range []stopper{s.intervalT, s.switchT} {
		if t != nil {
			t.Stop()
		}
	}
	s.intervalT, s.switchT = nil, nil
}
