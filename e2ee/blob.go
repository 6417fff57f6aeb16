package e2ee

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"

	"sotto/internal/b64url"
)

// Sealed blobs carry what members tell each other through the server
// (names, hellos with KIDs, re-keys) under the room's signal key:
//
//	base64url-no-padding( version (1 B) || nonce (12 B, random) || AES-256-GCM(plaintext) || tag (16 B) )
//
// The version byte is also the AAD, so it cannot be changed undetected.
const (
	BlobVersion = 1

	// MaxBlobEncoded is the signaling server's cap on one blob, in base64url
	// characters.
	MaxBlobEncoded = 8192
	// MaxBlobPlaintext keeps a sealed blob under MaxBlobEncoded with room to
	// spare: 6000 + 29 bytes encode to 8039 characters.
	MaxBlobPlaintext = 6000

	blobNonceSize = 12
	blobOverhead  = 1 + blobNonceSize + TagSize
)

var b64 = b64url.Encoding

// SealBlob encrypts plaintext under the signal key with a fresh random nonce.
func SealBlob(signalKey, plaintext []byte) (string, error) {
	if len(plaintext) > MaxBlobPlaintext {
		return "", ErrBlobTooLarge
	}
	aead, err := blobAEAD(signalKey)
	if err != nil {
		return "", err
	}
	// Random 96-bit nonces are safe here: blobs are few (a handful per member
	// per session), far below GCM's 2^32 messages-per-key limit for random nonces.
	var nonce [blobNonceSize]byte
	rand.Read(nonce[:])
	return sealBlobNonce(aead, nonce, plaintext), nil
}

// sealBlobNonce builds the blob for a given nonce. Only SealBlob's random
// nonce may be used outside tests.
func sealBlobNonce(aead cipher.AEAD, nonce [blobNonceSize]byte, plaintext []byte) string {
	version := [1]byte{BlobVersion}
	raw := make([]byte, 0, blobOverhead+len(plaintext))
	raw = append(append(raw, version[0]), nonce[:]...)
	// crypto/cipher forbids dst overlapping the AAD, hence the separate copy.
	raw = aead.Seal(raw, nonce[:], plaintext, version[:])
	return b64.EncodeToString(raw)
}

// OpenBlob checks and decrypts a sealed blob. Any change to it, a wrong
// key, an unknown version or malformed text returns an error.
func OpenBlob(signalKey []byte, blob string) ([]byte, error) {
	if len(blob) > MaxBlobEncoded {
		return nil, ErrBlobTooLarge
	}
	aead, err := blobAEAD(signalKey)
	if err != nil {
		return nil, err
	}
	// Go's decoder skips '\r' and '\n' even in strict mode; refuse them (and
	// anything else outside the alphabet) so each blob has one spelling, as
	// in JavaScript.
	if !b64url.Alphabet(blob) {
		return nil, ErrBlobMalformed
	}
	raw, err := b64.DecodeString(blob)
	if err != nil || len(raw) < blobOverhead {
		return nil, ErrBlobMalformed
	}
	if raw[0] != BlobVersion {
		return nil, ErrBlobVersion
	}
	if len(raw)-blobOverhead > MaxBlobPlaintext {
		return nil, ErrBlobTooLarge
	}
	pt, err := aead.Open(nil, raw[1:1+blobNonceSize], raw[1+blobNonceSize:], raw[:1])
	if err != nil {
		return nil, ErrBlobAuth
	}
	return pt, nil
}

func blobAEAD(key []byte) (cipher.AEAD, error) {
	if len(key) != SignalKeySize {
		return nil, ErrBadKey
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}
