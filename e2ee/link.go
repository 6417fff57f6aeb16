package e2ee

import (
	"strings"

	"sotto/internal/b64url"
)

// A join link carries S only in the URL fragment, which browsers never send
// to a server:
//
//	https://host/#1.<base64url(S), no padding: 43 characters>
//
// The leading "1." is the link format version.
const (
	LinkVersion = "1"
	// linkSecretChars is the base64url length of a 32-byte secret.
	linkSecretChars = (SecretSize*8 + 5) / 6
)

// FormatFragment returns "1.<base64url(S)>", the part after '#'.
func FormatFragment(secret []byte) (string, error) {
	if len(secret) != SecretSize {
		return "", ErrBadSecret
	}
	return LinkVersion + "." + b64.EncodeToString(secret), nil
}

// FormatLink returns base + "#" + FormatFragment(secret). base is the app's
// URL, e.g. "https://host/"; it must not have a fragment already.
func FormatLink(base string, secret []byte) (string, error) {
	if strings.Contains(base, "#") {
		return "", ErrLinkFormat
	}
	f, err := FormatFragment(secret)
	if err != nil {
		return "", err
	}
	return base + "#" + f, nil
}

// ParseLink returns S from a full link, "https://host/#1.…". Errors say
// what is wrong without echoing the input.
func ParseLink(link string) ([]byte, error) {
	_, frag, ok := strings.Cut(link, "#")
	if !ok {
		return nil, ErrLinkFormat
	}
	return ParseFragment(frag)
}

// ParseFragment returns S from a link's fragment, with or without its
// leading '#' (what location.hash gives in a browser): "1.<43 characters>".
func ParseFragment(frag string) ([]byte, error) {
	frag = strings.TrimPrefix(frag, "#")
	version, enc, ok := strings.Cut(frag, ".")
	if !ok {
		return nil, ErrLinkFormat
	}
	if version != LinkVersion {
		return nil, ErrLinkVersion
	}
	if !b64url.Alphabet(enc) {
		return nil, ErrLinkChars
	}
	if len(enc) != linkSecretChars {
		return nil, ErrLinkLength
	}
	secret, err := b64.DecodeString(enc)
	if err != nil { // unused low bits set: not the canonical encoding
		return nil, ErrLinkChars
	}
	return secret, nil
}
