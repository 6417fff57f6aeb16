package sfu

// One clock for the RTCP reports of every connection of the SFU.
//
// pion's report interceptors run two goroutines per connection, each woken
// by a ticker every report interval whether or not a packet moved: 2,000
// silent members woke the server 800 times a second to send nothing
// (BENCHMARKS.md, issue 19). Here a connection is on the wheel only while
// its media moves: its first packet after a quiet spell puts it there
// (reports.go), a visit once per rtcpReportInterval sends its reports, and
// the first visit that finds nothing new takes it off. A silent member
// costs no goroutine and no timer; a server with no media at all has no
// timer armed.

import (
	"sync"
	"time"
)

const (
	// reportSlots divides rtcpReportInterval: the wheel ticks this many
	// times per interval, visiting one slot each time, so the reports of
	// many talkers go out spread over the interval rather than in one burst,
	// and a busy wheel wakes 2 times a second, not once per connection.
	reportSlots = 10
	// reportTick is how often an armed wheel turns.
	reportTick = rtcpReportInterval / reportSlots
	// firstReportSlots is how many ticks after its first packet a
	// connection is first visited: half the interval, as RFC 3550 §6.2 has
	// a new participant send its first report after half the minimum
	// interval, so that a talker's turn of a few seconds already gets its
	// receiver report (lossfeedback.go acts on it).
	firstReportSlots = reportSlots / 2
)

// reportTickEvery is reportTick; tests shorten it.
var reportTickEvery = reportTick

// reportWheel visits each connection it holds once per reportSlots ticks.
type reportWheel struct {
	tick time.Duration

	mu    sync.Mutex
	slots [reportSlots][]*reports
	next  int         // the slot the next tick visits
	held  int         // connections in the slots
	timer *time.Timer // made on first use; armed while held > 0 or a turn runs
	armed bool
	spare []*reports // a visited slot's array, for the slot it leaves empty
}

func newReportWheel() *reportWheel { return &reportWheel{tick: reportTickEvery} }

// add puts r on the wheel to be visited after ticks ticks (1 to
// reportSlots), unless it is there already or closed.
func (w *reportWheel) add(r *reports, ticks int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.addLocked(r, (w.next+ticks-1)%reportSlots)
}

func (w *reportWheel) addLocked(r *reports, slot int) {
	if r.slot >= 0 || r.closed.Load() {
		return
	}
	r.slot = slot
	w.slots[slot] = append(w.slots[slot], r)
	w.held++
	if w.armed {
		return
	}
	w.armed = true
	if w.timer == nil {
		w.timer = time.AfterFunc(w.tick, w.turn)
	} else {
		w.timer.Reset(w.tick)
	}
}

// remove takes r off the wheel (its connection closed).
func (w *reportWheel) remove(r *reports) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if r.slot < 0 {
		return
	}
	s := w.slots[r.slot]
	for i, x := range s {
		if x == r {
			last := len(s) - 1
			s[i], s[last] = s[last], nil
			w.slots[r.slot] = s[:last]
			w.held--
			break
		}
	}
	r.slot = -1
	// An armed timer with nothing left finds an empty wheel and disarms.
}

// turn visits the next slot: each connection sends what it has to report
// and stays for the same slot of the next round, or leaves the wheel if it
// had nothing new. Visits run outside the lock: they write RTCP.
func (w *reportWheel) turn() {
	w.mu.Lock()
	slot := w.next
	visit := w.slots[slot]
	w.slots[slot], w.spare = w.spare, nil
	w.next = (slot + 1) % reportSlots
	w.held -= len(visit)
	for _, r := range visit {
		r.slot = -1
	}
	w.mu.Unlock()

	now := time.Now()
	for _, r := range visit {
		if r.visit(now) {
			w.mu.Lock()
			w.addLocked(r, slot) // after reportSlots ticks: one interval
			w.mu.Unlock()
		}
	}

	clear(visit)
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.spare == nil {
		w.spare = visit[:0]
	}
	if w.held > 0 {
		w.timer.Reset(w.tick)
	} else {
		w.armed = false
	}
}

// state returns how many connections the wheel holds and whether its timer
// is armed, for tests.
func (w *reportWheel) state() (held int, armed bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.held, w.armed
}
