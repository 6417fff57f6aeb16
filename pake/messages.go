package pake

import (
	"fmt"

	"sotto/pake/cpace"
)

// Every message starts with one byte: the protocol version in the high
// nibble (1) and the message number in the low nibble (1 to 4), so a future
// version or a message out of place is detected before anything is read.
const (
	Version = 1

	typeKnock  = Version<<4 | 1 // msg1, joiner -> member: sid || Ya
	typeAnswer = Version<<4 | 2 // msg2, member -> joiner: Yb || tagM
	typeProof  = Version<<4 | 3 // msg3, joiner -> member: tagJ
	typeSecret = Version<<4 | 4 // msg4, member -> joiner: nonce || AES-256-GCM(S)
)

// Sizes of the parts and of each message.
const (
	SIDSize   = 16
	TagSize   = 32 // HMAC-SHA256
	NonceSize = 12 // AES-GCM
	gcmTag    = 16

	Msg1Size = 1 + SIDSize + cpace.ElementSize
	Msg2Size = 1 + cpace.ElementSize + TagSize
	Msg3Size = 1 + TagSize
	Msg4Size = 1 + NonceSize + SecretSize + gcmTag
)

// check reads a message's first byte and length: ErrMalformed for an empty
// message or one of the wrong length, ErrVersion for another version,
// ErrType for another message of this version.
func check(msg []byte, typ byte, size int) error {
	if len(msg) == 0 {
		return fmt.Errorf("%w (empty, want %d bytes)", ErrMalformed, size)
	}
	if msg[0]>>4 != Version {
		return fmt.Errorf("%w (version %d, want %d)", ErrVersion, msg[0]>>4, Version)
	}
	if msg[0] != typ {
		return fmt.Errorf("%w (message %d, want %d)", ErrType, msg[0]&0x0f, typ&0x0f)
	}
	if len(msg) != size {
		return fmt.Errorf("%w (message %d: %d bytes, want %d)", ErrMalformed, typ&0x0f, len(msg), size)
	}
	return nil
}
