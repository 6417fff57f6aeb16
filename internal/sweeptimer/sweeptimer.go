// Package sweeptimer sweeps an in-memory table on time, not only when the
// table is next used. The per-address tables of signal/ (failed joins,
// blobs, knocks) and sfu/ (consent, check pacing) hold client addresses
// only while a limit needs them (docs/security.md §10); a sweep that ran
// only on the next request would keep the last addresses of a quiet server
// for ever.
package sweeptimer

import (
	"sync"
	"time"
)

// Timer is armed whenever its table has entries and it is not armed
// already; each sweep re-arms it while entries are left. A pending
// time.AfterFunc holds no goroutine. Its methods are called with the
// table's lock held, and the sweep runs with it held.
type Timer struct {
	t      *time.Timer
	closed bool // the table's owner shut down: no more sweeps
}

// ArmLocked arms the timer for every, unless it is armed or stopped. When it
// fires, sweep runs with mu held and returns how many entries are left; a
// table with entries left is swept again every later. Caller holds mu.
func (st *Timer) ArmLocked(mu sync.Locker, every time.Duration, sweep func() int) {
	if st.t != nil || st.closed {
		return
	}
	st.t = time.AfterFunc(every, func() {
		mu.Lock()
		defer mu.Unlock()
		st.t = nil
		if !st.closed && sweep() > 0 {
			st.ArmLocked(mu, every, sweep)
		}
	})
}

// Armed reports whether a sweep is pending. Caller holds the lock.
func (st *Timer) Armed() bool { return st.t != nil }

// StopLocked stops the timer for good (a shutdown). Caller holds the lock.
func (st *Timer) StopLocked() {
	st.closed = true
	if st.t != nil {
		st.t.Stop()
		st.t = nil
	}
}
