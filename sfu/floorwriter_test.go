package sfu

import (
	"context"
	"net"
	"runtime"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"

	"sotto/internal/testutil"
	"sotto/sfu/sfutest"
)

// talkTo has talker send frames packets to listeners (already joined, the
// talker holding the floor) and checks that each listener got every one,
// intact and in order.
func talkTo(t *testing.T, talker *sfutest.Client, listeners []*sfutest.Client, frames uint32) {
	t.Helper()
	warmUp(t, talker, listeners)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if n := talker.Talk(ctx, 0, int(frames), 20*time.Millisecond); n != int(frames) {
		t.Fatalf("sent %d frames, want %d", n, frames)
	}
	heard := func(l *sfutest.Client) []sfutest.Packet {
		var out []sfutest.Packet
		for _, p := range l.Received() {
			if p.N < frames {
				out = append(out, p)
			}
		}
		return out
	}
	testutil.WaitFor(t, 5*time.Second, "delivery", func() bool {
		for _, l := range listeners {
			if len(heard(l)) < int(frames) {
				return false
			}
		}
		return true
	})
	for _, l := range listeners {
		if err := checkSegment(segment{From: talker.Tag, Pkts: heard(l)}); err != nil {
			t.Errorf("listener %c: %v", l.Tag, err)
		}
	}
}

// TestOwnWritesBatchTheFanOut: over UDP the SFU encrypts the listeners'
// copies itself and sends each packet's copies together, in far fewer
// system calls than copies (one sendmmsg per packet on Linux), and every
// listener decrypts every packet, in order, bit-exact.
func TestOwnWritesBatchTheFanOut(t *testing.T) {
	testutil.LeakCheck(t)
	s := newSFU(t, Config{})
	api := clientAPI(t, false)
	roomID := [16]byte{0x19, 1}
	talker := join(t, s, api, roomID, Talk, 'T')
	listeners := joinN(t, s, api, roomID, Listen, 'a', 8)
	s.SetFloor(roomID, talker.ID)

	const frames = 100
	talkTo(t, talker, listeners, frames)
	st := s.Stats()
	if st.OwnWrites < 8*frames || st.OwnWrites != st.Forwarded {
		t.Errorf("the SFU wrote %d copies itself of %d forwarded, want all of at least %d", st.OwnWrites, st.Forwarded, 8*frames)
	}
	if st.WriteCalls*4 > st.OwnWrites {
		t.Errorf("%d copies took %d system calls: not batched (8 listeners, want at most one call per 4 copies)", st.OwnWrites, st.WriteCalls)
	}
}

// TestPionFloorWritesStillWork: with Config.PionFloorWrites the floor
// tracks go through pion as before, and are heard alike.
func TestPionFloorWritesStillWork(t *testing.T) {
	testutil.LeakCheck(t)
	s := newSFU(t, Config{PionFloorWrites: true})
	api := clientAPI(t, false)
	roomID := [16]byte{0x19, 2}
	talker := join(t, s, api, roomID, Talk, 'T')
	listeners := joinN(t, s, api, roomID, Listen, 'a', 3)
	s.SetFloor(roomID, talker.ID)

	talkTo(t, talker, listeners, 50)
	if st := s.Stats(); st.OwnWrites != 0 || st.WriteCalls != 0 || st.Forwarded < 3*50 {
		t.Errorf("stats %+v: want every copy through pion", st)
	}
}

