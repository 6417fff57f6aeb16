package e2ee

import (
	"errors"
	"testing"
)

func TestEpochKIDRoundTrip(t *testing.T) {
	cases := []struct {
		sid   uint32
		epoch uint16
		kid   uint64
	}{
		{0, 0, 0},
		{0, 7, 7},
		{1, 0, 0x10000},
		{0x1a2b3c4d, 0x0102, 0x1a2b3c4d0102},
		{0xffffffff, 0xffff, MaxKID},
	}
	for _, c := range cases {
		if got := EpochKID(c.sid, c.epoch); got != c.kid {
			t.Errorf("EpochKID(%#x, %d) = %#x, want %#x", c.sid, c.epoch, got, c.kid)
		}
		sid, epoch, err := SplitKID(c.kid)
		if err != nil || sid != c.sid || epoch != c.epoch {
			t.Errorf("SplitKID(%#x) = %#x, %d, %v", c.kid, sid, epoch, err)
		}
	}
	if _, _, err := SplitKID(MaxKID + 1); !errors.Is(err, ErrBadKID) {
		t.Errorf("SplitKID(2^48): %v, want ErrBadKID", err)
	}
}

func TestEpochNewer(t *testing.T) {
	cases := []struct {
		b, a  uint16
		newer bool
	}{
		{1, 0, true},
		{0, 1, false},
		{5, 5, false},
		{0, 0xffff, true}, // the counter wraps and still moves forward
		{0xffff, 0, false},
		{0x7fff, 0, true}, // the last newer one: 2^15 - 1 ahead
		{0x8000, 0, false},
		{0x8001, 0, false},
		{0x8000 + 5, 5, false},
		{3, 0xfffe, true},
	}
	for _, c := range cases {
		if got := EpochNewer(c.b, c.a); got != c.newer {
			t.Errorf("EpochNewer(%d, %d) = %v, want %v", c.b, c.a, got, c.newer)
		}
	}
	// Never both ways: a replay cannot look newer than the key it replays.
	for a := 0; a < 1<<16; a += 97 {
		for _, d := range []int{0, 1, 0x7fff, 0x8000, 0xffff} {
			b := uint16(a + d)
			if EpochNewer(b, uint16(a)) && EpochNewer(uint16(a), b) {
				t.Fatalf("%d and %d are each newer than the other", a, b)
			}
		}
	}
}
