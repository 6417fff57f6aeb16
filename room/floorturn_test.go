package room

import (
	"testing"
	"time"

	"github.com/google/uuid"
)

// A holder that asks again the instant the talk-time cap frees the floor
// does not keep it from a member who has been waiting (issue 12 #7): the
// waiter gets it within one turn and a second, and they take turns.
func TestFloorTakesTurns(t *testing.T) {
	const limit = 2 * time.Second
	r, clk := newTestRegistry(Config{TalkTimeLimit: limit})
	id := ID{7}
	sh, _ := r.CreateFrom(id, VerifierOf(token(1)), RoleTalk, "", "", &recorder{})
	sw, _ := r.JoinFrom(id, token(1), RoleTalk, "", "", &recorder{})
	h, w := sh.Self.ID, sw.Self.ID
	if f, _ := r.RequestFloor(id, h); f.Holder != h {
		t.Fatalf("first request: %v", f.Holder)
	}
	start := clk.Now()
	firstWin := time.Duration(-1) // never
	held := map[uuid.UUID]time.Duration{}
	const tick = 100 * time.Millisecond
	for clk.Now().Sub(start) < 20*time.Second {
		// The holder asks first, the instant it can; the waiter presses
		// ten times a second.
		f, _ := r.RequestFloor(id, h)
		if g, _ := r.RequestFloor(id, w); g.Holder == w && firstWin < 0 {
			firstWin = clk.Now().Sub(start)
		}
		f, _ = r.RequestFloor(id, h) // (asking again while holding changes nothing)
		held[f.Holder] += tick
		clk.advance(tick)
	}
	t.Logf("the waiter first had the floor after %v (-1ns: never); over 20 s the holder had it %v, the waiter %v", firstWin, held[h], held[w])
	if firstWin < 0 || firstWin > limit+time.Second {
		t.Fatalf("the waiter first had the floor after %v (-1ns: never), want within %v", firstWin, limit+time.Second)
	}
	if held[w] < 8*time.Second {
		t.Fatalf("the waiter had the floor %v of 20 s, want about half", held[w])
	}
}
