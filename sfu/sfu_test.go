package sfu

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/pion/webrtc/v4"

	"sotto/internal/testutil"
	"sotto/sfu/sfutest"
)

// offerFrom makes a client-side offer with the given transceivers, without
// connecting anything.
func offerFrom(t *testing.T, kinds ...webrtc.RTPCodecType) string {
	t.Helper()
	m := &webrtc.MediaEngine{}
	if err := m.RegisterDefaultCodecs(); err != nil {
		t.Fatal(err)
	}
	pc, err := webrtc.NewAPI(webrtc.WithMediaEngine(m)).NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	for _, k := range kinds {
		if _, err := pc.AddTransceiverFromKind(k); err != nil {
			t.Fatal(err)
		}
	}
	offer, err := pc.CreateOffer(nil)
	if err != nil {
		t.Fatal(err)
	}
	return offer.SDP
}

func TestAnswerIsOpusOnlyWithCandidates(t *testing.T) {
	testutil.LeakCheck(t)
	s := newSFU(t, Config{})
	roomID, member := [16]byte{6}, uuid.New()
	// A browser offers Opus, RED, CN, G.711 and header extensions; the
	// answer must keep Opus alone, with FEC and DTX, and no extensions.
	offer := offerFrom(t, webrtc.RTPCodecTypeAudio)
	answer, err := s.Offer(context.Background(), roomID, member, Talk, offer, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"opus/48000/2", "useinbandfec=1", "usedtx=1", "a=sendrecv", "typ host", "127.0.0.1"} {
		if !strings.Contains(answer, want) {
			t.Errorf("answer lacks %q:\n%s", want, answer)
		}
	}
	for _, banned := range []string{"red/", "CN/", "PCMU", "G722", "a=extmap:", "goog-remb", "transport-cc", "nack"} {
		if strings.Contains(answer, banned) {
			t.Errorf("answer has %q:\n%s", banned, answer)
		}
	}
	if n := strings.Count(answer, "m=audio"); n != 1 {
		t.Errorf("answer has %d audio sections", n)
	}
	s.Leave(roomID, member)
	if st := s.Stats(); st.Peers != 0 || st.Rooms != 0 {
		t.Errorf("after Leave: %+v", st)
	}
}

func TestWithOpusParams(t *testing.T) {
	for in, want := range map[string]string{
		"a=rtpmap:111 opus/48000/2\r\na=fmtp:111 minptime=10;useinbandfec=1\r\n":          "a=rtpmap:111 opus/48000/2\r\na=fmtp:111 minptime=10;useinbandfec=1;usedtx=1\r\n",
		"a=rtpmap:109 opus/48000/2\r\na=fmtp:109 stereo=1;useinbandfec=0;usedtx=0\r\n":    "a=rtpmap:109 opus/48000/2\r\na=fmtp:109 stereo=1;useinbandfec=1;usedtx=1\r\n",
		"a=rtpmap:111 opus/48000/2\r\na=sendrecv\r\n":                                     "a=rtpmap:111 opus/48000/2\r\na=fmtp:111 useinbandfec=1;usedtx=1\r\na=sendrecv\r\n",
		"a=rtpmap:0 PCMU/8000\r\n":                                                        "a=rtpmap:0 PCMU/8000\r\n",
		"a=rtpmap:111 opus/48000/2\na=fmtp:112 x=1\na=fmtp:111 useinbandfec=1;usedtx=1\n": "a=rtpmap:111 opus/48000/2\na=fmtp:112 x=1\na=fmtp:111 useinbandfec=1;usedtx=1\n",
	} {
		if got := withOpusParams(in); got != want {
			t.Errorf("withOpusParams(%q)\n got %q\nwant %q", in, got, want)
		}
	}
}

