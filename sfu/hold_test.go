package sfu

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"

	"sotto/internal/testutil"
	"sotto/sfu/sfutest"
)

// warmN is where warmUp's frame counters start: frames a test counts are
// below it.
const warmN = 1 << 20

// holdRoom is a room on an SFU made with cfg: talkers 'A' and 'B' and a
// listen-only 'L', every media path up (A talked once, as warmUp does),
// and the floor free again. A's next frame must come after a pause (Pause):
// its warm-up run ended with the floor.
func holdRoom(t *testing.T, cfg Config, roomID [16]byte) (s *SFU, a, b, l *sfutest.Client) {
	t.Helper()
	s = newSFU(t, cfg)
	api := clientAPI(t, false)
	a = join(t, s, api, roomID, Talk, 'A')
	b = join(t, s, api, roomID, Talk, 'B')
	l = join(t, s, api, roomID, Listen, 'L')
	s.SetFloor(roomID, a.ID)
	warmUp(t, a, []*sfutest.Client{b, l})
	s.SetFloor(roomID, uuid.Nil)
	settle(t, []*sfutest.Client{b, l}, 200*time.Millisecond, 5*time.Second)
	return s, a, b, l
}

// sendHeld sends frames first..first+n-1 from c every 20 ms while it does
// not hold the floor, and waits until the SFU has read them all.
func sendHeld(t *testing.T, s *SFU, c *sfutest.Client, first uint32, n int) {
	t.Helper()
	before := s.Stats().Dropped
	c.Talk(context.Background(), first, n, 20*time.Millisecond)
	testutil.WaitFor(t, 5*time.Second, "the SFU to read the frames", func() bool {
		return s.Stats().Dropped >= before+uint64(n)
	})
}

// heard returns the counters of tag's frames (warm-up frames left out) that
// l received, in arrival order, and fails the test unless their sequence
// numbers follow one another and each timestamp is one 20 ms frame after
// the last: one continuous stream to the listener.
func heard(t *testing.T, l *sfutest.Client, tag byte) []uint32 {
	t.Helper()
	var ns []uint32
	var last sfutest.Packet
	for _, p := range l.Received() {
		if p.Tag != tag || p.N >= warmN {
			continue
		}
		if len(ns) > 0 && (p.Seq != last.Seq+1 || p.TS != last.TS+960) {
			t.Errorf("frame %d of %c after %d: seq %d after %d, ts %d after %d: not continuous",
				p.N, tag, last.N, p.Seq, last.Seq, p.TS, last.TS)
		}
		ns, last = append(ns, p.N), p
	}
	return ns
}

func span(from, to uint32) []uint32 {
	var out []uint32
	for n := from; n <= to; n++ {
		out = append(out, n)
	}
	return out
}

// A talker's frames that reach the SFU before its grant are heard on the
// grant, first and in order, renumbered into the listener's one stream;
// a frame of silence sent before the press (a DTX packet) is not. Without
// the optimistic floor they are dropped: the control.
func TestHeldFramesAreHeardOnTheGrant(t *testing.T) {
	testutil.LeakCheck(t)
	for _, optimistic := range []bool{true, false} {
		t.Run(fmt.Sprintf("optimistic=%v", optimistic), func(t *testing.T) {
			t.Parallel()
			roomID := [16]byte{0x17, 1}
			s, a, _, l := holdRoom(t, Config{NoOptimisticFloor: !optimistic}, roomID)
			a.Pause(400 * time.Millisecond)
			sendHeld(t, s, a, 100, 1) // the mic off: DTX's silence every 400 ms
			a.Pause(400 * time.Millisecond)
			sendHeld(t, s, a, 0, 5) // the press, ahead of its floor_request
			s.SetFloor(roomID, a.ID)
			a.Talk(context.Background(), 5, 5, 20*time.Millisecond)
			settle(t, []*sfutest.Client{l}, 200*time.Millisecond, 5*time.Second)

			got := heard(t, l, 'A')
			want, held := span(0, 9), uint64(5)
			if !optimistic {
				want, held = span(5, 9), 0
			}
			if !slices.Equal(got, want) {
				t.Errorf("the listener heard A's frames %v, want %v", got, want)
			}
			if st := s.Stats(); st.HeldForwarded != held {
				t.Errorf("HeldForwarded = %d, want %d", st.HeldForwarded, held)
			}
		})
	}
}

// Frames older than holdWindow at the grant are not heard: a press that
// waited that long for its grant starts where the window does.
func TestHeldFramesExpire(t *testing.T) {
	testutil.LeakCheck(t)
	roomID := [16]byte{0x17, 2}
	s, a, _, l := holdRoom(t, Config{}, roomID)
	a.Pause(400 * time.Millisecond)
	sendHeld(t, s, a, 0, 5)
	time.Sleep(holdWindow + 100*time.Millisecond) // ageing them, not waiting for a condition
	s.SetFloor(roomID, a.ID)
	a.Talk(context.Background(), 5, 5, 20*time.Millisecond)
	settle(t, []*sfutest.Client{l}, 200*time.Millisecond, 5*time.Second)
	if got := heard(t, l, 'A'); !slices.Equal(got, span(5, 9)) {
		t.Errorf("the listener heard A's frames %v, want 5-9 only", got)
	}
}

// A busy presser's held frames reach no one: not the listener, not the
// holder, not even when the presser gets the floor right after (within
// holdWindow) and its frames still follow on from the refused press. A
// press that lost to another member's grant is spoiled the same way.
func TestBusyPressIsHeardByNoOne(t *testing.T) {
	testutil.LeakCheck(t)
	for _, how := range []string{"refused", "taken"} {
		t.Run(how, func(t *testing.T) {
			t.Parallel()
			roomID := [16]byte{0x17, 3, how[0]}
			s, a, b, l := holdRoom(t, Config{}, roomID)
			if how == "refused" {
				// A holds and talks; B presses: its frames come, its
				// request is refused, more of its frames follow (the mic
				// is on until floor_busy reaches it).
				s.SetFloor(roomID, a.ID)
				a.Pause(400 * time.Millisecond)
				tk := startTalking(t, a)
				b.Pause(400 * time.Millisecond)
				sendHeld(t, s, b, 0, 5)
				s.FloorRefused(roomID, b.ID)
				sendHeld(t, s, b, 5, 5)
				tk.halt()
			} else {
				// B presses while the floor is free, but A's request
				// wins it first.
				b.Pause(400 * time.Millisecond)
				sendHeld(t, s, b, 0, 5)
				s.SetFloor(roomID, a.ID)
				sendHeld(t, s, b, 5, 5)
			}
			// The floor comes free and B, pressing again at once, gets it:
			// its frames go on without a pause from the spoiled press.
			s.SetFloor(roomID, uuid.Nil)
			s.SetFloor(roomID, b.ID)
			b.Talk(context.Background(), 10, 5, 20*time.Millisecond)
			settle(t, []*sfutest.Client{a, l}, 200*time.Millisecond, 5*time.Second)
			for _, who := range []*sfutest.Client{l, a} {
				if got := heard(t, who, 'B'); !slices.Equal(got, span(10, 14)) {
					t.Errorf("%c heard B's frames %v, want 10-14 only", who.Tag, got)
				}
			}
			if st := s.Stats(); st.HeldForwarded != 0 {
				t.Errorf("HeldForwarded = %d, want 0", st.HeldForwarded)
			}
		})
	}
}
