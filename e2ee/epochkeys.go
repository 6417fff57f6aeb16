package e2ee

import (
	"crypto/hkdf"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
)

// v2SenderInfo prefixes the HKDF info of an epoch's base key; the KID
// follows as 6 big-endian bytes (docs/keys.md, "Frame keys").
const v2SenderInfo = "sotto/v2 sender"

// EpochBaseKey derives the SFrame base_key of one sender epoch:
//
//	base_key = HKDF-SHA256(ikm = sender key, salt = "sotto/v2",
//	                       info = "sotto/v2 sender" || KID (6 B big-endian), L = 32)
//
// with KID = EpochKID(sid, epoch). sframe_key and sframe_salt then come from
// DeriveKeySalt, as in v1.
func EpochBaseKey(senderKey []byte, kid uint64) ([]byte, error) {
	if len(senderKey) != SenderKeySize {
		return nil, ErrBadKey
	}
	if kid > MaxKID {
		return nil, ErrBadKID
	}
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], kid)
	return hkdf.Key(sha256.New, senderKey, []byte(v2Salt), v2SenderInfo+string(b[2:]), BaseKeySize)
}

// epochFrameKey derives an epoch's frame key and zeroes every intermediate
// it made (base key, sframe key and salt): only the AEAD state remains.
func epochFrameKey(senderKey []byte, kid uint64) (*frameKey, error) {
	base, err := EpochBaseKey(senderKey, kid)
	if err != nil {
		return nil, err
	}
	defer clear(base)
	key, salt, err := DeriveKeySalt(base, kid)
	if err != nil {
		return nil, err
	}
	defer clear(key)
	defer clear(salt)
	return newFrameKeyRaw(key, salt)
}

// NewEpochSender prepares a v2 sender: one epoch of one member, kid =
// EpochKID(own sid, epoch), under that epoch's sender key (NewSenderKey).
// A new epoch is a new Sender; its CTR starts at 0, which is safe because
// the KID (and so the key) is new. The caller may zero senderKey afterwards.
func NewEpochSender(senderKey []byte, kid uint64) (*Sender, error) {
	key, err := epochFrameKey(senderKey, kid)
	if err != nil {
		return nil, err
	}
	return &Sender{kid: kid, key: key}, nil
}

// NewEpochReceiver makes a v2 receiver: it knows no room media key, so
// AddSender (v1) refuses (ErrBadKey) and every KID comes from SetSenderKey,
// normally called by a KeyRing.
func NewEpochReceiver() *Receiver {
	return &Receiver{senders: make(map[uint64]*remoteSender), noMedia: true}
}

// SetSenderKey registers a v2 KID (EpochKID(sid, epoch)) with that epoch's
// sender key, taken from an opened key blob. A KID already registered keeps
// its key and replay window (resetting the window would let old frames
// play again; a KeyRing never gives one epoch two keys). The caller may
// zero senderKey afterwards. RemoveSender forgets the KID.
func (r *Receiver) SetSenderKey(kid uint64, senderKey []byte) error {
	if kid > MaxKID {
		return ErrBadKID
	}
	if len(senderKey) != SenderKeySize {
		return ErrBadKey
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := r.senders[kid]; ok {
		return nil
	}
	if len(r.senders) >= MaxSenders {
		return fmt.Errorf("%w (limit %d)", ErrTooManySenders, MaxSenders)
	}
	key, err := epochFrameKey(senderKey, kid)
	if err != nil {
		return err
	}
	r.senders[kid] = &remoteSender{key: key}
	return nil
}
