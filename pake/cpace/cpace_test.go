package cpace

import (
	"bytes"
	"encoding/hex"
	"testing"

	"github.com/gtank/ristretto255"
)

// The draft's published vectors are checked in sotto/pake (vectors_test.go,
// reading testdata/vectors.json); these are the edges the vectors do not
// reach.

func TestPrependLenLEB128(t *testing.T) {
	for _, c := range []struct {
		n      int
		prefix string
	}{{0, "00"}, {127, "7f"}, {128, "8001"}, {300, "ac02"}, {16383, "ff7f"}, {16384, "808001"}} {
		got := PrependLen(make([]byte, c.n))
		if hex.EncodeToString(got[:len(got)-c.n]) != c.prefix {
			t.Errorf("length %d: prefix %x, want %s", c.n, got[:len(got)-c.n], c.prefix)
		}
	}
}

func TestGeneratorStringPadding(t *testing.T) {
	dsi := []byte(DSI)
	// A short PRS: DSI, PRS and the padding fill the first 128-byte block
	// exactly (the padding's own length byte included).
	gs := GeneratorString(dsi, []byte("1234567"), nil, nil, 128)
	if len(gs) != 128+2 {
		t.Errorf("short PRS: %d bytes, want 130", len(gs))
	}
	// A PRS too long to pad: no padding, the length byte says 0.
	long := bytes.Repeat([]byte{'x'}, 200)
	gs = GeneratorString(dsi, long, nil, nil, 128)
	if want := LVCat(dsi, long, nil, nil, nil); !bytes.Equal(gs, want) {
		t.Error("long PRS: padding added")
	}
}

// zeroReader hands out zero bytes a given number of times, then 0x01s.
type zeroReader struct{ zeros int }

func (z *zeroReader) Read(p []byte) (int, error) {
	for i := range p {
		if z.zeros > 0 {
			p[i] = 0
			z.zeros--
		} else {
			p[i] = 1
		}
	}
	return len(p), nil
}

func TestSampleScalar(t *testing.T) {
	s, err := SampleScalar(bytes.NewReader(bytes.Repeat([]byte{0xff}, 32)))
	if err != nil || s[31] != 0x0f || s[0] != 0xff {
		t.Fatalf("masking: %x, %v", s, err)
	}
	if _, err := ScalarFromBytes(s); err != nil {
		t.Errorf("a masked scalar is not canonical: %v", err)
	}
	// All-zero draws are refused and drawn again.
	s, err = SampleScalar(&zeroReader{zeros: 64})
	if err != nil || s[0] != 1 {
		t.Fatalf("zero draws: %x, %v", s, err)
	}
	if _, err := SampleScalar(bytes.NewReader(make([]byte, 31))); err == nil {
		t.Error("a short random source gave a scalar")
	}
}

func TestScalarFromBytes(t *testing.T) {
	order, _ := hex.DecodeString("edd3f55c1a631258d69cf7a2def9de1400000000000000000000000000000010")
	for name, b := range map[string][]byte{
		"zero":     make([]byte, 32),
		"order":    order,
		"all ones": bytes.Repeat([]byte{0xff}, 32),
		"short":    make([]byte, 31),
	} {
		if _, err := ScalarFromBytes(b); err != ErrScalar {
			t.Errorf("%s: %v, want ErrScalar", name, err)
		}
	}
	one := make([]byte, 32)
	one[0] = 1
	if _, err := ScalarFromBytes(one); err != nil {
		t.Error(err)
	}
}

func TestScalarMultVfyRejects(t *testing.T) {
	one := make([]byte, 32)
	one[0] = 1
	y, _ := ScalarFromBytes(one)
	base := ristretto255.NewGeneratorElement().Bytes()
	if got := ScalarMultVfy(y, base); !bytes.Equal(got, base) {
		t.Fatalf("1*B = %x", got)
	}
	nonCanonical := bytes.Repeat([]byte{0xff}, 32)
	nonCanonical[0], nonCanonical[31] = 0xee, 0x7f // p + 1
	for name, x := range map[string][]byte{
		"identity":     Identity,
		"p + 1":        nonCanonical,
		"negative s":   append([]byte{1}, make([]byte, 31)...),
		"31 bytes":     base[:31],
		"33 bytes":     append(bytes.Clone(base), 0),
		"high bit set": append(bytes.Clone(base[:31]), base[31]|0x80),
		"empty":        nil,
	} {
		if got := ScalarMultVfy(y, x); !IsIdentity(got) {
			t.Errorf("%s: %x, want the identity", name, got)
		}
	}
}
