package sfu

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/pion/rtp"

	"sotto/internal/testutil"
	"sotto/sfu/sfutest"
)

// segment is a run of consecutive packets from one talker (its tag byte),
// as a listener got it.
type segment = testutil.Turn[sfutest.Packet, byte]

// segments splits what a listener got by talker.
func segments(pkts []sfutest.Packet) []segment {
	return testutil.Turns(pkts, func(p sfutest.Packet) byte { return p.Tag })
}

// checkSegment verifies one talker's run as a listener got it: payloads
// intact, and the rewritten header in step with the sender's own numbering.
func checkSegment(s segment) error {
	err := testutil.CheckRunOf(s.Pkts, func(p sfutest.Packet) (testutil.RTPFrame, error) {
		if !p.Intact {
			return testutil.RTPFrame{}, fmt.Errorf("packet %c#%d: payload changed on the way", p.Tag, p.N)
		}
		return rtpFrame(p), nil
	})
	if err != nil {
		return fmt.Errorf("talker %c: %w", s.From, err)
	}
	return nil
}

// talkerOrder splits what listener i got by talker, reports every run
// that fails checkSegment, and returns the runs and their talkers' tags in
// the order heard.
func talkerOrder(t *testing.T, i int, pkts []sfutest.Packet) ([]segment, string) {
	t.Helper()
	segs := segments(pkts)
	var tags []byte
	for _, sg := range segs {
		tags = append(tags, sg.From)
		if err := checkSegment(sg); err != nil {
			t.Errorf("listener %d: %v", i, err)
		}
	}
	return segs, string(tags)
}

// rtpFrame is what the shared continuity checks read of a packet.
func rtpFrame(p sfutest.Packet) testutil.RTPFrame {
	return testutil.RTPFrame{N: p.N, Seq: p.Seq, TS: p.TS, SSRC: p.SSRC, Marker: p.Marker, At: p.At}
}

func TestOneTalkerTwentyListeners(t *testing.T) {
	testutil.LeakCheck(t)
	s := newSFU(t, Config{})
	api := clientAPI(t, false)
	roomID := [16]byte{1}

	talker := join(t, s, api, roomID, Talk, 'T')
	listeners := joinN(t, s, api, roomID, Listen, 'a', 20)
	s.SetFloor(roomID, talker.ID)

	// Warm up until every listener hears the talker, so the measurement below
	// starts with all media paths (both DTLS ends) up.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	warmUp(t, talker, listeners)

	const frames = 150 // 3 s at 50 packets/s
	if n := talker.Talk(ctx, 0, frames, 20*time.Millisecond); n != frames {
		t.Fatalf("sent %d frames, want %d", n, frames)
	}
	testutil.WaitFor(t, 5*time.Second, "delivery", func() bool {
		for _, l := range listeners {
			got := 0
			for _, p := range l.Received() {
				if p.N < frames {
					got++
				}
			}
			if got < frames {
				return false
			}
		}
		return true
	})
	settle(t, append(listeners, talker), 100*time.Millisecond, 5*time.Second)

	for i, l := range listeners {
		var measured []sfutest.Packet
		for _, p := range l.Received() {
			if p.Tag != 'T' {
				t.Errorf("listener %d got a packet from %c", i, p.Tag)
			}
			if p.N < frames {
				measured = append(measured, p)
			}
		}
		if len(measured)*100 < frames*99 {
			t.Errorf("listener %d got %d of %d frames, want at least 99%%", i, len(measured), frames)
		}
		if err := checkSegment(segment{From: 'T', Pkts: measured}); err != nil {
			t.Errorf("listener %d: %v", i, err)
		}
	}
	if n, _ := talker.Count(); n != 0 {
		t.Errorf("the talker got %d of its own packets back", n)
	}
}

