package e2ee

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
)

// A key blob carries one sender key from one member to another
// (docs/keys.md, "Key agreement and key wrap"):
//
//	header   = version 0x02 (1 B) || from sid (4 B) || to sid (4 B) || epoch (2 B)    (big-endian)
//	wrap_key = HKDF-SHA256(ikm = X25519 shared, salt = "sotto/v2",
//	                       info = "sotto/v2 key wrap" || room id (16 B) || from (4 B) || to (4 B) || epoch (2 B), L = 32)
//	blob     = header || nonce (12 B, random) || AES-256-GCM(wrap_key, nonce, sender key, AAD = header) || tag (16 B)
//
// The direction and the epoch are in both the derivation and the AAD, so a
// blob cannot be replayed to another member, turned around, or moved to
// another epoch. It travels base64url-encoded inside a signal-key SealBlob.
const (
	KeyBlobVersion    = 2
	KeyBlobHeaderSize = 1 + 4 + 4 + 2
	KeyBlobSize       = KeyBlobHeaderSize + keyBlobNonceSize + SenderKeySize + TagSize // 71
	// SenderKeySize: a sender key is the IKM of its epoch's SFrame base key.
	SenderKeySize = 32

	keyBlobNonceSize = 12
	wrapKeySize      = 32
)

// v2Salt is the HKDF salt of every v2 derivation (key wrap, sender base key).
const v2Salt = "sotto/v2"

// wrapInfo prefixes the wrap key's HKDF info; the room id, the direction and
// the epoch follow.
const wrapInfo = "sotto/v2 key wrap"

// KeyBlobHeader is the clear part of a key blob: who sends which epoch of
// its sender key to whom.
type KeyBlobHeader struct {
	From  uint32
	To    uint32
	Epoch uint16
}

func (h KeyBlobHeader) append(dst []byte) []byte {
	dst = append(dst, KeyBlobVersion)
	dst = binary.BigEndian.AppendUint32(dst, h.From)
	dst = binary.BigEndian.AppendUint32(dst, h.To)
	return binary.BigEndian.AppendUint16(dst, h.Epoch)
}

// NewSenderKey returns a fresh random sender key, for one epoch.
func NewSenderKey() []byte {
	k := make([]byte, SenderKeySize)
	rand.Read(k)
	return k
}

// WrapKey derives the wrap key of one key blob from the pair's X25519
// shared secret. Exported for the test vectors; SealKeyBlob and
// OpenKeyBlob call it.
func WrapKey(shared, roomID []byte, h KeyBlobHeader) ([]byte, error) {
	if len(shared) != SharedSize || len(roomID) != RoomIDSize {
		return nil, ErrBadKey
	}
	info := make([]byte, 0, len(wrapInfo)+RoomIDSize+KeyBlobHeaderSize-1)
	info = append(append(info, wrapInfo...), roomID...)
	info = binary.BigEndian.AppendUint32(info, h.From)
	info = binary.BigEndian.AppendUint32(info, h.To)
	info = binary.BigEndian.AppendUint16(info, h.Epoch)
	return hkdf.Key(sha256.New, shared, []byte(v2Salt), string(info), wrapKeySize)
}

// SealKeyBlob wraps senderKey for the member whose public key is
// peerPublic, under a fresh random nonce. own is the sender's key pair;
// h.From must be the sender's sid and h.To the receiver's.
func SealKeyBlob(own *KeyPair, peerPublic, roomID []byte, h KeyBlobHeader, senderKey []byte) ([]byte, error) {
	// Random 96-bit nonces: each wrap key is used for one blob per epoch
	// (a resend after a resume reuses it), far below GCM's limits.
	var nonce [keyBlobNonceSize]byte
	rand.Read(nonce[:])
	return sealKeyBlobNonce(own, peerPublic, roomID, h, senderKey, nonce)
}

// sealKeyBlobNonce is SealKeyBlob with a given nonce: for test vectors only.
func sealKeyBlobNonce(own *KeyPair, peerPublic, roomID []byte, h KeyBlobHeader, senderKey []byte, nonce [keyBlobNonceSize]byte) ([]byte, error) {
	if len(senderKey) != SenderKeySize {
		return nil, ErrBadKey
	}
	aead, err := keyBlobAEAD(own, peerPublic, roomID, h)
	if err != nil {
		return nil, err
	}
	out := make([]byte, 0, KeyBlobSize)
	out = h.append(out)
	out = append(out, nonce[:]...)
	// crypto/cipher forbids dst overlapping the AAD, hence the copy.
	header := [KeyBlobHeaderSize]byte(out[:KeyBlobHeaderSize])
	return aead.Seal(out, nonce[:], senderKey, header[:]), nil
}

// ParseKeyBlobHeader reads the clear header of a key blob, checking its
// length (ErrKeyBlobFormat) and version (ErrKeyBlobVersion). It proves
// nothing: the header is authenticated only when the blob opens.
func ParseKeyBlobHeader(blob []byte) (KeyBlobHeader, error) {
	if len(blob) != KeyBlobSize {
		return KeyBlobHeader{}, ErrKeyBlobFormat
	}
	if blob[0] != KeyBlobVersion {
		return KeyBlobHeader{}, ErrKeyBlobVersion
	}
	return KeyBlobHeader{
		From:  binary.BigEndian.Uint32(blob[1:5]),
		To:    binary.BigEndian.Uint32(blob[5:9]),
		Epoch: binary.BigEndian.Uint16(blob[9:11]),
	}, nil
}

// OpenKeyBlob unwraps a key blob with the receiver's own key pair and the
// sender's public key (from its hello), and returns its header and the
// sender key (the caller owns it, and should zero it when done). A wrong
// pair, a tampered blob or an edited header fails with ErrKeyUnwrap.
//
// It does not check that the blob is addressed to us or comes from a
// member: KeyRing.AcceptBlob does, in the order docs/keys.md gives.
func OpenKeyBlob(own *KeyPair, peerPublic, roomID, blob []byte) (KeyBlobHeader, []byte, error) {
	h, err := ParseKeyBlobHeader(blob)
	if err != nil {
		return KeyBlobHeader{}, nil, err
	}
	aead, err := keyBlobAEAD(own, peerPublic, roomID, h)
	if err != nil {
		return KeyBlobHeader{}, nil, err
	}
	nonce := blob[KeyBlobHeaderSize : KeyBlobHeaderSize+keyBlobNonceSize]
	key, err := aead.Open(nil, nonce, blob[KeyBlobHeaderSize+keyBlobNonceSize:], blob[:KeyBlobHeaderSize])
	if err != nil {
		return KeyBlobHeader{}, nil, ErrKeyUnwrap
	}
	return h, key, nil
}

// keyBlobAEAD is AES-256-GCM under the blob's wrap key. The shared secret
// and the wrap key are zeroed once the cipher is set up.
func keyBlobAEAD(own *KeyPair, peerPublic, roomID []byte, h KeyBlobHeader) (cipher.AEAD, error) {
	if len(roomID) != RoomIDSize {
		return nil, ErrBadKey
	}
	shared, err := own.Agree(peerPublic)
	if err != nil {
		return nil, err
	}
	defer clear(shared)
	wk, err := WrapKey(shared, roomID, h)
	if err != nil {
		return nil, err
	}
	defer clear(wk)
	block, err := aes.NewCipher(wk)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}
