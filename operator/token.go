package operator

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"strconv"
	"strings"
	"time"

	"sotto/internal/b64url"
	"sotto/room"
)

// A token is one line of text, easy to make in a shell:
//
//	v1.<room>.<user>.<role>.<exp>.<nonce>.<mac>
//
// room is the wire room id (16 bytes, base64url), user the embedding app's
// user id, role "talk", "listen" or "priority" (a talker whose request
// takes the floor from one who is not priority: only a token grants it), exp the expiry in Unix seconds, nonce
// 8-32 random bytes (base64url) and mac base64url(HMAC-SHA256(secret, every
// character before ".<mac>")). No part can contain a '.', so splitting on it
// is unambiguous, and every part has exactly one spelling (strict base64url,
// no leading zeros), so a token can only be replayed by presenting the very
// same text. docs/tokens.md is the reference for backends.
const tokenVersion = "v1"

// Errors from Verifier.Check. Each is a fixed text: none carries any part of
// the token. The signaling layer maps them to wire codes (docs/tokens.md):
// ErrTokenMalformed, ErrTokenSignature and ErrTokenWrongRoom all to one code,
// so a client learns nothing about why a token it did not get from the
// backend fails.
var (
	ErrTokenMissing   = errors.New("operator mode: a token is required")
	ErrTokenMalformed = errors.New("operator mode: the token is malformed")
	ErrTokenSignature = errors.New("operator mode: the token's signature is wrong")
	ErrTokenWrongRoom = errors.New("operator mode: the token is for another room")
	ErrTokenExpired   = errors.New("operator mode: the token has expired")
	ErrTokenLifetime  = errors.New("operator mode: the token expires too far in the future")
	ErrTokenReplayed  = errors.New("operator mode: the token has already been used")
	// ErrBusy: the replay cache is full of unexpired tokens. Try later.
	ErrBusy = errors.New("operator mode: too many tokens in use; try again later")
)

// Claims are what a token says: who may enter which room, as what, until when.
type Claims struct {
	Room   room.ID
	User   string    // the embedding app's user id: 1-64 of A-Z a-z 0-9 _ -
	Role   room.Role // room.RoleTalk, room.RoleListen or room.RolePriority
	Expiry time.Time // second resolution; Sign drops any fraction
	// Nonce makes each token distinct (and so single-use on its own). Sign
	// draws DefaultNonceBytes random bytes when it is nil.
	Nonce []byte

	// mac identifies the token in the replay cache; set by Check, read by
	// Verifier.Release.
	mac [sha256.Size]byte
}

// b64 is the encoding of every binary part: base64url without padding, zero
// trailing bits, so each value has one spelling. (Go's decoder still skips
// '\r' and '\n', which b64url.Alphabet refuses first.)
var b64 = b64url.Encoding

// Sign makes a token for c under secret. It fails if the secret is not one
// CheckSecret accepts or a claim cannot be encoded; it never checks the
// expiry against the clock (the backend's clock is not the server's).
func Sign(secret []byte, c Claims) (string, error) {
	if err := CheckSecret(secret); err != nil {
		return "", err
	}
	if !validUser(c.User) {
		return "", errors.New("operator: the user id must be 1-64 characters of A-Z a-z 0-9 _ -")
	}
	if c.Role != room.RoleTalk && c.Role != room.RoleListen && c.Role != room.RolePriority {
		return "", errors.New("operator: the role must be talk, listen or priority")
	}
	if c.Expiry.Unix() < 1 {
		return "", errors.New("operator: the expiry must be after 1970-01-01T00:00:00Z")
	}
	nonce := c.Nonce
	if nonce == nil {
		nonce = make([]byte, DefaultNonceBytes)
		_, _ = rand.Read(nonce) // never fails (crypto/rand since Go 1.24)
	}
	if len(nonce) < MinNonceBytes || len(nonce) > MaxNonceBytes {
		return "", errors.New("operator: the nonce must be 8 to 32 bytes")
	}
	body := signedPart(c.Room, c.User, c.Role, c.Expiry.Unix(), nonce)
	mac := macOf(secret, body)
	return body + "." + b64.EncodeToString(mac[:]), nil
}

