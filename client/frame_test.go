package client

import (
	"errors"
	"testing"

	"sotto/e2ee"
)

// Frames are Opus-sized and checkable bit for bit after an E2EE round trip
// under a v2 epoch key; any change, or the wrong sender, shows. A random
// sid, and sids and epochs small enough to take fewer header bytes.
func TestFrameRoundTrip(t *testing.T) {
	for _, c := range []struct {
		sid   uint32
		epoch uint16
	}{{e2ee.NewSID(), 0}, {0, 5}, {0x3569, 0xcd3b}, {e2ee.NewSID(), 65535}} {
		frameRoundTrip(t, c.sid, c.epoch)
	}
}

func frameRoundTrip(t *testing.T, sid uint32, epoch uint16) {
	t.Helper()
	kid := e2ee.EpochKID(sid, epoch)
	key := e2ee.NewSenderKey()
	snd, err := e2ee.NewEpochSender(key, kid)
	if err != nil {
		t.Fatal(err)
	}
	rcv := e2ee.NewEpochReceiver()
	if err := rcv.SetSenderKey(kid, key); err != nil {
		t.Fatal(err)
	}
	sizes := map[int]bool{}
	for n := uint32(0); n < 500; n++ {
		f := appendFrame(nil, sid, n)
		if len(f) < minFrameSize || len(f) > maxFrameSize || f[0] != frameTOC {
			t.Fatalf("KID %#x frame %d: %d bytes, TOC %#x", kid, n, len(f), f[0])
		}
		sizes[len(f)] = true
		enc, err := snd.Encrypt(nil, f)
		if err != nil {
			t.Fatal(err)
		}
		// The sender's CTR is n: its first frame is CTR 0. RFC 9605 §4.3:
		// a config byte, then KID and CTR in their fewest bytes (none when
		// under 8), then the 16-byte GCM tag; worked out here, not by
		// e2ee, which Encrypt uses itself.
		want := 1 + valueBytes(kid) + valueBytes(uint64(n)) + 16
		if over := len(enc) - len(f); over != want {
			t.Fatalf("KID %#x frame %d: E2EE overhead %d bytes, want %d", kid, n, over, want)
		}
		dec, err := rcv.Decrypt(nil, enc)
		if err != nil {
			t.Fatal(err)
		}
		if got, ok := checkFrame(sid, dec); !ok || got != n {
			t.Fatalf("KID %#x frame %d came back as %d, intact %v", kid, n, got, ok)
		}
		if _, ok := checkFrame(sid^1, dec); ok {
			t.Fatal("a frame checks out as another sender's")
		}
		dec[len(dec)-1] ^= 1
		if _, ok := checkFrame(sid, dec); ok {
			t.Fatal("a changed frame checks out")
		}
	}
	if len(sizes) != maxFrameSize-minFrameSize+1 {
		t.Errorf("KID %#x: %d distinct sizes, want every size from %d to %d", kid, len(sizes), minFrameSize, maxFrameSize)
	}
}

// valueBytes is how many bytes an SFrame header gives a KID or CTR value.
func valueBytes(v uint64) int {
	if v < 8 {
		return 0
	}
	n := 0
	for ; v > 0; v >>= 8 {
		n++
	}
	return n
}

func TestErrorIs(t *testing.T) {
	err := error(&Error{Code: "floor_busy", Message: "held by someone"})
	if !errors.Is(err, ErrFloorBusy) || errors.Is(err, ErrListenOnly) {
		t.Errorf("errors.Is on %v", err)
	}
}

func TestLoopbackURL(t *testing.T) {
	for u, want := range map[string]bool{
		"ws://127.0.0.1:8080/ws": true, "ws://localhost/ws": true, "ws://[::1]:80/ws": true,
		"wss://sotto.example/ws": false, "ws://10.0.0.1/ws": false,
	} {
		if got := loopbackURL(u); got != want {
			t.Errorf("loopbackURL(%q) = %v", u, got)
		}
	}
}
