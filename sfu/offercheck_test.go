package sfu

import (
	"context"
	"errors"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/pion/webrtc/v4"

	"sotto/internal/testutil"
)

// The server is ICE-lite: it never starts connectivity checks, so it sends
// only to addresses that have themselves sent it a valid, authenticated STUN
// check. A client must not be able to make it send anywhere else. An offer
// that declares itself ice-lite too would let a client do just that: with
// both ends lite, pion's lite agent nominates the best pair without any
// check and starts DTLS (and keepalives) towards whatever candidate the
// offer names, say another host's service. Here that host is a UDP socket
// on loopback, which must receive nothing. Fix: checkOffer refuses an offer
// with an a=ice-lite line (browsers are never lite), answered bad_message
// like any other refused offer.
func TestOfferIceLite(t *testing.T) {
	testutil.LeakCheck(t)
	s := newSFU(t, Config{})
	victim, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer victim.Close()
	port := victim.LocalAddr().(*net.UDPAddr).Port

	offer := offerFrom(t, webrtc.RTPCodecTypeAudio)
	// Session-level ice-lite, and one host candidate: the victim.
	offer = strings.Replace(offer, "t=0 0\r\n", "t=0 0\r\na=ice-lite\r\n", 1)
	offer = strings.TrimRight(offer, "\r\n") + "\r\na=candidate:1 1 udp 2130706431 127.0.0.1 " + strconv.Itoa(port) + " typ host\r\na=end-of-candidates\r\n"

	roomID, member := [16]byte{0x1e}, uuid.New()
	_, err = s.Offer(context.Background(), roomID, member, Talk, offer, nil)
	defer s.Leave(roomID, member)
	if err != nil {
		t.Logf("refused: %v", err)
		return // the fix: nothing was set up, nothing can be sent
	}
	// Count what arrives in a few seconds.
	const listen = 3 * time.Second
	victim.SetReadDeadline(time.Now().Add(listen))
	buf := make([]byte, 2048)
	packets, bytes := 0, 0
	kinds := map[string]int{}
	for {
		n, _, err := victim.ReadFrom(buf)
		if err != nil {
			break
		}
		packets++
		bytes += n
		switch {
		case buf[0] >= 20 && buf[0] <= 63:
			kinds["DTLS"]++
		case buf[0] < 2:
			kinds["STUN"]++
		default:
			kinds["other"]++
		}
	}
	if packets > 0 {
		t.Fatalf("in %v the server sent %d packets (%d bytes; %v) to an address only the client's SDP named", listen, packets, bytes, kinds)
	}
}

// docs/protocol.md: "An offer must hold exactly one audio section and offer
// Opus; anything else is refused with bad_message before a PeerConnection is
// made." checkOffer counts sections but does not look for Opus, so an audio
// section without it makes a PeerConnection, and one rejected in the offer
// itself (port 0, no codecs; found by FuzzOffer) is even answered, with an
// SDP that has no media section at all. Fix: checkOffer also requires the
// audio section to have a non-zero port and an a=rtpmap line naming
// opus/48000 (case-insensitive), and refuses with ErrBadOffer otherwise.
func TestOfferWithoutOpus(t *testing.T) {
	testutil.LeakCheck(t)
	s := newSFU(t, Config{})
	for name, sdp := range map[string]string{
		// What FuzzOffer found (testdata/fuzz/FuzzOffer/rejected-section-no-codecs).
		"rejected section, no codecs": "v= o=0 0 0 IN\ns=\nt=\nm=audio 0 AVP\na=mid:00\na=ice-ufrag:00\na=ice-pwd:00\na=fingerprint: \n",
		"PCMU only": "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 0\r\nc=IN IP4 0.0.0.0\r\n" +
			"a=mid:0\r\na=ice-ufrag:abcd\r\na=ice-pwd:abcdefghijklmnopqrstuvwx\r\n" +
			"a=fingerprint:sha-256 00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF\r\n" +
			"a=setup:actpass\r\na=sendrecv\r\na=rtcp-mux\r\na=rtpmap:0 PCMU/8000\r\n",
	} {
		if err := checkOffer(sdp); !errors.Is(err, ErrBadOffer) {
			t.Errorf("%s: checkOffer let it through (%v): a PeerConnection is made for it", name, err)
		}
		roomID, member := [16]byte{0x0b}, uuid.New()
		answer, err := s.Offer(context.Background(), roomID, member, Talk, sdp, nil)
		s.Leave(roomID, member)
		if !errors.Is(err, ErrBadOffer) {
			t.Errorf("%s: answered (err %v):\n%s", name, err, answer)
		}
	}
}
