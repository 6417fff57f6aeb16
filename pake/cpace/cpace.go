// Package cpace is the CPace balanced PAKE of draft-irtf-cfrg-cpace-21 for
// the cipher suite CPACE-RISTR255-SHA512: the group ristretto255 (RFC 9496,
// through github.com/gtank/ristretto255) and SHA-512. It holds the
// primitives only (generator, scalars, the two scalar multiplications,
// transcripts, ISK); sotto/pake builds the key exchange on them.
//
// Every function follows the draft's definitions (its sections "CPace group
// objects G_Ristretto255 and G_Decaf448" and "The CPace protocol", and
// Appendix A) so that the draft's published ristretto255 vectors (Appendix
// B.3) reproduce byte for byte; static/js/pake/cpace.js is the same code in
// JavaScript.
package cpace

import (
	"bytes"
	"crypto/sha512"
	"errors"
	"io"

	"github.com/gtank/ristretto255"
)

// DSI is G_Ristretto255.DSI, the domain separation identifier.
const DSI = "CPaceRistretto255"

// Sizes: a scalar and an encoded element are 32 bytes, ISK is a SHA-512
// output, and SHA-512's input block (H.s_in_bytes) is 128 bytes.
const (
	ScalarSize  = 32
	ElementSize = 32
	ISKSize     = sha512.Size
	sInBytes    = sha512.BlockSize
)

// Identity is G.I, the encoding of the neutral element: 32 zero bytes.
var Identity = make([]byte, ElementSize)

// PrependLen is prepend_len: the LEB128 encoding of len(b), then b.
func PrependLen(b []byte) []byte {
	var out []byte
	n := len(b)
	for {
		if n < 128 {
			out = append(out, byte(n))
		} else {
			out = append(out, byte(n&0x7f)|0x80)
		}
		n >>= 7
		if n == 0 {
			break
		}
	}
	return append(out, b...)
}

// LVCat is lv_cat: the concatenation of PrependLen of each argument.
func LVCat(parts ...[]byte) []byte {
	var out []byte
	for _, p := range parts {
		out = append(out, PrependLen(p)...)
	}
	return out
}

// GeneratorString is generator_string(DSI, PRS, CI, sid, s_in_bytes):
// lv_cat(DSI, PRS, zero_bytes(len_zpad), CI, sid), where the zero padding
// makes DSI and PRS fill the hash's first input block.
func GeneratorString(dsi, prs, ci, sid []byte, sInBytes int) []byte {
	zpad := max(0, sInBytes-1-len(PrependLen(prs))-len(PrependLen(dsi)))
	return LVCat(dsi, prs, make([]byte, zpad), ci, sid)
}

// GeneratorHash is SHA-512 of the generator string: the 64 bytes that
// element derivation maps to the generator.
func GeneratorHash(prs, ci, sid []byte) []byte {
	h := sha512.Sum512(GeneratorString([]byte(DSI), prs, ci, sid, sInBytes))
	return h[:]
}

// CalculateGenerator is G.calculate_generator(H, PRS, CI, sid): the element
// derivation of RFC 9496 §4.3.4 applied to GeneratorHash.
func CalculateGenerator(prs, ci, sid []byte) *ristretto255.Element {
	g, err := ristretto255.NewIdentityElement().SetUniformBytes(GeneratorHash(prs, ci, sid))
	if err != nil { // only for an input that is not 64 bytes
		panic("cpace: " + err.Error())
	}
	return g
}

// ErrScalar is returned by ScalarFromBytes for anything but the canonical
// encoding of a non-zero scalar.
var ErrScalar = errors.New("cpace: not a canonical non-zero scalar")

