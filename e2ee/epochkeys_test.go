package e2ee

import (
	"bytes"
	"errors"
	"testing"
)

func TestEpochSenderToReceiver(t *testing.T) {
	key := NewSenderKey()
	kid := EpochKID(0x1a2b3c4d, 5)
	snd, err := NewEpochSender(key, kid)
	if err != nil {
		t.Fatal(err)
	}
	rcv := NewEpochReceiver()
	if err := rcv.SetSenderKey(kid, key); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 20; i++ {
		f, err := snd.Encrypt(nil, frame(80))
		if err != nil {
			t.Fatal(err)
		}
		pt, err := rcv.Decrypt(nil, f)
		if err != nil || !bytes.Equal(pt, frame(80)) {
			t.Fatalf("frame %d: %v", i, err)
		}
	}
	// Registering again keeps the replay window.
	f, _ := snd.Encrypt(nil, frame(80))
	if _, err := rcv.Decrypt(nil, f); err != nil {
		t.Fatal(err)
	}
	if err := rcv.SetSenderKey(kid, key); err != nil {
		t.Fatal(err)
	}
	if _, err := rcv.Decrypt(nil, f); !errors.Is(err, ErrReplay) {
		t.Fatalf("replay after a second SetSenderKey: %v", err)
	}
	rcv.RemoveSender(kid)
	f, _ = snd.Encrypt(nil, frame(80))
	if _, err := rcv.Decrypt(nil, f); !errors.Is(err, ErrUnknownKID) {
		t.Fatalf("after RemoveSender: %v, want ErrUnknownKID", err)
	}
}

func TestEpochKeysSeparate(t *testing.T) {
	key := NewSenderKey()
	// The same sender key under another epoch's KID gives another frame key:
	// a frame cannot be moved from one epoch to the next.
	snd, _ := NewEpochSender(key, EpochKID(9, 1))
	f, _ := snd.Encrypt(nil, frame(80))
	rcv := NewEpochReceiver()
	rcv.SetSenderKey(EpochKID(9, 1), NewSenderKey())
	if _, err := rcv.Decrypt(nil, f); !errors.Is(err, ErrAuth) {
		t.Fatalf("another sender key: %v, want ErrAuth", err)
	}
	a, _ := EpochBaseKey(key, EpochKID(9, 1))
	b, _ := EpochBaseKey(key, EpochKID(9, 2))
	if bytes.Equal(a, b) {
		t.Fatal("two epochs share a base key")
	}
	// v1 and v2 never share a base key for the same KID and input bytes.
	v1, _ := SenderBaseKey(key, EpochKID(9, 1))
	if bytes.Equal(a, v1) {
		t.Fatal("v2 base key equals the v1 one")
	}
}

func TestEpochReceiverRefusesV1AndBadInput(t *testing.T) {
	rcv := NewEpochReceiver()
	if err := rcv.AddSender(5); !errors.Is(err, ErrBadKey) {
		t.Fatalf("AddSender on a v2 receiver: %v, want ErrBadKey", err)
	}
	if err := rcv.SetSenderKey(MaxKID+1, NewSenderKey()); !errors.Is(err, ErrBadKID) {
		t.Fatalf("49-bit KID: %v", err)
	}
	if err := rcv.SetSenderKey(1, make([]byte, 31)); !errors.Is(err, ErrBadKey) {
		t.Fatalf("31-byte sender key: %v", err)
	}
	if _, err := NewEpochSender(make([]byte, 33), 1); !errors.Is(err, ErrBadKey) {
		t.Fatalf("33-byte sender key: %v", err)
	}
	for i := 0; i < MaxSenders; i++ {
		if err := rcv.SetSenderKey(uint64(i), NewSenderKey()); err != nil {
			t.Fatal(err)
		}
	}
	if err := rcv.SetSenderKey(MaxSenders, NewSenderKey()); !errors.Is(err, ErrTooManySenders) {
		t.Fatalf("one over MaxSenders: %v", err)
	}
}

func TestV1ReceiverTakesEpochKeysToo(t *testing.T) {
	// During the switch to v2 one receiver may hold both kinds of KID.
	_, rcv := pair(t)
	key := NewSenderKey()
	kid := EpochKID(0xabcdef01, 0)
	if err := rcv.SetSenderKey(kid, key); err != nil {
		t.Fatal(err)
	}
	snd, _ := NewEpochSender(key, kid)
	f, _ := snd.Encrypt(nil, frame(10))
	if _, err := rcv.Decrypt(nil, f); err != nil {
		t.Fatal(err)
	}
}