// signedPart is the text the MAC covers: the token without ".<mac>".
func signedPart(id room.ID, user string, role room.Role, exp int64, nonce []byte) string {
	var b strings.Builder
	b.Grow(MaxTokenBytes)
	b.WriteString(tokenVersion)
	b.WriteByte('.')
	b.WriteString(b64.EncodeToString(id[:]))
	b.WriteByte('.')
	b.WriteString(user)
	b.WriteByte('.')
	b.WriteString(role.String())
	b.WriteByte('.')
	b.WriteString(strconv.FormatInt(exp, 10))
	b.WriteByte('.')
	b.WriteString(b64.EncodeToString(nonce))
	return b.String()
}

func macOf(secret []byte, body string) [sha256.Size]byte {
	h := hmac.New(sha256.New, secret)
	h.Write([]byte(body))
	var mac [sha256.Size]byte
	h.Sum(mac[:0])
	return mac
}

// parsed is a well-formed token, not yet authenticated.
type parsed struct {
	body  string // the signed part
	room  room.ID
	user  string
	role  room.Role
	exp   int64
	nonce []byte
	mac   [sha256.Size]byte
}

// parseToken checks the token's syntax, part by part. It reads only the
// token, never the secret, so its timing tells nothing the caller did not
// already know. ok is false for anything that is not exactly the format.
func parseToken(tok string) (p parsed, ok bool) {
	if len(tok) > MaxTokenBytes {
		return p, false
	}
	var parts [7]string
	rest := tok
	for i := range len(parts) - 1 {
		var found bool
		parts[i], rest, found = strings.Cut(rest, ".")
		if !found {
			return p, false
		}
	}
	parts[6] = rest // a further '.' makes it an invalid mac below
	if parts[0] != tokenVersion {
		return p, false
	}
	if !b64url.DecodeFixed(p.room[:], parts[1]) {
		return p, false
	}
	if !validUser(parts[2]) {
		return p, false
	}
	p.user = parts[2]
	if p.role, ok = room.ParseRole(parts[3]); !ok {
		return p, false
	}
	if p.exp, ok = parseExpiry(parts[4]); !ok {
		return p, false
	}
	if p.nonce, ok = decodeNonce(parts[5]); !ok {
		return p, false
	}
	if !b64url.DecodeFixed(p.mac[:], parts[6]) {
		return p, false
	}
	p.body = tok[:len(tok)-len(parts[6])-1]
	return p, true
}

// parseExpiry reads a positive decimal int64 with no sign and no leading zero.
func parseExpiry(s string) (int64, bool) {
	if s == "" || s[0] < '1' || s[0] > '9' {
		return 0, false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	return n, err == nil
}

func decodeNonce(s string) ([]byte, bool) {
	if len(s) < b64.EncodedLen(MinNonceBytes) || len(s) > b64.EncodedLen(MaxNonceBytes) || !b64url.Alphabet(s) {
		return nil, false
	}
	n, err := b64.DecodeString(s)
	if err != nil || len(n) < MinNonceBytes {
		return nil, false
	}
	return n, true
}

// validUser reports whether s is a user id: 1-64 of A-Z a-z 0-9 _ -. The
// alphabet keeps ids out of the token's separators and out of any need for
// escaping in a URL path, a shell or a JSON string.
func validUser(s string) bool {
	return len(s) >= 1 && len(s) <= MaxUserBytes && b64url.Alphabet(s)
}

// ParseRoomID reads a room id as clients send it: 16 bytes, base64url without
// padding, in its one spelling.
func ParseRoomID(s string) (room.ID, bool) {
	var id room.ID
	return id, b64url.DecodeFixed(id[:], s)
}

// FormatRoomID writes a room id as clients send it.
func FormatRoomID(id room.ID) string { return b64.EncodeToString(id[:]) }
