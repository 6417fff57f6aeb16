package e2ee

import (
	"bytes"
	"errors"
	"testing"
)

// lowOrderPoints are X25519 public keys whose product with any private key
// is zero (or that reduce to such points): the first two are 0 and 1, the
// third a point of order 8, the last 2^255 - 19 + 1 (= 1 mod p).
var lowOrderPoints = [][]byte{
	make([]byte, 32),
	append([]byte{1}, make([]byte, 31)...),
	unhexT("e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800"),
	unhexT("eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f"),
}

func TestKeyPairAgreement(t *testing.T) {
	a, err := NewKeyPair()
	if err != nil {
		t.Fatal(err)
	}
	b, _ := NewKeyPair()
	ab, err := a.Agree(b.Public())
	if err != nil {
		t.Fatal(err)
	}
	ba, err := b.Agree(a.Public())
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(ab, ba) || len(ab) != SharedSize {
		t.Fatal("the two sides agree on different secrets")
	}
	c, _ := NewKeyPair()
	ac, _ := a.Agree(c.Public())
	if bytes.Equal(ab, ac) {
		t.Fatal("two pairs agree on the same secret with a third")
	}
}

func TestKeyPairFromPrivateIsDeterministic(t *testing.T) {
	priv := seqT(0x10, 32)
	a, err := KeyPairFromPrivate(priv)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := KeyPairFromPrivate(priv)
	if !bytes.Equal(a.Public(), b.Public()) {
		t.Fatal("same private key, different public keys")
	}
	if _, err := KeyPairFromPrivate(priv[:31]); !errors.Is(err, ErrBadKey) {
		t.Fatalf("31-byte private key: %v", err)
	}
}

func TestKeyPairRefusesLowOrderAndMalformed(t *testing.T) {
	a, _ := NewKeyPair()
	for i, p := range lowOrderPoints {
		if _, err := a.Agree(p); !errors.Is(err, ErrBadPublicKey) {
			t.Errorf("low-order point %d: %v, want ErrBadPublicKey", i, err)
		}
	}
	if _, err := a.Agree(make([]byte, 31)); !errors.Is(err, ErrBadPublicKey) {
		t.Errorf("31-byte public key: %v", err)
	}
}

func TestKeyPairErase(t *testing.T) {
	a, _ := NewKeyPair()
	b, _ := NewKeyPair()
	pub := a.Public()
	a.Erase()
	if _, err := a.Agree(b.Public()); !errors.Is(err, ErrKeyPairErased) {
		t.Fatalf("Agree after Erase: %v", err)
	}
	if !bytes.Equal(a.Public(), pub) {
		t.Fatal("the public key changed on Erase")
	}
}