func TestOfferRejected(t *testing.T) {
	testutil.LeakCheck(t)
	s := newSFU(t, Config{})
	roomID := [16]byte{7}
	for name, offer := range map[string]string{
		"video only":   offerFrom(t, webrtc.RTPCodecTypeVideo),
		"two audio":    offerFrom(t, webrtc.RTPCodecTypeAudio, webrtc.RTPCodecTypeAudio),
		"audio+video":  offerFrom(t, webrtc.RTPCodecTypeAudio, webrtc.RTPCodecTypeVideo),
		"not SDP":      "hello",
		"empty string": "",
	} {
		_, err := s.Offer(context.Background(), roomID, uuid.New(), Talk, offer, nil)
		if !errors.Is(err, ErrBadOffer) {
			t.Errorf("%s: err = %v, want ErrBadOffer", name, err)
		}
	}
	if _, err := s.Offer(context.Background(), roomID, uuid.New(), Role(9), offerFrom(t, webrtc.RTPCodecTypeAudio), nil); !errors.Is(err, ErrBadRole) {
		t.Errorf("bad role: err = %v", err)
	}
	if err := s.AddCandidate(roomID, uuid.New(), []byte(`{"candidate":""}`)); !errors.Is(err, ErrNoPeer) {
		t.Errorf("candidate for nobody: err = %v", err)
	}
	if st := s.Stats(); st.Peers != 0 || st.Rooms != 0 {
		t.Errorf("rejected offers left state behind: %+v", st)
	}
}

func TestPublicAddressIsAdvertised(t *testing.T) {
	testutil.LeakCheck(t)
	// 203.0.113.0/24 is reserved for documentation: nothing is sent to it.
	s := newSFU(t, Config{PublicAddrs: []string{"203.0.113.7"}})
	answer, err := s.Offer(context.Background(), [16]byte{8}, uuid.New(), Listen, offerFrom(t, webrtc.RTPCodecTypeAudio), nil)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(answer, "203.0.113.7") || strings.Contains(answer, "127.0.0.1") {
		t.Errorf("answer should advertise only the public address:\n%s", answer)
	}
}

func TestFloorSetBeforeMedia(t *testing.T) {
	testutil.LeakCheck(t)
	s := newSFU(t, Config{})
	api := clientAPI(t, false)
	roomID := [16]byte{9}

	// The registry grants the floor before the holder's media is up.
	holder := uuid.New()
	s.SetFloor(roomID, holder)
	l := join(t, s, api, roomID, Listen, 'l')
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	a, err := sfutest.Join(ctx, api, s, roomID, sfutest.Options{ID: holder, Role: Talk, Tag: 'A', Record: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = a.Close() })
	if err := a.WaitConnected(ctx); err != nil {
		t.Fatal(err)
	}
	startTalking(t, a)
	testutil.WaitFor(t, 5*time.Second, "the holder to be heard", func() bool { n, _ := l.Count(); return n > 0 })

	// Leave of a member that never had media still forgets its floor, and
	// the room goes when the last member leaves.
	ghost := uuid.New()
	s.SetFloor([16]byte{10}, ghost)
	if st := s.Stats(); st.Rooms != 2 {
		t.Errorf("rooms = %d, want 2", st.Rooms)
	}
	s.Leave([16]byte{10}, ghost)
	if st := s.Stats(); st.Rooms != 1 {
		t.Errorf("after the holder without media left: rooms = %d, want 1", st.Rooms)
	}
}

func TestICERestartKeepsTheConnection(t *testing.T) {
	testutil.LeakCheck(t)
	roomID := [16]byte{11}
	s, l := heardRoom(t, roomID, 'l')

	// The listener's network changes: it re-offers with new ICE credentials.
	// The offer claims Talk, as a caller holding a stale role would: a
	// re-offer leaves the role alone (SetRole changes it).
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := l.Restart(ctx, Talk); err != nil {
		t.Fatal(err)
	}
	if p := s.find(roomID, l.ID); p == nil {
		t.Fatal("the listener's session is gone")
	} else {
		p.room.mu.Lock()
		role := p.role
		p.room.mu.Unlock()
		if role != Listen {
			t.Fatalf("a re-offer changed the role to %v", role)
		}
	}
	n, _ := l.Count()
	testutil.WaitFor(t, 5*time.Second, "audio after the restart", func() bool { m, _ := l.Count(); return m > n+25 })
	if st := s.Stats(); st.Peers != 2 {
		t.Errorf("%d PeerConnections after an ICE restart, want the same 2", st.Peers)
	}
	if err := checkSegment(segment{From: 'A', Pkts: l.Received()}); err != nil {
		t.Errorf("stream across the restart: %v", err)
	}
}

