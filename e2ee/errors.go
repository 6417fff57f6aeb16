package e2ee

import "errors"

// Error is a failure with a stable code. The same codes are used by the
// JavaScript module (static/js/e2ee/errors.js) and by testdata/vectors.json,
// so a test can assert "this input fails with auth" in both languages.
//
// Messages never contain key material or plaintext.
type Error struct {
	code string
	msg  string
}

func (e *Error) Error() string { return "e2ee: " + e.msg }

// Code returns the stable code, e.g. "auth" or "replay".
func (e *Error) Code() string { return e.code }

// The sentinel errors. Compare with errors.Is; read the code with Code.
var (
	ErrBadSecret      = &Error{"bad-secret", "room secret must be 32 bytes"}
	ErrBadKey         = &Error{"bad-key", "key has the wrong length"}
	ErrBadKID         = &Error{"bad-kid", "sender id (KID) out of range"}
	ErrBadHeader      = &Error{"bad-header", "malformed SFrame header"}
	ErrTruncated      = &Error{"truncated", "frame too short"}
	ErrUnknownKID     = &Error{"unknown-kid", "frame from an unknown sender"}
	ErrTooManySenders = &Error{"too-many-senders", "too many senders registered"}
	ErrReplay         = &Error{"replay", "replayed frame"}
	ErrTooOld         = &Error{"too-old", "frame older than the replay window"}
	ErrAuth           = &Error{"auth", "frame failed authentication"}
	ErrCTRExhausted   = &Error{"ctr-exhausted", "frame counter exhausted: start a new sender"}

	ErrBlobTooLarge  = &Error{"blob-too-large", "blob too large"}
	ErrBlobMalformed = &Error{"blob-malformed", "blob is not valid base64url or is too short"}
	ErrBlobVersion   = &Error{"blob-version", "unsupported blob version"}
	ErrBlobAuth      = &Error{"blob-auth", "blob failed authentication"}

	ErrLinkFormat  = &Error{"link-format", "link has no room secret fragment"}
	ErrLinkVersion = &Error{"link-version", "unsupported link version"}
	ErrLinkChars   = &Error{"link-chars", "link secret is not canonical base64url"}
	ErrLinkLength  = &Error{"link-length", "link secret has the wrong length"}

	// v2 media keys (docs/keys.md).
	ErrBadSID         = &Error{"bad-sid", "sender id (sid) is not 8 lowercase hex digits"}
	ErrDuplicateSID   = &Error{"duplicate-sid", "another live member already announced this sid"}
	ErrBadPublicKey   = &Error{"bad-public-key", "X25519 public key is malformed or of low order"}
	ErrKeyPairErased  = &Error{"key-pair-erased", "the ephemeral key pair was erased"}
	ErrKeyBlobFormat  = &Error{"key-blob-format", "key blob has the wrong length"}
	ErrKeyBlobVersion = &Error{"key-blob-version", "unsupported key blob version"}
	ErrKeyNotForUs    = &Error{"key-not-for-us", "key blob addressed to another member"}
	ErrUnknownSender  = &Error{"unknown-sender", "key blob from a sid that is not a live member"}
	ErrKeyUnwrap      = &Error{"key-unwrap", "key blob failed authentication"}
	ErrStaleEpoch     = &Error{"stale-epoch", "key blob for an older epoch, or another key for the current one"}
)

// Code returns the stable code of an e2ee error (wrapped or not), or "" if
// err is nil or did not come from this package.
func Code(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.code
	}
	return ""
}