func TestFloorHandover(t *testing.T) {
	testutil.LeakCheck(t)
	s := newSFU(t, Config{})
	api := clientAPI(t, false)
	roomID := [16]byte{2}

	a := join(t, s, api, roomID, Talk, 'A')
	b := join(t, s, api, roomID, Talk, 'B')
	listeners := joinN(t, s, api, roomID, Listen, 'a', 3)
	everyone := append([]*sfutest.Client{a, b}, listeners...)

	// A holds the floor; B presses too and sends the whole time.
	s.SetFloor(roomID, a.ID)
	ta, tb := startTalking(t, a), startTalking(t, b)
	count := func(c *sfutest.Client, tag byte) int {
		n := 0
		for _, p := range c.Received() {
			if p.Tag == tag {
				n++
			}
		}
		return n
	}
	heard := func(c *sfutest.Client, tag byte, atLeast int) func() bool {
		return func() bool { return count(c, tag) >= atLeast }
	}
	for _, c := range append([]*sfutest.Client{b}, listeners...) {
		testutil.WaitFor(t, 10*time.Second, "A to be heard", heard(c, 'A', 25))
	}

	// Direct handover A -> B mid-stream, both still sending.
	s.SetFloor(roomID, b.ID)
	for _, c := range append([]*sfutest.Client{a}, listeners...) {
		testutil.WaitFor(t, 10*time.Second, "B to be heard", heard(c, 'B', 25))
	}

	// B releases; a pause; A takes the floor again.
	s.SetFloor(roomID, uuid.Nil)
	pauseFrom := tb.sent()
	testutil.WaitFor(t, 5*time.Second, "a pause of 15 frames", func() bool { return tb.sent() >= pauseFrom+15 })
	heardA := make([]int, len(everyone))
	for i, c := range everyone {
		heardA[i] = count(c, 'A')
	}
	s.SetFloor(roomID, a.ID)
	for i, c := range everyone {
		if c != a {
			testutil.WaitFor(t, 10*time.Second, "A to be heard again", func() bool { return count(c, 'A') >= heardA[i]+10 })
		}
	}
	ta.halt()
	tb.halt()
	settle(t, everyone, 100*time.Millisecond, 5*time.Second)

	// Tolerance for "timestamp step equals wall-clock gap": both are measured
	// at the listener, so scheduling jitter on two loaded cores (and the race
	// detector) shows up; a bug would be off by whole turns or zero.
	const tolerance = 60 * time.Millisecond
	for i, l := range listeners {
		segs, tags := talkerOrder(t, i, l.Received())
		// Exactly A, then B, then A: any packet of the member without the
		// floor would split a segment.
		if tags != "ABA" {
			t.Fatalf("listener %d heard talkers in the order %q, want \"ABA\"", i, tags)
		}
		for j := 1; j < len(segs); j++ {
			last, first := segs[j-1].Pkts[len(segs[j-1].Pkts)-1], segs[j].Pkts[0]
			if _, err := testutil.CheckHandover(rtpFrame(last), rtpFrame(first), tolerance); err != nil {
				t.Errorf("listener %d, handover %d: %v", i, j, err)
			}
		}
		// The second handover followed a pause of at least 15 frames.
		if step := time.Duration(segs[2].Pkts[0].TS-segs[1].Pkts[len(segs[1].Pkts)-1].TS) * time.Second / 48000; step < 250*time.Millisecond {
			t.Errorf("listener %d: timestamp step %v over a pause of 300 ms", i, step)
		}
	}
	// The talkers heard only each other, never themselves.
	for _, c := range []*sfutest.Client{a, b} {
		for _, p := range c.Received() {
			if p.Tag == c.Tag {
				t.Fatalf("%c heard itself", c.Tag)
			}
		}
	}
	if st := s.Stats(); st.Dropped == 0 {
		t.Errorf("no packet dropped although B sent without the floor: %+v", st)
	}
}

