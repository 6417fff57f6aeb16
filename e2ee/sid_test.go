package e2ee

import (
	"encoding/hex"
	"errors"
	"testing"
)

func TestSIDRoundTrip(t *testing.T) {
	for _, sid := range []uint32{0, 1, 0x1a2b3c4d, 0xffffffff, NewSID()} {
		s := FormatSID(sid)
		if len(s) != 8 {
			t.Fatalf("FormatSID(%#x) = %q, want 8 digits", sid, s)
		}
		back, err := ParseSID(s)
		if err != nil || back != sid {
			t.Fatalf("ParseSID(%q) = %#x, %v; want %#x", s, back, err, sid)
		}
	}
	if got := FormatSID(0x1a2b3c4d); got != "1a2b3c4d" {
		t.Fatalf("FormatSID = %q", got)
	}
}

func TestParseSIDRejects(t *testing.T) {
	for _, s := range []string{"", "1a2b3c4", "1a2b3c4d0", "1A2B3C4D", "1a2b3c4g", " 1a2b3c4", "0x1a2b3c"} {
		if _, err := ParseSID(s); !errors.Is(err, ErrBadSID) {
			t.Errorf("ParseSID(%q): %v, want ErrBadSID", s, err)
		}
	}
}

func TestNewSIDVaries(t *testing.T) {
	seen := map[uint32]bool{}
	for i := 0; i < 64; i++ {
		seen[NewSID()] = true
	}
	if len(seen) < 60 { // 64 draws of 32 bits: a clash is ~1 in 2^21
		t.Fatalf("only %d distinct sids in 64 draws", len(seen))
	}
}

// seqT returns n bytes start, start+1, ... (test inputs).
func seqT(start byte, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = start + byte(i)
	}
	return b
}

func unhexT(s string) []byte {
	b, err := hex.DecodeString(s)
	if err != nil {
		panic(err)
	}
	return b
}
