package e2ee

import (
	"bytes"
	"errors"
	"slices"
	"testing"
	"time"
)

// sinkLog is a KeySink that records what the ring told it.
type sinkLog struct {
	held map[uint64]bool
	fail error
}

func (s *sinkLog) SetSenderKey(kid uint64, key []byte) error {
	if s.fail != nil {
		return s.fail
	}
	s.held[kid] = true
	return nil
}
func (s *sinkLog) RemoveSender(kid uint64) { delete(s.held, kid) }

func (s *sinkLog) kids() []uint64 {
	var out []uint64
	for k := range s.held {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

type ringMemberT struct {
	sid  uint32
	pair *KeyPair
}

// newRingT makes our ring (sid 0xaaaaaaaa) with one member, bob (0xbbbbbbbb).
func newRingT(t *testing.T) (*KeyRing, *sinkLog, ringMemberT, []byte) {
	t.Helper()
	room := seqT(0x50, RoomIDSize)
	own, _ := NewKeyPair()
	sink := &sinkLog{held: map[uint64]bool{}}
	r, err := NewKeyRing(KeyRingConfig{RoomID: room, Self: 0xaaaaaaaa, Pair: own, Sink: sink})
	if err != nil {
		t.Fatal(err)
	}
	bobPair, _ := NewKeyPair()
	bob := ringMemberT{0xbbbbbbbb, bobPair}
	if err := r.AddMember(bob.sid, bobPair.Public()); err != nil {
		t.Fatal(err)
	}
	return r, sink, bob, room
}

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func TestKeyRingEpochRules(t *testing.T) {
	r, sink, bob, _ := newRingT(t)
	k1, k2 := NewSenderKey(), NewSenderKey()
	accept := func(epoch uint16, key []byte, now time.Time) (Accepted, error) {
		return r.Accept(bob.sid, epoch, key, now)
	}
	// The first key is accepted at any epoch.
	if a, err := accept(500, k1, t0); err != nil || !a.New || a.From != bob.sid || a.Epoch != 500 {
		t.Fatalf("first key: %+v, %v", a, err)
	}
	// A resend of the current key changes nothing.
	if a, err := accept(500, k1, t0); err != nil || a.New {
		t.Fatalf("resend: %+v, %v", a, err)
	}
	// Another key for the current epoch, or an older epoch: a replay.
	if _, err := accept(500, k2, t0); !errors.Is(err, ErrStaleEpoch) {
		t.Fatalf("current epoch, other key: %v", err)
	}
	if _, err := accept(499, k2, t0); !errors.Is(err, ErrStaleEpoch) {
		t.Fatalf("older epoch: %v", err)
	}
	if _, err := accept(500+0x8000, k2, t0); !errors.Is(err, ErrStaleEpoch) {
		t.Fatalf("half the circle away: %v", err)
	}
	// A newer epoch becomes current; the old one stays for OldKeyGrace.
	if a, err := accept(501, k2, t0.Add(time.Second)); err != nil || !a.New {
		t.Fatalf("newer epoch: %+v, %v", a, err)
	}
	if cur, _ := r.Current(bob.sid); cur != 501 {
		t.Fatalf("current %d, want 501", cur)
	}
	if got := r.Held(bob.sid); !slices.Equal(got, []uint16{500, 501}) {
		t.Fatalf("held %v", got)
	}
	if next, ok := r.NextExpiry(); !ok || !next.Equal(t0.Add(time.Second+OldKeyGrace)) {
		t.Fatalf("NextExpiry %v %v", next, ok)
	}
	// The old key, resent, is now stale even though it is still held.
	if _, err := accept(500, k1, t0.Add(time.Second)); !errors.Is(err, ErrStaleEpoch) {
		t.Fatalf("previous epoch resent: %v", err)
	}
	r.Expire(t0.Add(time.Second + OldKeyGrace - time.Nanosecond))
	if len(sink.held) != 2 {
		t.Fatalf("erased before the grace ended: %x", sink.kids())
	}
	r.Expire(t0.Add(time.Second + OldKeyGrace))
	if got := sink.kids(); !slices.Equal(got, []uint64{EpochKID(bob.sid, 501)}) {
		t.Fatalf("after the grace the sink holds %x", got)
	}
	if _, ok := r.NextExpiry(); ok {
		t.Fatal("an expiry is pending with nothing in grace")
	}
	// The current epoch never expires.
	r.Expire(t0.Add(24 * time.Hour))
	if cur, ok := r.Current(bob.sid); !ok || cur != 501 || len(sink.held) != 1 {
		t.Fatalf("current epoch erased: %d %v %x", cur, ok, sink.kids())
	}
}

func TestKeyRingHoldsAtMostMaxHeldEpochs(t *testing.T) {
	r, sink, bob, _ := newRingT(t)
	for e := uint16(0); e < 5; e++ {
		if _, err := r.Accept(bob.sid, e, NewSenderKey(), t0); err != nil {
			t.Fatal(err)
		}
	}
	// Back-to-back rotations: the oldest goes at once, not after its grace.
	if got := r.Held(bob.sid); !slices.Equal(got, []uint16{2, 3, 4}) {
		t.Fatalf("held %v, want [2 3 4]", got)
	}
	want := []uint64{EpochKID(bob.sid, 2), EpochKID(bob.sid, 3), EpochKID(bob.sid, 4)}
	if got := sink.kids(); !slices.Equal(got, want) {
		t.Fatalf("sink %x, want %x", got, want)
	}
}

func TestKeyRingEpochWraps(t *testing.T) {
	r, _, bob, _ := newRingT(t)
	for _, e := range []uint16{0xfffe, 0xffff, 0, 1} {
		if a, err := r.Accept(bob.sid, e, NewSenderKey(), t0); err != nil || !a.New {
			t.Fatalf("epoch %d: %+v %v", e, a, err)
		}
	}
	if _, err := r.Accept(bob.sid, 0xffff, NewSenderKey(), t0); !errors.Is(err, ErrStaleEpoch) {
		t.Fatalf("65535 after 1: %v", err)
	}
}

func TestKeyRingSinkFailureChangesNothing(t *testing.T) {
	r, sink, bob, _ := newRingT(t)
	k := NewSenderKey()
	r.Accept(bob.sid, 1, k, t0)
	sink.fail = ErrTooManySenders
	if _, err := r.Accept(bob.sid, 2, NewSenderKey(), t0); !errors.Is(err, ErrTooManySenders) {
		t.Fatalf("sink failure: %v", err)
	}
	sink.fail = nil
	if cur, _ := r.Current(bob.sid); cur != 1 {
		t.Fatalf("current %d after a failed accept", cur)
	}
	if a, err := r.Accept(bob.sid, 1, k, t0); err != nil || a.New {
		t.Fatalf("resend after a failed accept: %+v %v", a, err)
	}
}

func TestKeyRingMembers(t *testing.T) {
	r, sink, bob, _ := newRingT(t)
	carol, _ := NewKeyPair()
	if err := r.AddMember(0xcccccccc, carol.Public()); err != nil {
		t.Fatal(err)
	}
	// A resume: the same hello again.
	if err := r.AddMember(bob.sid, bob.pair.Public()); err != nil {
		t.Fatalf("same hello again: %v", err)
	}
	other, _ := NewKeyPair()
	if err := r.AddMember(bob.sid, other.Public()); !errors.Is(err, ErrDuplicateSID) {
		t.Fatalf("bob's sid with another key: %v", err)
	}
	if err := r.AddMember(r.Self(), other.Public()); !errors.Is(err, ErrDuplicateSID) {
		t.Fatalf("our own sid: %v", err)
	}
	for _, p := range lowOrderPoints {
		if err := r.AddMember(0xdddddddd, p); !errors.Is(err, ErrBadPublicKey) {
			t.Fatalf("low-order key: %v", err)
		}
	}
	if got := r.Members(); !slices.Equal(got, []uint32{bob.sid, 0xcccccccc}) {
		t.Fatalf("members %x", got)
	}
	if _, err := r.Accept(0xdddddddd, 0, NewSenderKey(), t0); !errors.Is(err, ErrUnknownSender) {
		t.Fatalf("key from a non-member: %v", err)
	}
	r.Accept(bob.sid, 0, NewSenderKey(), t0)
	r.Accept(bob.sid, 1, NewSenderKey(), t0)
	r.Accept(0xcccccccc, 9, NewSenderKey(), t0)
	// A leaver's epochs go at once, grace or not.
	r.RemoveMember(bob.sid)
	if got := sink.kids(); !slices.Equal(got, []uint64{EpochKID(0xcccccccc, 9)}) {
		t.Fatalf("after bob left the sink holds %x", got)
	}
	if _, err := r.Accept(bob.sid, 2, NewSenderKey(), t0); !errors.Is(err, ErrUnknownSender) {
		t.Fatalf("key from a member that left: %v", err)
	}
	if _, err := r.SealFor(bob.sid, 0, NewSenderKey()); !errors.Is(err, ErrUnknownSender) {
		t.Fatalf("SealFor a member that left: %v", err)
	}
}

func TestKeyRingCapsMembers(t *testing.T) {
	r, _, _, _ := newRingT(t)
	p, _ := NewKeyPair()
	for i := 1; i < MaxRingMembers; i++ {
		if err := r.AddMember(uint32(i), p.Public()); err != nil {
			t.Fatal(err)
		}
	}
	if err := r.AddMember(0xeeeeeeee, p.Public()); !errors.Is(err, ErrTooManySenders) {
		t.Fatalf("one over MaxRingMembers: %v", err)
	}
}

// TestKeyRingAcceptBlob: two rings, a real Receiver, frames that decrypt
// while their epoch is held and not after.
func TestKeyRingAcceptBlob(t *testing.T) {
	room := seqT(0x60, RoomIDSize)
	alicePair, _ := NewKeyPair()
	bobPair, _ := NewKeyPair()
	const aliceSID, bobSID = 0x0a11ce00, 0x0b0b0000
	aliceRcv, bobRcv := NewEpochReceiver(), NewEpochReceiver()
	alice, _ := NewKeyRing(KeyRingConfig{RoomID: room, Self: aliceSID, Pair: alicePair, Sink: aliceRcv})
	bob, _ := NewKeyRing(KeyRingConfig{RoomID: room, Self: bobSID, Pair: bobPair, Sink: bobRcv})
	if err := alice.AddMember(bobSID, bobPair.Public()); err != nil {
		t.Fatal(err)
	}
	if err := bob.AddMember(aliceSID, alicePair.Public()); err != nil {
		t.Fatal(err)
	}

	k0 := NewSenderKey()
	blob, err := alice.SealFor(bobSID, 0, k0)
	if err != nil {
		t.Fatal(err)
	}
	if a, err := bob.AcceptBlob(blob, t0); err != nil || !a.New || a.From != aliceSID || a.Epoch != 0 {
		t.Fatalf("AcceptBlob: %+v %v", a, err)
	}
	snd0, _ := NewEpochSender(k0, EpochKID(aliceSID, 0))
	f0, _ := snd0.Encrypt(nil, frame(80))
	if pt, err := bobRcv.Decrypt(nil, f0); err != nil || !bytes.Equal(pt, frame(80)) {
		t.Fatalf("frame of epoch 0: %v", err)
	}
	// The same blob again (a resend after a resume): nothing changes.
	if a, err := bob.AcceptBlob(blob, t0); err != nil || a.New {
		t.Fatalf("resend: %+v %v", a, err)
	}

	k1 := NewSenderKey()
	blob1, _ := alice.SealFor(bobSID, 1, k1)
	if _, err := bob.AcceptBlob(blob1, t0); err != nil {
		t.Fatal(err)
	}
	// A replayed blob of epoch 0 now, or a rewrapped other key for epoch 1.
	if _, err := bob.AcceptBlob(blob, t0); !errors.Is(err, ErrStaleEpoch) {
		t.Fatalf("replayed older blob: %v", err)
	}
	other, _ := alice.SealFor(bobSID, 1, NewSenderKey())
	if _, err := bob.AcceptBlob(other, t0); !errors.Is(err, ErrStaleEpoch) {
		t.Fatalf("another key for the current epoch: %v", err)
	}
	// Epoch 0 frames still play during the grace, then are unknown.
	f0b, _ := snd0.Encrypt(nil, frame(80))
	if _, err := bobRcv.Decrypt(nil, f0b); err != nil {
		t.Fatalf("epoch 0 frame in grace: %v", err)
	}
	bob.Expire(t0.Add(OldKeyGrace))
	f0c, _ := snd0.Encrypt(nil, frame(80))
	if _, err := bobRcv.Decrypt(nil, f0c); !errors.Is(err, ErrUnknownKID) {
		t.Fatalf("epoch 0 frame after its grace: %v, want ErrUnknownKID", err)
	}

	// Rules 2 to 4, each with its error.
	toAlice, _ := bob.SealFor(aliceSID, 0, NewSenderKey())
	if _, err := bob.AcceptBlob(toAlice, t0); !errors.Is(err, ErrKeyNotForUs) {
		t.Fatalf("blob for another member: %v", err)
	}
	mallory, _ := NewKeyPair()
	forged, _ := SealKeyBlob(mallory, bobPair.Public(), room, KeyBlobHeader{From: 0x0bad0000, To: bobSID, Epoch: 0}, NewSenderKey())
	if _, err := bob.AcceptBlob(forged, t0); !errors.Is(err, ErrUnknownSender) {
		t.Fatalf("blob from a non-member: %v", err)
	}
	// Mallory claims to be Alice: the pair does not match.
	spoofed, _ := SealKeyBlob(mallory, bobPair.Public(), room, KeyBlobHeader{From: aliceSID, To: bobSID, Epoch: 5}, NewSenderKey())
	if _, err := bob.AcceptBlob(spoofed, t0); !errors.Is(err, ErrKeyUnwrap) {
		t.Fatalf("blob under the wrong pair: %v", err)
	}
	edited := bytes.Clone(blob1)
	edited[10] = 2 // epoch 1 -> 2 in the header
	if _, err := bob.AcceptBlob(edited, t0); !errors.Is(err, ErrKeyUnwrap) {
		t.Fatalf("epoch edited in the header: %v", err)
	}
	if _, err := bob.AcceptBlob(blob1[:70], t0); !errors.Is(err, ErrKeyBlobFormat) {
		t.Fatalf("truncated: %v", err)
	}
	v1 := bytes.Clone(blob1)
	v1[0] = 1
	if _, err := bob.AcceptBlob(v1, t0); !errors.Is(err, ErrKeyBlobVersion) {
		t.Fatalf("version 1: %v", err)
	}

	// Leaving: every key goes, and the pair with them.
	bob.Close()
	if bobRcv.Senders() != 0 {
		t.Fatalf("%d KIDs left in the receiver after Close", bobRcv.Senders())
	}
	if _, err := bob.AcceptBlob(blob1, t0); err == nil {
		t.Fatal("a closed ring accepted a key")
	}
	if _, err := bobPair.Agree(alicePair.Public()); !errors.Is(err, ErrKeyPairErased) {
		t.Fatalf("pair after Close: %v", err)
	}
}

func TestNewKeyRingRejects(t *testing.T) {
	p, _ := NewKeyPair()
	rcv := NewEpochReceiver()
	for _, c := range []KeyRingConfig{
		{RoomID: make([]byte, 15), Pair: p, Sink: rcv},
		{RoomID: make([]byte, 16), Sink: rcv},
		{RoomID: make([]byte, 16), Pair: p},
	} {
		if _, err := NewKeyRing(c); !errors.Is(err, ErrBadKey) {
			t.Errorf("%+v: %v", c, err)
		}
	}
}
