package client

import (
	"errors"
	"testing"

	"sotto/e2ee"
)

// Frames are Opus-sized and checkable bit for bit after an E2EE round trip;
// any change, or the wrong sender, shows.
func TestFrameRoundTrip(t *testing.T) {
	keys, err := e2ee.DeriveRoomKeys(e2ee.NewSecret())
	if err != nil {
		t.Fatal(err)
	}
	kid := e2ee.NewKID()
	snd, _ := e2ee.NewSender(keys.Media[:], kid)
	rcv, _ := e2ee.NewReceiver(keys.Media[:])
	if err := rcv.AddSender(kid); err != nil {
		t.Fatal(err)
	}
	sizes := map[int]bool{}
	for n := uint32(0); n < 500; n++ {
		f := appendFrame(nil, kid, n)
		if len(f) < minFrameSize || len(f) > maxFrameSize || f[0] != frameTOC {
			t.Fatalf("frame %d: %d bytes, TOC %#x", n, len(f), f[0])
		}
		sizes[len(f)] = true
		enc, err := snd.Encrypt(nil, f)
		if err != nil {
			t.Fatal(err)
		}
		if over := len(enc) - len(f); over < 23 || over > 26 {
			t.Fatalf("E2EE overhead %d bytes", over)
		}
		dec, err := rcv.Decrypt(nil, enc)
		if err != nil {
			t.Fatal(err)
		}
		if got, ok := checkFrame(kid, dec); !ok || got != n {
			t.Fatalf("frame %d came back as %d, intact %v", n, got, ok)
		}
		if _, ok := checkFrame(kid^1, dec); ok {
			t.Fatal("a frame checks out as another sender's")
		}
		dec[len(dec)-1] ^= 1
		if _, ok := checkFrame(kid, dec); ok {
			t.Fatal("a changed frame checks out")
		}
	}
	if len(sizes) != maxFrameSize-minFrameSize+1 {
		t.Errorf("%d distinct sizes, want every size from %d to %d", len(sizes), minFrameSize, maxFrameSize)
	}
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
