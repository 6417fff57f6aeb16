// Package b64url is the project's one binary-to-text encoding: RFC 4648
// base64url without padding, with zero trailing bits, so that every value
// has exactly one spelling (the same rules as static/js/e2ee/encoding.js).
// Go's decoder skips '\r' and '\n' even in strict mode, so the alphabet is
// checked by hand before decoding.
package b64url

import "encoding/base64"

// Encoding encodes, and decodes text that Alphabet has passed.
var Encoding = base64.RawURLEncoding.Strict()

// Alphabet reports whether every byte of s is A-Z a-z 0-9 - or _.
func Alphabet(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// Valid reports whether s is canonical unpadded base64url.
func Valid(s string) bool {
	if !Alphabet(s) {
		return false
	}
	_, err := Encoding.DecodeString(s)
	return err == nil
}

// DecodeFixed decodes s into dst, which it must fill exactly.
func DecodeFixed(dst []byte, s string) bool {
	if Encoding.EncodedLen(len(dst)) != len(s) || !Alphabet(s) {
		return false
	}
	n, err := Encoding.Decode(dst, []byte(s))
	return err == nil && n == len(dst)
}
