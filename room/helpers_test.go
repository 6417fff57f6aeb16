package room

// What every test of the registry uses: a Sink that records, a clock the
// test moves, and a registry wired to it.

import (
	"bytes"
	"sync"
	"time"

	"sotto/internal/testutil"
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

// newTestRegistry wires cfg to a clock the test moves: the talk-time
// timers run only when it calls Add.
func newTestRegistry(cfg Config) (*Registry, *testutil.Clock) {
	clk := testutil.NewClock(time.Unix(1_700_000_000, 0))
	cfg.AfterFunc = func(d time.Duration, f func()) Timer { return clk.AfterFunc(d, f) }
	cfg.Now = clk.Now
	return NewRegistry(cfg), clk
}

func token(b byte) []byte { return bytes.Repeat([]byte{b}, 32) }
