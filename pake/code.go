package pake

import (
	"crypto/hkdf"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"strings"
)

// A room code is digits only: a nameplate that the server assigns (3 digits
// or more, growing with the number of live codes) and a 7-digit password
// part that every member derives from the room secret S, so any member can
// answer a joiner. Displayed as "482-719-3528": nameplate, then the password
// in groups of 3 and 4.
const (
	SecretSize         = 32
	PasswordDigits     = 7
	MinNameplateDigits = 3
	MaxNameplateDigits = 12
	// maxTyped bounds what ParseCode reads: a code with generous spacing is
	// far shorter.
	maxTyped = 64
)

// scheduleSalt is the HKDF salt of every Sotto derivation (as in e2ee).
const scheduleSalt = "sotto/v1"

// passwordModulus: 10^7, so log2(10^7) ≈ 23.25 bits per code.
const passwordModulus = 10_000_000

// CodePassword derives the code's password part from the room secret S and
// the nameplate:
//
//	HKDF-SHA256(ikm = S, salt = "sotto/v1", info = "code " || nameplate, L = 8)
//
// read as a big-endian uint64, reduced mod 10^7, written as 7 digits with
// leading zeros. The modulo bias is below 10^7 / 2^64 ≈ 5.4e-13 per value:
// no password is measurably likelier than another.
func CodePassword(secret []byte, nameplate string) (string, error) {
	if len(secret) != SecretSize {
		return "", ErrBadSecret
	}
	if !validNameplate(nameplate) {
		return "", ErrBadNameplate
	}
	b, err := hkdf.Key(sha256.New, secret, []byte(scheduleSalt), "code "+nameplate, 8)
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("%07d", binary.BigEndian.Uint64(b)%passwordModulus), nil
}

// FormatCode writes the code a person reads and types:
// nameplate "-" first 3 password digits "-" last 4, e.g. "482-719-3528".
func FormatCode(nameplate, password string) (string, error) {
	if !validNameplate(nameplate) {
		return "", ErrBadNameplate
	}
	if !validPassword(password) {
		return "", ErrBadPassword
	}
	return nameplate + "-" + password[:3] + "-" + password[3:], nil
}

// ParseCode reads a typed code. Spaces, dashes and dots anywhere are
// dropped (including the look-alikes phone keyboards and copy-paste
// produce: no-break and thin spaces, Unicode hyphens and dashes, the minus
// sign); what is left must be ASCII digits, of which the last 7 are the
// password and the rest, 3 to 12 digits, the nameplate. Anything else is
// ErrBadCode.
func ParseCode(typed string) (nameplate, password string, err error) {
	if len(typed) > maxTyped*4 { // bytes; maxTyped runes are checked below
		return "", "", fmt.Errorf("%w (too long)", ErrBadCode)
	}
	var digits strings.Builder
	n := 0
	for _, r := range typed {
		n++
		if n > maxTyped {
			return "", "", fmt.Errorf("%w (too long)", ErrBadCode)
		}
		switch {
		case '0' <= r && r <= '9':
			digits.WriteRune(r)
		case isSeparator(r):
		default:
			return "", "", fmt.Errorf("%w (only digits, spaces, dashes and dots are allowed)", ErrBadCode)
		}
	}
	d := digits.String()
	if len(d) < MinNameplateDigits+PasswordDigits {
		return "", "", fmt.Errorf("%w (too few digits)", ErrBadCode)
	}
	if len(d) > MaxNameplateDigits+PasswordDigits {
		return "", "", fmt.Errorf("%w (too many digits)", ErrBadCode)
	}
	cut := len(d) - PasswordDigits
	return d[:cut], d[cut:], nil
}

// isSeparator reports whether ParseCode drops r. The JavaScript module
// (static/js/pake/code.js) drops exactly the same set.
func isSeparator(r rune) bool {
	switch r {
	case ' ', '\t', '\u00a0', '\u2009', '\u202f', // spaces: ASCII, tab, no-break, thin, narrow no-break
		'-', '\u2010', '\u2011', '\u2012', '\u2013', '\u2014', '\u2015', '\u2212', // hyphen-minus, hyphens, dashes, minus
		'.': // full stop
		return true
	}
	return false
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

func validNameplate(s string) bool {
	return len(s) >= MinNameplateDigits && len(s) <= MaxNameplateDigits && allDigits(s)
}

func validPassword(s string) bool { return len(s) == PasswordDigits && allDigits(s) }
