package e2ee

import (
	"errors"
	"math/rand/v2"
	"testing"
)

// model is the replay rule written the slow, obvious way: remember every
// CTR ever accepted.
type model struct {
	seen    map[uint64]bool
	top     uint64
	started bool
}

func (m *model) check(ctr uint64) error {
	switch {
	case !m.started || ctr > m.top:
		return nil
	case m.top-ctr >= ReplayWindow:
		return ErrTooOld
	case m.seen[ctr]:
		return ErrReplay
	}
	return nil
}

func (m *model) accept(ctr uint64) {
	m.seen[ctr] = true
	if !m.started || ctr > m.top {
		m.top, m.started = ctr, true
	}
}

func TestReplayWindowMatchesModel(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for run := 0; run < 200; run++ {
		var w replayWindow
		m := &model{seen: map[uint64]bool{}}
		base := r.Uint64N(1 << 40)
		for i := 0; i < 2000; i++ {
			// Mostly near the top, sometimes far ahead or far behind.
			ctr := base + r.Uint64N(300)
			if r.IntN(50) == 0 {
				base += r.Uint64N(200)
			}
			want := m.check(ctr)
			if got := w.check(ctr); got != want {
				t.Fatalf("run %d step %d ctr %d: got %v, want %v", run, i, ctr, got, want)
			}
			if want == nil && r.IntN(10) != 0 { // 1 in 10 "fails to authenticate"
				w.accept(ctr)
				m.accept(ctr)
			}
		}
	}
}

func TestReplayWindowEdges(t *testing.T) {
	var w replayWindow
	if w.check(0) != nil || w.check(1<<63) != nil {
		t.Fatal("an empty window must accept anything")
	}
	w.accept(1000)
	if !errors.Is(w.check(1000), ErrReplay) {
		t.Error("top CTR accepted twice")
	}
	if w.check(1000-ReplayWindow+1) != nil {
		t.Error("oldest CTR inside the window rejected")
	}
	if !errors.Is(w.check(1000-ReplayWindow), ErrTooOld) {
		t.Error("CTR just outside the window accepted")
	}
	w.accept(1000 - 64) // crosses the word boundary of the bitmap
	w.accept(1000 + 64)
	if !errors.Is(w.check(1000), ErrReplay) || !errors.Is(w.check(1000-64), ErrTooOld) {
		t.Error("bits lost moving across the 64-bit boundary")
	}
	w.accept(1<<64 - 1) // a jump of more than the window clears it
	if w.check(1<<64-2) != nil || !errors.Is(w.check(1<<64-1), ErrReplay) {
		t.Error("large jump handled wrongly")
	}
}