func TestListenOnlyIsNeverForwarded(t *testing.T) {
	testutil.LeakCheck(t)
	s := newSFU(t, Config{})
	api := clientAPI(t, false)
	roomID := [16]byte{3}

	a := join(t, s, api, roomID, Talk, 'A')
	c := join(t, s, api, roomID, Listen, 'C')
	listeners := joinN(t, s, api, roomID, Listen, 'a', 3)

	// Even if the floor is (wrongly) given to a listen-only member, its
	// packets go nowhere.
	s.SetFloor(roomID, c.ID)
	before := s.Stats().Dropped
	ctx := context.Background()
	if n := c.Talk(ctx, 0, 50, 20*time.Millisecond); n != 50 {
		t.Fatalf("sent %d", n)
	}
	// Positive control: the same path forwards a talker's packets, and those
	// were sent after C's, so C's would have arrived first.
	s.SetFloor(roomID, a.ID)
	if n := a.Talk(ctx, 0, 25, 20*time.Millisecond); n != 25 {
		t.Fatalf("sent %d", n)
	}
	all := append([]*sfutest.Client{a, c}, listeners...)
	for _, l := range append([]*sfutest.Client{c}, listeners...) {
		testutil.WaitFor(t, 5*time.Second, "A to be heard", func() bool { n, _ := l.Count(); return n >= 24 })
	}
	settle(t, all, 100*time.Millisecond, 5*time.Second)
	for _, l := range all {
		for _, p := range l.Received() {
			if p.Tag == 'C' {
				t.Fatalf("%c received a packet from the listen-only member", l.Tag)
			}
		}
	}
	// And the server did read them (to drop them): the test sent them.
	if d := s.Stats().Dropped - before; d < 45 {
		t.Errorf("server dropped %d of the listen-only member's 50 packets", d)
	}
}

func TestJoinWhileTalking(t *testing.T) {
	testutil.LeakCheck(t)
	s := newSFU(t, Config{})
	api := clientAPI(t, false)
	roomID := [16]byte{4}

	a := join(t, s, api, roomID, Talk, 'A')
	join(t, s, api, roomID, Listen, 'x')
	s.SetFloor(roomID, a.ID)
	startTalking(t, a)

	for i := range 3 {
		start := time.Now()
		l := join(t, s, api, roomID, Listen, byte('a'+i))
		testutil.WaitFor(t, 5*time.Second, "the new member to hear the talker", func() bool { n, _ := l.Count(); return n > 0 })
		if d := time.Since(start); d > time.Second {
			t.Errorf("joiner %d heard the talker %v after joining, want within 1 s", i, d)
		} else {
			t.Logf("joiner %d heard the talker %v after joining", i, d.Round(time.Millisecond))
		}
	}
}

func TestJoinLeaveCycles(t *testing.T) {
	testutil.LeakCheck(t)
	s := newSFU(t, Config{})
	api := clientAPI(t, false)
	roomID := [16]byte{5}

	a := join(t, s, api, roomID, Talk, 'A')
	s.SetFloor(roomID, a.ID)
	startTalking(t, a)

	cycle := func() error {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		c, err := sfutest.Join(ctx, api, s, roomID, sfutest.Options{Role: Listen, Tag: 'l'})
		if err != nil {
			return err
		}
		defer c.Close()
		if err := c.WaitConnected(ctx); err != nil {
			return err
		}
		for n, _ := c.Count(); n == 0; n, _ = c.Count() {
			if ctx.Err() != nil {
				return fmt.Errorf("joiner heard nothing")
			}
			time.Sleep(5 * time.Millisecond)
		}
		s.Leave(roomID, c.ID)
		return nil
	}
	// One cycle first, so that whatever pion starts once per process exists
	// before the baseline is taken.
	if err := cycle(); err != nil {
		t.Fatal(err)
	}
	baseline := testutil.StableGoroutines()

	const cycles, parallel = 100, 4
	if err := testutil.InBatches(cycles, parallel, cycle); err != nil {
		t.Fatal(err)
	}
	if st := s.Stats(); st.Peers != 1 || st.Rooms != 1 {
		t.Errorf("after %d join/leave cycles: %d PeerConnections in %d rooms, want only the talker's", cycles, st.Peers, st.Rooms)
	}
	if err := testutil.WaitGoroutines(baseline, 10*time.Second); err != nil {
		t.Errorf("after %d join/leave cycles: %v", cycles, err)
	}
	// The talker still reaches a new member.
	l := join(t, s, api, roomID, Listen, 'z')
	testutil.WaitFor(t, 5*time.Second, "a member joining after the cycles to hear the talker", func() bool { n, _ := l.Count(); return n > 0 })
}

