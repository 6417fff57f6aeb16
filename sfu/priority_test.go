package sfu

import (
	"testing"
	"time"

	"sotto/internal/testutil"
	"sotto/sfu/sfutest"
)

// Talk priority (issue 17): the registry moves the floor from a talker to a
// priority member mid-turn, both still sending. Every listener then gets the
// talker's packets, then the priority member's, and never one of the
// talker's after the first of the priority member's: the old holder's
// packets stop at the switch, so no listener hears both at once. (A priority
// member's packets are forwarded at all only because its role may talk.)
func TestPriorityTakesTheFloorMidTurn(t *testing.T) {
	testutil.LeakCheck(t)
	s := newSFU(t, Config{})
	api := clientAPI(t, false)
	roomID := [16]byte{17}

	a := join(t, s, api, roomID, Talk, 'A')
	p := join(t, s, api, roomID, Priority, 'P')
	listeners := joinN(t, s, api, roomID, Listen, 'a', 2)
	everyone := append([]*sfutest.Client{a, p}, listeners...)

	count := func(c *sfutest.Client, tag byte) int {
		n := 0
		for _, pk := range c.Received() {
			if pk.Tag == tag {
				n++
			}
		}
		return n
	}
	// Alice talks; Pat, pressing, sends the whole time (its packets are
	// dropped until it holds the floor).
	s.SetFloor(roomID, a.ID)
	ta, tp := startTalking(t, a), startTalking(t, p)
	for _, l := range listeners {
		testutil.WaitFor(t, 10*time.Second, "Alice to be heard", func() bool { return count(l, 'A') >= 25 })
	}
	droppedBefore := s.Stats().Dropped
	s.SetFloor(roomID, p.ID) // the registry's preempt: straight from Alice to Pat
	for _, c := range append([]*sfutest.Client{a}, listeners...) {
		testutil.WaitFor(t, 10*time.Second, "Pat to be heard", func() bool { return count(c, 'P') >= 25 })
	}
	// Alice still sends (her client has not yet heard that her turn
	// ended): her packets are dropped from the switch on.
	testutil.WaitFor(t, 5*time.Second, "Alice's packets to be dropped", func() bool { return s.Stats().Dropped >= droppedBefore+10 })
	ta.halt()
	tp.halt()
	settle(t, everyone, 100*time.Millisecond, 5*time.Second)

	for i, l := range listeners {
		_, tags := talkerOrder(t, i, l.Received())
		// Exactly Alice then Pat: a packet of Alice's after Pat's first
		// would make it "APA..." (both heard at once, interleaved).
		if tags != "AP" {
			t.Fatalf("listener %d heard talkers in the order %q, want \"AP\"", i, tags)
		}
	}
}
