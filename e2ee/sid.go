package e2ee

import (
	"crypto/rand"
	"encoding/binary"
	"fmt"
)

// SIDBits is the size of a member's sender id in v2 (docs/keys.md). The
// other 16 bits of the 48-bit SFrame KID carry the sender's epoch, so the
// sid is what is left: 32 random bits, drawn per membership, make a clash
// between two of at most 50 live members about 1 in 3.5 million (and a
// clash is refused, ErrDuplicateSID, never merged).
const SIDBits = 32

// NewSID returns a fresh random sid. Call it on every join (a resume keeps
// the sid it had).
func NewSID() uint32 {
	var b [4]byte
	rand.Read(b[:]) // since Go 1.24 it never returns an error (it crashes instead)
	return binary.BigEndian.Uint32(b[:])
}

// FormatSID writes a sid as 8 lowercase hex digits, the form of the "sid"
// field of a v2 hello.
func FormatSID(sid uint32) string { return fmt.Sprintf("%08x", sid) }

// ParseSID reads a sid written by FormatSID. Exactly 8 lowercase hex digits
// are accepted, so each sid has one spelling in a hello.
func ParseSID(s string) (uint32, error) {
	sid, ok := parseLowerHex(s, 8)
	if !ok {
		return 0, ErrBadSID
	}
	return uint32(sid), nil
}
