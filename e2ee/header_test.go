package e2ee

import (
	"errors"
	"math/rand/v2"
	"testing"
)

func TestHeaderRoundTrip(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 20000; i++ {
		// Spread values over every encoded length, 0 to 8 bytes.
		kid := r.Uint64() >> r.IntN(65)
		ctr := r.Uint64() >> r.IntN(65)
		h := AppendHeader([]byte{0xee}, kid, ctr)[1:]
		if len(h) > MaxHeaderSize {
			t.Fatalf("header %x longer than MaxHeaderSize", h)
		}
		k, c, n, err := ParseHeader(h)
		if err != nil || k != kid || c != ctr || n != len(h) {
			t.Fatalf("(%d,%d) -> %x -> %d,%d,%d,%v", kid, ctr, h, k, c, n, err)
		}
	}
}

func TestParseHeaderRejects(t *testing.T) {
	for _, c := range []struct {
		name string
		in   []byte
		want error
	}{
		{"empty", nil, ErrTruncated},
		{"kid cut short", []byte{0x90, 0x01}, ErrTruncated},          // KID says 2 bytes
		{"ctr cut short", []byte{0x0a, 0x01, 0x02}, ErrTruncated},    // CTR says 3 bytes
		{"small kid extended", []byte{0x80, 0x05}, ErrBadHeader},     // 5 belongs in K
		{"small ctr extended", []byte{0x08, 0x07}, ErrBadHeader},     // 7 belongs in C
		{"kid leading zero", []byte{0x90, 0x00, 0xff}, ErrBadHeader}, // 0x00ff fits in 1 byte
		{"ctr leading zero", []byte{0x09, 0x00, 0x08}, ErrBadHeader},
	} {
		_, _, _, err := ParseHeader(c.in)
		if !errors.Is(err, c.want) {
			t.Errorf("%s: err = %v, want %v", c.name, err, c.want)
		}
	}
}