func TestCloseWhileTalking(t *testing.T) {
	testutil.LeakCheck(t)
	s := newSFU(t, Config{})
	api := clientAPI(t, false)
	roomID := [16]byte{13}
	a := join(t, s, api, roomID, Talk, 'A')
	joinN(t, s, api, roomID, Listen, 'a', 3)
	s.SetFloor(roomID, a.ID)
	startTalking(t, a)
	testutil.WaitFor(t, 5*time.Second, "forwarding", func() bool { return s.Stats().Forwarded > 30 })
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if st := s.Stats(); st.Peers != 0 || st.Rooms != 0 {
		t.Errorf("after Close: %+v", st)
	}
	if _, err := s.Offer(context.Background(), roomID, uuid.New(), Talk, offerFrom(t, webrtc.RTPCodecTypeAudio), nil); !errors.Is(err, ErrClosed) {
		t.Errorf("Offer after Close: %v", err)
	}
}

// TestCancelledOfferTouchesNothing: an offer whose ctx is already cancelled
// (signaling cancels it when the member's client resumed on a new
// connection) creates no PeerConnection, and does not renegotiate the
// member's live one, which the new connection now owns.
func TestCancelledOfferTouchesNothing(t *testing.T) {
	testutil.LeakCheck(t)
	s := newSFU(t, Config{})
	api := clientAPI(t, false)
	roomID := [16]byte{12}
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()

	if _, err := s.Offer(cancelled, roomID, uuid.New(), Talk, offerFrom(t, webrtc.RTPCodecTypeAudio), nil); !errors.Is(err, context.Canceled) {
		t.Fatalf("Offer with a cancelled ctx: %v, want context.Canceled", err)
	}
	if st := s.Stats(); st.Peers != 0 || st.Rooms != 0 {
		t.Fatalf("after a cancelled offer: %d peers in %d rooms, want none", st.Peers, st.Rooms)
	}

	a := join(t, s, api, roomID, Talk, 'A')
	l := join(t, s, api, roomID, Listen, 'l')
	s.SetFloor(roomID, a.ID)
	startTalking(t, a)
	testutil.WaitFor(t, 5*time.Second, "the talker to be heard", func() bool { n, _ := l.Count(); return n > 10 })
	remote := func() string {
		p := s.find(roomID, l.ID)
		p.mu.Lock()
		defer p.mu.Unlock()
		return p.pc.RemoteDescription().SDP
	}
	before := remote()
	role := func() Role {
		p := s.find(roomID, l.ID)
		p.room.mu.Lock()
		defer p.room.mu.Unlock()
		return p.role
	}
	// The late offer claims Talk for the listener: a stale role, as from a
	// connection that read it before the operator changed it.
	if _, err := s.Offer(cancelled, roomID, l.ID, Talk, offerFrom(t, webrtc.RTPCodecTypeAudio), nil); !errors.Is(err, context.Canceled) {
		t.Fatalf("late offer with a cancelled ctx: %v, want context.Canceled", err)
	}
	if remote() != before {
		t.Fatal("a cancelled offer renegotiated the member's live PeerConnection")
	}
	if got := role(); got != Listen {
		t.Fatalf("a cancelled offer changed the member's role to %v", got)
	}
	if err := s.AddCandidateContext(cancelled, roomID, l.ID, []byte(`{"candidate":"candidate:1 1 udp 1 192.0.2.1 9 typ host","sdpMid":"0"}`)); !errors.Is(err, context.Canceled) {
		t.Fatalf("a candidate with a cancelled ctx: %v, want context.Canceled", err)
	}
	n, _ := l.Count()
	testutil.WaitFor(t, 5*time.Second, "audio after the cancelled offer", func() bool { m, _ := l.Count(); return m > n+25 })
	if st := s.Stats(); st.Peers != 2 {
		t.Errorf("%d PeerConnections, want 2", st.Peers)
	}
}
