package e2ee

import (
	"crypto/aes"
	"crypto/cipher"
	"encoding/binary"
)

// RFC 9605 cipher suite 0x0005, AES_256_GCM_SHA512_128: HKDF-SHA512,
// Nk = 32, Nn = 12, Nt = 16.
const (
	CipherSuite = 0x0005
	KeySize     = 32
	NonceSize   = 12
	TagSize     = 16
)

// frameKey is one KID's derived state, built once and cached: setting up
// AES and GCM per frame would cost more than the encryption itself.
type frameKey struct {
	aead cipher.AEAD
	salt [NonceSize]byte
}

// newFrameKey derives sframe_key and sframe_salt from base_key (RFC 9605
// §4.4.2) and prepares the AEAD.
func newFrameKey(baseKey []byte, kid uint64) (*frameKey, error) {
	key, salt, err := DeriveKeySalt(baseKey, kid)
	if err != nil {
		return nil, err
	}
	return newFrameKeyRaw(key, salt)
}

func newFrameKeyRaw(key, salt []byte) (*frameKey, error) {
	if len(key) != KeySize || len(salt) != NonceSize {
		return nil, ErrBadKey
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	k := &frameKey{aead: aead}
	copy(k.salt[:], salt)
	return k, nil
}

// nonce writes sframe_salt XOR CTR, the CTR as a 12-byte big-endian integer
// (RFC 9605 §4.4.3). A CTR is 64 bits, so only the last 8 bytes change.
func (k *frameKey) nonce(dst *[NonceSize]byte, ctr uint64) {
	*dst = k.salt
	v := binary.BigEndian.Uint64(dst[4:]) ^ ctr
	binary.BigEndian.PutUint64(dst[4:], v)
}

// seal is RFC 9605 SFrame encryption: it appends
// header || AEAD-Encrypt(key, nonce, aad = header || metadata, plaintext) to dst.
// scratch is reused for the AAD and the nonce so the hot path does not allocate.
func (k *frameKey) seal(dst []byte, kid, ctr uint64, metadata, plaintext []byte, s *scratch) []byte {
	start := len(dst)
	dst = AppendHeader(dst, kid, ctr)
	aad := append(append(s.aad[:0], dst[start:]...), metadata...)
	k.nonce(&s.nonce, ctr)
	return k.aead.Seal(dst, s.nonce[:], plaintext, aad)
}

// open is RFC 9605 SFrame decryption of ciphertext (tag included) whose
// header has already been parsed; it appends the plaintext to dst.
func (k *frameKey) open(dst []byte, header []byte, ctr uint64, metadata, ciphertext []byte, s *scratch) ([]byte, error) {
	aad := append(append(s.aad[:0], header...), metadata...)
	k.nonce(&s.nonce, ctr)
	out, err := k.aead.Open(dst, s.nonce[:], ciphertext, aad)
	if err != nil {
		return nil, ErrAuth
	}
	return out, nil
}

// scratch holds per-call buffers. It lives inside a Sender or Receiver and
// is only used under their lock.
type scratch struct {
	aad   [MaxHeaderSize + 1]byte
	nonce [NonceSize]byte
}