// TestICETCPFallback: a listener that can only do ICE-TCP hears the talker
// (through pion's writer), beside one over UDP (through the SFU's own);
// both hear everything, in order, bit-exact.
func TestICETCPFallback(t *testing.T) {
	testutil.LeakCheck(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := newSFU(t, Config{TCPListener: ln})
	udp, tcp := clientAPI(t, false), clientAPI(t, true)
	roomID := [16]byte{0x19, 3}
	talker := join(t, s, udp, roomID, Talk, 'T')
	overUDP := join(t, s, udp, roomID, Listen, 'u')
	overTCP := join(t, s, tcp, roomID, Listen, 't')
	s.SetFloor(roomID, talker.ID)

	const frames = 50
	talkTo(t, talker, []*sfutest.Client{overUDP, overTCP}, frames)
	st := s.Stats()
	if st.OwnWrites < frames || st.OwnWrites >= st.Forwarded {
		t.Errorf("own writes %d of %d forwarded: want the UDP listener's (≥ %d) and not the TCP one's", st.OwnWrites, st.Forwarded, frames)
	}
}

// TestBigRoomFanOutInLanes: a room with more listeners than one lane takes
// splits its fan-out over goroutines (lanes.go, shortened here to 2
// listeners a lane), and every listener still hears every packet, in
// order, bit-exact.
func TestBigRoomFanOutInLanes(t *testing.T) {
	testutil.LeakCheck(t)
	defer func(n int) { lanesFrom = n }(lanesFrom)
	lanesFrom = 2
	procs := runtime.GOMAXPROCS(4)
	defer runtime.GOMAXPROCS(procs)

	s := newSFU(t, Config{})
	api := clientAPI(t, false)
	roomID := [16]byte{0x19, 4}
	talker := join(t, s, api, roomID, Talk, 'T')
	listeners := joinN(t, s, api, roomID, Listen, 'a', 8)
	s.SetFloor(roomID, talker.ID)

	talkTo(t, talker, listeners, 100)
	s.mu.Lock()
	r := s.rooms[string(roomID[:])]
	s.mu.Unlock()
	r.mu.Lock()
	lanes := len(r.lanes)
	r.mu.Unlock()
	if lanes != 4 {
		t.Errorf("the fan-out used %d lanes, want 4 (8 listeners, 2 a lane, GOMAXPROCS 4)", lanes)
	}
}

// TestMoveToICETCPEndsOwnWrites: a connection whose floor track the SFU
// writes cannot hand it to pion (two SRTP contexts on one SSRC could reuse
// a packet index), so when its selected pair becomes ICE-TCP its media
// session is ended and the member must reconnect; a move between UDP
// addresses is followed.
func TestMoveToICETCPEndsOwnWrites(t *testing.T) {
	testutil.LeakCheck(t)
	s := newSFU(t, Config{})
	api := clientAPI(t, false)
	roomID := [16]byte{0x19, 5}
	l := join(t, s, api, roomID, Listen, 'l')
	p := s.find(roomID, l.ID)
	if p == nil {
		t.Fatal("no peer")
	}
	writer := func() *floorWriter {
		p.room.mu.Lock()
		defer p.room.mu.Unlock()
		return p.fw
	}
	testutil.WaitFor(t, 5*time.Second, "the SFU to write the listener's track", func() bool { return writer() != nil })

	moved := &webrtc.ICECandidatePair{Remote: &webrtc.ICECandidate{Protocol: webrtc.ICEProtocolUDP, Address: "127.0.0.1", Port: 40000}}
	p.room.pathChanged(p, moved)
	if w := writer(); w == nil || w.to.Port() != 40000 {
		t.Fatalf("after a move to another UDP address the writer is %+v, want it following", w)
	}

	peers := s.Stats().Peers
	p.room.pathChanged(p, &webrtc.ICECandidatePair{Remote: &webrtc.ICECandidate{Protocol: webrtc.ICEProtocolTCP, Address: "127.0.0.1", Port: 40001}})
	testutil.WaitFor(t, 5*time.Second, "the session to end", func() bool { return s.Stats().Peers == peers-1 })
	p.room.mu.Lock()
	fw, chosen, ready := p.fw, p.fwChosen, p.ready
	p.room.mu.Unlock()
	if fw != nil || !chosen || ready {
		t.Errorf("after a move to ICE-TCP: writer %v, chosen %v, ready %v; want none, chosen (pion never takes over), not ready", fw, chosen, ready)
	}
}
