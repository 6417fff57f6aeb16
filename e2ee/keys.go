package e2ee

import (
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/subtle"
	"encoding/binary"
	"fmt"
)

// Sizes of the room secret and of everything derived from it (design.md §2).
const (
	SecretSize    = 32
	RoomIDSize    = 16
	RoomAuthSize  = 32
	VerifierSize  = sha256.Size
	SignalKeySize = 32
	MediaKeySize  = 32
	SASSize       = 6
	BaseKeySize   = 32
)

// scheduleSalt is the HKDF salt of every Sotto derivation. The version in it
// lets a future key schedule coexist with this one.
const scheduleSalt = "sotto/v1"

// senderInfo is the HKDF info prefix of a sender's base key; the KID follows
// as 6 big-endian bytes, so each sender session gets its own key.
const senderInfo = "sotto/v1 sender"

// RoomKeys are the values every member derives from the room secret S.
type RoomKeys struct {
	RoomID   [RoomIDSize]byte   // the server's only handle on the room
	RoomAuth [RoomAuthSize]byte // joiners present this to the server
	Verifier [VerifierSize]byte // SHA-256(RoomAuth): what the server stores
	Signal   [SignalKeySize]byte
	Media    [MediaKeySize]byte
	SAS      [SASSize]byte // source of the safety code
}

// NewSecret returns a fresh random room secret S.
func NewSecret() []byte {
	s := make([]byte, SecretSize)
	rand.Read(s) // since Go 1.24 it never returns an error (it crashes instead)
	return s
}

// DeriveRoomKeys runs the key schedule: HKDF-SHA256(ikm = S, salt =
// "sotto/v1") with the info strings "room-id", "room-auth", "signal", "media"
// and "sas".
func DeriveRoomKeys(secret []byte) (*RoomKeys, error) {
	if len(secret) != SecretSize {
		return nil, fmt.Errorf("%w (got %d bytes)", ErrBadSecret, len(secret))
	}
	k := new(RoomKeys)
	parts := []struct {
		info string
		dst  []byte
	}{
		{"room-id", k.RoomID[:]},
		{"room-auth", k.RoomAuth[:]},
		{"signal", k.Signal[:]},
		{"media", k.Media[:]},
		{"sas", k.SAS[:]},
	}
	for _, p := range parts {
		b, err := hkdf.Key(sha256.New, secret, []byte(scheduleSalt), p.info, len(p.dst))
		if err != nil {
			return nil, err
		}
		copy(p.dst, b)
	}
	k.Verifier = Verifier(k.RoomAuth[:])
	return k, nil
}

// Verifier is SHA-256(roomAuth): the server stores it when a room is created.
func Verifier(roomAuth []byte) [VerifierSize]byte {
	return sha256.Sum256(roomAuth)
}

// CheckRoomAuth reports, in constant time, whether roomAuth matches the
// stored verifier. The server uses it on every join.
func CheckRoomAuth(verifier [VerifierSize]byte, roomAuth []byte) bool {
	v := Verifier(roomAuth)
	return subtle.ConstantTimeCompare(v[:], verifier[:]) == 1
}

// safetyCodeModulus: the 48 SAS bits, read as a big-endian integer, are
// reduced to 12 decimal digits (log2(10^12) ≈ 39.9 bits). 2^48 / 10^12 ≈ 281,
// so no code is more than 1/281 likelier than another.
const safetyCodeModulus = 1_000_000_000_000

// SafetyCode turns the SAS bytes into "1234 5678 9012": three groups of four
// digits that members read aloud to check they all hold the same S.
func SafetyCode(sas [SASSize]byte) string {
	var b [8]byte
	copy(b[2:], sas[:])
	n := binary.BigEndian.Uint64(b[:]) % safetyCodeModulus
	s := fmt.Sprintf("%012d", n)
	return s[0:4] + " " + s[4:8] + " " + s[8:12]
}

