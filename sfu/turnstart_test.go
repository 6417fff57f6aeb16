package sfu

import (
	"context"
	"testing"
	"time"

	"github.com/google/uuid"

	"sotto/internal/testutil"
	"sotto/sfu/sfutest"
)

// A turn's first packet reaches the listener on time for its timestamp
// however the talker's own timestamps ran on through the pause (issue 17):
// here the talker's clock moves 4 frames in a pause of over half a second,
// as a first packet delayed on its way would look, and before the fix the
// listener saw it that much late, which its jitter buffer takes for network
// jitter, for every later turn. The talker's packets the SFU dropped in the pause leave no gap in
// the sequence numbers either, which the listener took for loss.
func TestTurnStartsOnTheListenersClock(t *testing.T) {
	testutil.LeakCheck(t)
	s := newSFU(t, Config{})
	api := clientAPI(t, false)
	roomID := [16]byte{0x17, 0xe5}
	a := join(t, s, api, roomID, Talk, 'A')
	l := join(t, s, api, roomID, Listen, 'L')
	s.SetFloor(roomID, a.ID)
	warmUp(t, a, []*sfutest.Client{l})
	a.Talk(context.Background(), 0, 10, 20*time.Millisecond)
	settle(t, []*sfutest.Client{l}, 200*time.Millisecond, 5*time.Second)

	s.SetFloor(roomID, uuid.Nil)
	const dropped = 3
	a.Talk(context.Background(), 100, dropped, 20*time.Millisecond) // DTX's silence, dropped: not the holder
	time.Sleep(500 * time.Millisecond)                              // the pause, by the listener's clock
	s.SetFloor(roomID, a.ID)
	a.Talk(context.Background(), 200, 10, 20*time.Millisecond)
	settle(t, []*sfutest.Client{l}, 200*time.Millisecond, 5*time.Second)

	var last, first sfutest.Packet
	for _, p := range l.Received() {
		switch {
		case p.N == 9:
			last = p
		case p.N == 200:
			first = p
		}
	}
	if last.At.IsZero() || first.At.IsZero() {
		t.Fatal("the listener missed the last packet of the first turn or the first of the second")
	}
	if first.Seq != last.Seq+1 {
		t.Errorf("the second turn's first packet is number %d after %d: a gap the listener counts as %d lost", first.Seq, last.Seq, first.Seq-last.Seq-1)
	}
	// How much later the first packet came than its timestamp says, after
	// the last one: 0 when on time. Both times are the listener's, so the
	// scheduling of two loaded cores shows; the bug is over 500 ms.
	const tolerance = 60 * time.Millisecond
	wall := first.At.Sub(last.At)
	media := time.Duration(first.TS-last.TS) * time.Second / clockRate
	if late := wall - media; late > tolerance || late < -tolerance {
		t.Errorf("the second turn's first packet came %v after the last of the first, its timestamp says %v: %v late", wall, media, late)
	}
}
