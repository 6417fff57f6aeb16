package sfu

import (
	"testing"
	"time"

	"github.com/pion/webrtc/v4"

	"sotto/internal/testutil"
)

// TestGateAnswersRoutineChecks: in a silent room the clients' routine
// consent checks are answered by the gate itself (the client accepts the
// answers: its connection stays up), while pion still sees enough of them
// to keep its own liveness clock: past iceDisconnectedTimeout both server
// connections are still connected, and a turn then is heard.
func TestGateAnswersRoutineChecks(t *testing.T) {
	testutil.LeakCheck(t)
	s := newSFU(t, Config{})
	api := clientAPI(t, false)
	roomID := [16]byte{0x19, 6}
	a := join(t, s, api, roomID, Talk, 'A')
	l := join(t, s, api, roomID, Listen, 'l')
	start := time.Now()

	testutil.WaitFor(t, 20*time.Second, "the gate to answer checks", func() bool { return s.net.consent.answered.Load() >= 3 })
	time.Sleep(time.Until(start.Add(iceDisconnectedTimeout + 2*time.Second)))
	for _, c := range []struct {
		tag byte
		id  [16]byte
	}{{'A', a.ID}, {'l', l.ID}} {
		p := s.find(roomID, c.id)
		if p == nil {
			t.Fatalf("member %c has no session", c.tag)
		}
		p.mu.Lock()
		state := p.pc.ConnectionState()
		p.mu.Unlock()
		if state != webrtc.PeerConnectionStateConnected {
			t.Errorf("member %c: %v after %v of silence, want connected", c.tag, state, time.Since(start).Round(time.Second))
		}
	}
	t.Logf("checks answered by the gate: %d", s.net.consent.answered.Load())

	s.SetFloor(roomID, a.ID)
	startTalking(t, a)
	testutil.WaitFor(t, 5*time.Second, "the listener to hear a turn", func() bool { n, _ := l.Count(); return n > 10 })
}
