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
	if len(s) != 8 {
		return 0, ErrBadSID
	}
	var sid uint32
	for i := 0; i < len(s); i++ {
		c := s[i]
		var v byte
		switch {
		case '0' <= c && c <= '9':
			v = c - '0'
		case 'a' <= c && c <= 'f':
			v = c - 'a' + 10
		default:
			return 0, ErrBadSID
		}
		sid = sid<<4 | uint32(v)
	}
	return sid, nil
}