// SafetyCode returns the room's safety code.
func (k *RoomKeys) SafetyCode() string { return SafetyCode(k.SAS) }

// KIDBits is the size of a sender session id. 48 random bits make a
// collision between two live sessions of one room negligible, and fit exactly
// in a JavaScript number.
const (
	KIDBits = 48
	MaxKID  = 1<<KIDBits - 1
)

// NewKID returns a fresh random 48-bit sender id (KID). Call it on every join
// and every restart of a sender, so a (KID, CTR) pair is never reused.
func NewKID() uint64 {
	var b [8]byte
	rand.Read(b[2:])
	return binary.BigEndian.Uint64(b[:])
}

// FormatKID writes a KID as 12 lowercase hex digits, the form members use
// to announce their KID inside a sealed hello.
func FormatKID(kid uint64) string { return fmt.Sprintf("%012x", kid) }

// ParseKID reads a KID written by FormatKID.
func ParseKID(s string) (uint64, error) {
	kid, ok := parseLowerHex(s, 12)
	if !ok {
		return 0, ErrBadKID
	}
	return kid, nil
}

// parseLowerHex reads exactly digits lowercase hex digits, the one
// spelling KIDs and sids have in a hello, so no value has two.
func parseLowerHex(s string, digits int) (uint64, bool) {
	if len(s) != digits {
		return 0, false
	}
	var n uint64
	for i := 0; i < len(s); i++ {
		c := s[i]
		var v byte
		switch {
		case '0' <= c && c <= '9':
			v = c - '0'
		case 'a' <= c && c <= 'f':
			v = c - 'a' + 10
		default:
			return 0, false
		}
		n = n<<4 | uint64(v)
	}
	return n, true
}

// SenderBaseKey derives a sender session's SFrame base_key:
//
//	base_key = HKDF-SHA256(ikm = media, salt = "sotto/v1",
//	                       info = "sotto/v1 sender" || KID as 6 big-endian bytes, L = 32)
func SenderBaseKey(media []byte, kid uint64) ([]byte, error) {
	if len(media) != MediaKeySize {
		return nil, ErrBadKey
	}
	if kid > MaxKID {
		return nil, ErrBadKID
	}
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], kid)
	return hkdf.Key(sha256.New, media, []byte(scheduleSalt), senderInfo+string(b[2:]), BaseKeySize)
}

// DeriveKeySalt is RFC 9605 §4.4.2 for cipher suite 0x0005
// (AES_256_GCM_SHA512_128):
//
//	sframe_secret = HKDF-Extract(SHA-512, salt = "", ikm = base_key)
//	sframe_key    = HKDF-Expand(sframe_secret, "SFrame 1.0 Secret key "  || KID (8 B) || suite (2 B), 32)
//	sframe_salt   = HKDF-Expand(sframe_secret, "SFrame 1.0 Secret salt " || KID (8 B) || suite (2 B), 12)
func DeriveKeySalt(baseKey []byte, kid uint64) (key, salt []byte, err error) {
	secret, err := hkdf.Extract(sha512.New, baseKey, nil)
	if err != nil {
		return nil, nil, err
	}
	key, err = hkdf.Expand(sha512.New, secret, sframeLabel("key", kid), KeySize)
	if err != nil {
		return nil, nil, err
	}
	salt, err = hkdf.Expand(sha512.New, secret, sframeLabel("salt", kid), NonceSize)
	if err != nil {
		return nil, nil, err
	}
	return key, salt, nil
}

// sframeLabel is "SFrame 1.0 Secret " + kind + " " + KID (8 bytes) + cipher
// suite (2 bytes), big-endian, as RFC 9605 §4.4.2 specifies.
func sframeLabel(kind string, kid uint64) string {
	var tail [10]byte
	binary.BigEndian.PutUint64(tail[:8], kid)
	binary.BigEndian.PutUint16(tail[8:], CipherSuite)
	return "SFrame 1.0 Secret " + kind + " " + string(tail[:])
}