// SampleScalar is G.sample_scalar() as the draft recommends for
// ristretto255: 32 random bytes with the bits above the group size (252)
// cleared, read little-endian. Such a value is below 2^252, hence below the
// group order, and so canonical. Zero (probability 2^-252) is refused and
// drawn again, so a scalar is never the identity's.
func SampleScalar(rand io.Reader) (scalar []byte, err error) {
	for {
		b := make([]byte, ScalarSize)
		if _, err := io.ReadFull(rand, b); err != nil {
			return nil, err
		}
		b[31] &= 0x0f
		if !bytes.Equal(b, make([]byte, ScalarSize)) {
			return b, nil
		}
	}
}

// ScalarFromBytes decodes a canonical little-endian scalar, refusing zero.
func ScalarFromBytes(b []byte) (*ristretto255.Scalar, error) {
	s, err := ristretto255.NewScalar().SetCanonicalBytes(b)
	if err != nil || s.Equal(ristretto255.NewScalar()) == 1 {
		return nil, ErrScalar
	}
	return s, nil
}

// ScalarMult is G.scalar_mult(y, g): the encoding of y*g.
func ScalarMult(y *ristretto255.Scalar, g *ristretto255.Element) []byte {
	return ristretto255.NewIdentityElement().ScalarMult(y, g).Bytes()
}

// ScalarMultVfy is G.scalar_mult_vfy(y, X): the encoding of y*decode(X), or
// Identity when X is not a canonical encoding of an element. The caller
// MUST abort when the result is Identity (see IsIdentity): that covers an
// invalid X, the identity X, and so every way a peer could force K.
func ScalarMultVfy(y *ristretto255.Scalar, x []byte) []byte {
	e, err := ristretto255.NewIdentityElement().SetCanonicalBytes(x)
	if err != nil {
		return bytes.Clone(Identity)
	}
	return ristretto255.NewIdentityElement().ScalarMult(y, e).Bytes()
}

// IsIdentity reports whether an encoded element is G.I. Encodings are
// canonical, so comparing bytes is comparing elements.
func IsIdentity(k []byte) bool { return bytes.Equal(k, Identity) }

// TranscriptIR is transcript_ir(Ya, ADa, Yb, ADb) for the
// initiator-responder setting: lv_cat(Ya, ADa) || lv_cat(Yb, ADb).
func TranscriptIR(ya, ada, yb, adb []byte) []byte {
	return append(LVCat(ya, ada), LVCat(yb, adb)...)
}

// LexicographicallyLarger is the draft's lexiographically_larger.
func LexicographicallyLarger(a, b []byte) bool {
	n := min(len(a), len(b))
	for i := 0; i < n; i++ {
		if a[i] != b[i] {
			return a[i] > b[i]
		}
	}
	return len(a) > len(b)
}

// OCat is o_cat: "oc", then the larger of a and b, then the other.
func OCat(a, b []byte) []byte {
	if !LexicographicallyLarger(a, b) {
		a, b = b, a
	}
	return append(append([]byte("oc"), a...), b...)
}

// TranscriptOC is transcript_oc(Ya, ADa, Yb, ADb) for the symmetric
// setting: o_cat(lv_cat(Ya, ADa), lv_cat(Yb, ADb)). Sotto uses the
// initiator-responder transcript; this one is here for the draft's vectors.
func TranscriptOC(ya, ada, yb, adb []byte) []byte {
	return OCat(LVCat(ya, ada), LVCat(yb, adb))
}

// ISKInput is lv_cat(DSI || "_ISK", sid, K) || transcript, the string
// hashed into ISK.
func ISKInput(sid, k, transcript []byte) []byte {
	return append(LVCat([]byte(DSI+"_ISK"), sid, k), transcript...)
}

// ISK is the intermediate session key: SHA-512(ISKInput(sid, K, transcript)).
// It is secret; K must never leave the caller.
func ISK(sid, k, transcript []byte) []byte {
	h := sha512.Sum512(ISKInput(sid, k, transcript))
	return h[:]
}

// SidOutput is the draft's optional public session id output:
// SHA-512("CPaceSidOutput" || transcript).
func SidOutput(transcript []byte) []byte {
	h := sha512.Sum512(append([]byte("CPaceSidOutput"), transcript...))
	return h[:]
}
