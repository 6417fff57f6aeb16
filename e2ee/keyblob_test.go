package e2ee

import (
	"bytes"
	"errors"
	"testing"
)

// blobPair returns two members' key pairs and a room id.
func blobPair(t *testing.T) (a, b *KeyPair, room []byte) {
	t.Helper()
	a, err := NewKeyPair()
	if err != nil {
		t.Fatal(err)
	}
	b, _ = NewKeyPair()
	return a, b, seqT(0x30, RoomIDSize)
}

func TestKeyBlobRoundTrip(t *testing.T) {
	a, b, room := blobPair(t)
	h := KeyBlobHeader{From: 0x11111111, To: 0x22222222, Epoch: 7}
	key := NewSenderKey()
	blob, err := SealKeyBlob(a, b.Public(), room, h, key)
	if err != nil {
		t.Fatal(err)
	}
	if len(blob) != KeyBlobSize || KeyBlobSize != 71 {
		t.Fatalf("key blob is %d bytes (KeyBlobSize %d), want 71", len(blob), KeyBlobSize)
	}
	gotH, gotKey, err := OpenKeyBlob(b, a.Public(), room, blob)
	if err != nil {
		t.Fatal(err)
	}
	if gotH != h || !bytes.Equal(gotKey, key) {
		t.Fatalf("opened %+v %x, want %+v %x", gotH, gotKey, h, key)
	}
	again, _ := SealKeyBlob(a, b.Public(), room, h, key)
	if bytes.Equal(again[KeyBlobHeaderSize:], blob[KeyBlobHeaderSize:]) {
		t.Fatal("two seals share a nonce")
	}
}

func TestKeyBlobRefuses(t *testing.T) {
	a, b, room := blobPair(t)
	c, _ := NewKeyPair()
	h := KeyBlobHeader{From: 1, To: 2, Epoch: 3}
	blob, _ := SealKeyBlob(a, b.Public(), room, h, NewSenderKey())
	edit := func(i int, x byte) []byte {
		g := bytes.Clone(blob)
		g[i] ^= x
		return g
	}
	cases := []struct {
		name string
		own  *KeyPair
		peer []byte
		room []byte
		blob []byte
		want error
	}{
		{"wrong receiver pair", c, a.Public(), room, blob, ErrKeyUnwrap},
		{"wrong sender public key", b, c.Public(), room, blob, ErrKeyUnwrap},
		{"other room", b, a.Public(), seqT(0x31, RoomIDSize), blob, ErrKeyUnwrap},
		{"epoch edited", b, a.Public(), room, edit(10, 1), ErrKeyUnwrap},
		{"from edited", b, a.Public(), room, edit(4, 1), ErrKeyUnwrap},
		{"to edited", b, a.Public(), room, edit(8, 1), ErrKeyUnwrap},
		{"nonce edited", b, a.Public(), room, edit(11, 1), ErrKeyUnwrap},
		{"tag edited", b, a.Public(), room, edit(70, 0x80), ErrKeyUnwrap},
		{"version 1", b, a.Public(), room, edit(0, 3), ErrKeyBlobVersion},
		{"truncated", b, a.Public(), room, blob[:70], ErrKeyBlobFormat},
		{"too long", b, a.Public(), room, append(bytes.Clone(blob), 0), ErrKeyBlobFormat},
		{"low-order sender key", b, lowOrderPoints[2], room, blob, ErrBadPublicKey},
		{"short room id", b, a.Public(), room[:15], blob, ErrBadKey},
	}
	for _, c := range cases {
		h, key, err := OpenKeyBlob(c.own, c.peer, c.room, c.blob)
		if !errors.Is(err, c.want) {
			t.Errorf("%s: %v, want %v", c.name, err, c.want)
		}
		if key != nil || h != (KeyBlobHeader{}) {
			t.Errorf("%s: a key or header came back with the error", c.name)
		}
	}
	if _, err := SealKeyBlob(a, lowOrderPoints[0], room, h, NewSenderKey()); !errors.Is(err, ErrBadPublicKey) {
		t.Errorf("seal to a low-order key: %v", err)
	}
	if _, err := SealKeyBlob(a, b.Public(), room, h, make([]byte, 31)); !errors.Is(err, ErrBadKey) {
		t.Errorf("seal a 31-byte key: %v", err)
	}
}

func TestKeyBlobDirectionMatters(t *testing.T) {
	a, b, room := blobPair(t)
	key := NewSenderKey()
	// A blob a sent to b, with its header rewritten to claim b sent it to a:
	// the pair's shared secret is the same both ways, so only the direction
	// in the derivation and the AAD refuses it.
	blob, _ := SealKeyBlob(a, b.Public(), room, KeyBlobHeader{From: 1, To: 2}, key)
	turned := bytes.Clone(blob)
	copy(turned[1:5], blob[5:9])
	copy(turned[5:9], blob[1:5])
	if _, _, err := OpenKeyBlob(a, b.Public(), room, turned); !errors.Is(err, ErrKeyUnwrap) {
		t.Fatalf("a blob turned around opened: %v", err)
	}
}

func TestWrapKeyBindsEveryField(t *testing.T) {
	shared, room := seqT(1, SharedSize), seqT(2, RoomIDSize)
	h := KeyBlobHeader{From: 1, To: 2, Epoch: 3}
	base, err := WrapKey(shared, room, h)
	if err != nil {
		t.Fatal(err)
	}
	for _, other := range []KeyBlobHeader{{2, 1, 3}, {1, 2, 4}, {1, 3, 3}, {0, 2, 3}} {
		k, _ := WrapKey(shared, room, other)
		if bytes.Equal(k, base) {
			t.Errorf("header %+v gives the same wrap key as %+v", other, h)
		}
	}
	k, _ := WrapKey(shared, seqT(3, RoomIDSize), h)
	if bytes.Equal(k, base) {
		t.Error("another room gives the same wrap key")
	}
	if _, err := WrapKey(shared[:31], room, h); !errors.Is(err, ErrBadKey) {
		t.Errorf("31-byte shared secret: %v", err)
	}
}