func TestRewrite(t *testing.T) {
	testutil.LeakCheck(t)
	var o outStream
	ms := int64(time.Millisecond)
	h := func(seq uint16, ts uint32) *rtp.Header {
		return &rtp.Header{SequenceNumber: seq, Timestamp: ts, SSRC: 7}
	}

	// The first talker passes through unchanged, marker on its first packet.
	if seq, ts, m := o.rewrite(1, 1, h(65534, 100), 0); seq != 65534 || ts != 100 || !m {
		t.Fatalf("first packet: %d %d %v", seq, ts, m)
	}
	if seq, ts, m := o.rewrite(1, 1, h(65535, 1060), 20*ms); seq != 65535 || ts != 1060 || m {
		t.Fatalf("second packet: %d %d %v", seq, ts, m)
	}
	// A new talker 500 ms later: seq wraps to 0, timestamp +24000.
	if seq, ts, m := o.rewrite(2, 2, h(1000, 5), 520*ms); seq != 0 || ts != 1060+24000 || !m {
		t.Fatalf("handover: %d %d %v", seq, ts, m)
	}
	// Its loss and reordering pass through unchanged.
	if seq, ts, _ := o.rewrite(2, 2, h(1002, 5+1920), 560*ms); seq != 2 || ts != 1060+24000+1920 {
		t.Fatalf("after a loss: %d %d", seq, ts)
	}
	if seq, _, _ := o.rewrite(2, 2, h(1001, 5+960), 561*ms); seq != 1 {
		t.Fatalf("late packet: %d", seq)
	}
	// A handover in the same instant still advances by one frame, from the
	// highest packet sent (seq 2), not the late one.
	if seq, ts, _ := o.rewrite(1, 3, h(9, 9), 561*ms); seq != 3 || ts != 1060+24000+1920+960 {
		t.Fatalf("instant handover: %d %d", seq, ts)
	}
	// The same talker with a new SSRC (it renegotiated) is a new stream too.
	if seq, _, m := o.rewrite(1, 3, &rtp.Header{SequenceNumber: 500, SSRC: 8}, 600*ms); seq != 4 || !m {
		t.Fatalf("new SSRC: %d %v", seq, m)
	}
}

// A new turn of the same talker starts where the listener's clock is, not
// where the talker's timestamps ran on to during the pause (issue 17): its
// first packet, however late for its own timestamp, is on time to the
// listener's jitter buffer, and the ones that follow keep their spacing.
func TestRewriteAnchorsEveryTurn(t *testing.T) {
	var o outStream
	ms := int64(time.Millisecond)
	h := func(seq uint16, ts uint32, marker bool) *rtp.Header {
		return &rtp.Header{SequenceNumber: seq, Timestamp: ts, SSRC: 7, Marker: marker}
	}
	o.rewrite(1, 1, h(10, 0, true), 0)
	o.rewrite(1, 1, h(11, 960, false), 20*ms)
	// 1 s later by the talker's clock, but its first packet reached us
	// 1.1 s after the last one (it stalled 100 ms on the way), then the
	// next in a burst right behind it.
	if seq, ts, m := o.rewrite(1, 2, h(20, 48000+960, true), 1120*ms); seq != 12 || ts != 960+1100*48 || !m {
		t.Fatalf("the next turn's first packet: seq %d ts %d marker %v, want 12 %d true", seq, ts, m, 960+1100*48)
	}
	if seq, ts, m := o.rewrite(1, 2, h(21, 48000+1920, false), 1121*ms); seq != 13 || ts != 960+1100*48+960 || m {
		t.Fatalf("the burst behind it: seq %d ts %d marker %v", seq, ts, m)
	}

	// A turn that starts with the silence a mic not yet on sends (DTX, no
	// marker), then speech (marker) 150 ms later by the talker's clock
	// but 230 ms later here: the speech is anchored anew, its numbering
	// is the talker's (a lost packet stays lost).
	_, dtxTS, _ := o.rewrite(1, 3, h(30, 200000, false), 3*1000*ms)
	if seq, ts, m := o.rewrite(1, 3, h(32, 200000+150*48, true), 3230*ms); seq != 16 || ts != dtxTS+230*48 || !m {
		t.Fatalf("first speech after DTX: seq %d ts %d marker %v, want 16 %d true", seq, ts, m, dtxTS+230*48)
	}
	// Later talkspurts of the turn keep the talker's timing.
	if seq, ts, m := o.rewrite(1, 3, h(33, 200000+900*48, true), 4100*ms); seq != 17 || ts != dtxTS+230*48+750*48 || !m {
		t.Fatalf("a later talkspurt: seq %d ts %d marker %v, want 17 %d true", seq, ts, m, dtxTS+230*48+750*48)
	}
}
