package sfu

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/pion/webrtc/v4"
)

// fuzzOfferTimeout bounds one Offer: gathering on loopback takes a
// millisecond.
const fuzzOfferTimeout = 5 * time.Second

// FuzzOffer feeds arbitrary SDP, as a client's offer message carries it, to
// checkOffer and then, if it is accepted, to a real SFU's Offer (pion's
// SetRemoteDescription, CreateAnswer, ICE gathering) and Leave. Nothing may
// panic; checkOffer accepts only SDP with exactly one audio section; Offer
// fails only with ErrBadOffer (the client's fault), or succeeds with an
// answer that holds at most one media section, audio; and Leave leaves no
// state behind. (That an offer without Opus gets an empty answer rather
// than a refusal, which docs/protocol.md promises, is TestOfferWithoutOpus.)
//
// Offers that declare ice-lite are checked but not run through the SFU: with
// a lite peer the server's own lite agent would nominate a pair without a
// check and start DTLS towards whatever candidate the SDP names, and a
// fuzzer's candidates may name addresses off this machine. (The SFU listens
// on 127.0.0.1, which cannot send elsewhere, but the test should not depend
// on that.) TestOfferIceLite covers that case with a loopback address.
//
// Seeds are in testdata/fuzz/FuzzOffer.
func FuzzOffer(f *testing.F) {
	s, err := New(Config{UDPAddr: "127.0.0.1:0", LogWriter: discard{}})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { s.Close() })
	roomID := [16]byte{0xf0}
	f.Fuzz(func(t *testing.T, sdp string) {
		err := checkOffer(sdp)
		if err != nil {
			if !errors.Is(err, ErrBadOffer) {
				t.Fatalf("checkOffer: %v is not ErrBadOffer", err)
			}
		} else {
			parsed, perr := (&webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: sdp}).Unmarshal()
			if perr != nil || len(parsed.MediaDescriptions) != 1 || parsed.MediaDescriptions[0].MediaName.Media != "audio" {
				t.Fatalf("checkOffer accepted SDP that is not one audio section (%v)", perr)
			}
		}
		if err != nil || strings.Contains(strings.ToLower(sdp), "ice-lite") {
			return
		}
		member := uuid.New()
		ctx, cancel := context.WithTimeout(context.Background(), fuzzOfferTimeout)
		defer cancel()
		answer, err := s.Offer(ctx, roomID, member, Talk, sdp, nil)
		s.Leave(roomID, member)
		if st := s.Stats(); st.Peers != 0 || st.Rooms != 0 {
			t.Fatalf("state left after Leave: %+v", st)
		}
		if err != nil {
			if !errors.Is(err, ErrBadOffer) {
				t.Fatalf("Offer failed with %v, not ErrBadOffer", err)
			}
			return
		}
		if n := strings.Count(answer, "\nm="); n > 1 || (n == 1 && !strings.Contains(answer, "\nm=audio ")) {
			t.Fatalf("answer with %d media sections:\n%s", n, answer)
		}
	})
}

// discard is pion's log sink in fuzzing: malformed offers make it log.
type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }

// FuzzAddCandidate feeds arbitrary ICE candidate JSON, as a client's ice
// message carries it (a JSON object of at most 2048 bytes, which signal
// checks first), to AddCandidate for a member whose offer has been applied.
// Nothing may panic, and the member's session survives whatever it is
// sent. The member is renewed before its candidate budget runs out, so that
// every input reaches pion's candidate parser. The client's offer is not
// ice-lite, so the server (itself lite) never sends to the candidates.
// Seeds are in testdata/fuzz/FuzzAddCandidate.
func FuzzAddCandidate(f *testing.F) {
	s, err := New(Config{UDPAddr: "127.0.0.1:0", LogWriter: discard{}})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { s.Close() })
	offer := seedOffer(f)
	roomID := [16]byte{0xf1}
	var member uuid.UUID
	added := 0 // candidates sent to member: its budget is maxRemoteCandidates
	renew := func(t *testing.T) {
		if member != uuid.Nil {
			s.Leave(roomID, member)
		}
		member, added = uuid.New(), 0
		ctx, cancel := context.WithTimeout(context.Background(), fuzzOfferTimeout)
		defer cancel()
		if _, err := s.Offer(ctx, roomID, member, Talk, offer, nil); err != nil {
			t.Fatalf("the seed offer: %v", err)
		}
	}
	f.Fuzz(func(t *testing.T, candidate []byte) {
		if member == uuid.Nil || added >= maxRemoteCandidates {
			renew(t)
		}
		added++
		_ = s.AddCandidate(roomID, member, candidate)
		if s.find(roomID, member) == nil {
			t.Fatal("a candidate ended the member's media session")
		}
	})
}

// seedOffer is the pion client offer of the FuzzOffer corpus.
func seedOffer(f *testing.F) string {
	b, err := os.ReadFile(filepath.Join("testdata", "fuzz", "FuzzOffer", "pion-audio"))
	if err != nil {
		f.Fatal(err)
	}
	_, q, _ := strings.Cut(strings.TrimSpace(string(b)), "\n")
	sdp, err := strconv.Unquote(strings.TrimSuffix(strings.TrimPrefix(q, "string("), ")"))
	if err != nil {
		f.Fatal(err)
	}
	return sdp
}
