package e2ee

import (
	"crypto/ecdh"
	"crypto/rand"
	"sync"
)

// PublicKeySize is the size of an X25519 public key, the "dh" field of a v2
// hello; SharedSize is the size of what two key pairs agree on.
const (
	PublicKeySize = 32
	SharedSize    = 32
)

// KeyPair is a member's ephemeral X25519 key pair (docs/keys.md): made per
// membership (NewKeyPair on every join), its public half announced in the
// sealed hello, and erased with the membership (Erase). Sender keys travel
// wrapped under what two members' pairs agree on, so a recording plus the
// link later opens nothing once the pairs are gone.
//
// It is safe for concurrent use.
type KeyPair struct {
	mu   sync.Mutex
	priv *ecdh.PrivateKey // nil once erased
	pub  [PublicKeySize]byte
}

// NewKeyPair makes a fresh random key pair.
func NewKeyPair() (*KeyPair, error) {
	priv, err := ecdh.X25519().GenerateKey(rand.Reader)
	if err != nil {
		return nil, err
	}
	return newKeyPair(priv), nil
}

// KeyPairFromPrivate makes the key pair of a given 32-byte private key.
// It is for test vectors only: a real pair comes from NewKeyPair.
func KeyPairFromPrivate(private []byte) (*KeyPair, error) {
	priv, err := ecdh.X25519().NewPrivateKey(private)
	if err != nil {
		return nil, ErrBadKey
	}
	return newKeyPair(priv), nil
}

func newKeyPair(priv *ecdh.PrivateKey) *KeyPair {
	k := &KeyPair{priv: priv}
	copy(k.pub[:], priv.PublicKey().Bytes())
	return k
}

// Public returns the public key, to announce in the hello. It stays
// readable after Erase (it is public).
func (k *KeyPair) Public() []byte {
	out := k.pub
	return out[:]
}

// Agree returns X25519(own private, peer public). It refuses a peer key of
// the wrong length or of low order (an all-zero result: such a key would
// make the "shared" secret known to anyone), with ErrBadPublicKey, and
// works no more once the pair is erased (ErrKeyPairErased).
func (k *KeyPair) Agree(peerPublic []byte) ([]byte, error) {
	if len(peerPublic) != PublicKeySize {
		return nil, ErrBadPublicKey
	}
	pub, err := ecdh.X25519().NewPublicKey(peerPublic)
	if err != nil {
		return nil, ErrBadPublicKey
	}
	k.mu.Lock()
	priv := k.priv
	k.mu.Unlock()
	if priv == nil {
		return nil, ErrKeyPairErased
	}
	shared, err := priv.ECDH(pub) // crypto/ecdh refuses the all-zero output
	if err != nil {
		return nil, ErrBadPublicKey
	}
	return shared, nil
}

// Erase drops the private key: no key blob can be sealed or opened with
// this pair afterwards. crypto/ecdh keeps its bytes private, so dropping
// the last reference is all Go allows; the garbage collector reclaims it.
func (k *KeyPair) Erase() {
	k.mu.Lock()
	k.priv = nil
	k.mu.Unlock()
}
