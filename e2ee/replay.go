package e2ee

// ReplayWindow is how many CTR values behind the highest one a receiver
// still accepts (once each). 128 frames is 2.56 s of Opus at 20 ms: far more
// reordering than a jitter buffer tolerates.
const ReplayWindow = 128

// replayWindow tracks, for one KID, the highest CTR that authenticated and
// which of the ReplayWindow CTRs at or below it have been seen
// (the RFC 3711 §3.3.2 scheme that RFC 9605's "Anti-Replay" section points to).
type replayWindow struct {
	started bool
	top     uint64    // highest authenticated CTR
	seen    [2]uint64 // bit i set: CTR top-i was seen; seen[0] holds i = 0..63
}

// check reports whether ctr may be accepted. It does not change the window:
// a frame only counts once it has authenticated (see accept), so forged
// frames cannot push the window forward.
func (w *replayWindow) check(ctr uint64) error {
	if !w.started || ctr > w.top {
		return nil
	}
	d := w.top - ctr
	if d >= ReplayWindow {
		return ErrTooOld
	}
	if w.seen[d/64]&(1<<(d%64)) != 0 {
		return ErrReplay
	}
	return nil
}

// accept records an authenticated ctr. Call check first.
func (w *replayWindow) accept(ctr uint64) {
	if !w.started {
		w.started, w.top, w.seen = true, ctr, [2]uint64{1, 0}
		return
	}
	if ctr > w.top {
		w.shift(ctr - w.top)
		w.top = ctr
		w.seen[0] |= 1
		return
	}
	d := w.top - ctr
	w.seen[d/64] |= 1 << (d % 64)
}

// shift moves the window up by n CTRs (n > 0). Go defines shifts by 64 or
// more as 0, which clears the words as intended.
func (w *replayWindow) shift(n uint64) {
	switch {
	case n >= ReplayWindow:
		w.seen = [2]uint64{}
	case n >= 64:
		w.seen = [2]uint64{0, w.seen[0] << (n - 64)}
	default:
		w.seen = [2]uint64{w.seen[0] << n, w.seen[1]<<n | w.seen[0]>>(64-n)}
	}
}
