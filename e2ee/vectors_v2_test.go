package e2ee

import (
	"bytes"
	"slices"
	"strconv"
	"testing"
	"time"

	"sotto/internal/testutil"
	"sotto/internal/vectorfile"
)

// The v2 vectors of testdata/vectors.json (docs/keys.md), checked in Go;
// jstest/vectors_v2.mjs checks the same in JavaScript.

func v2Vectors(t *testing.T) *vectorfile.E2EE {
	t.Helper()
	v := testutil.ReadJSON[vectorfile.E2EE](t, vectorsFile)
	if len(v.KeyBlobs) == 0 || len(v.KeyRingCases) == 0 || len(v.X25519) == 0 {
		t.Fatal("the v2 vectors are missing: go run ./cmd/e2ee-vectors")
	}
	return v
}

func TestVectorsSIDsAndEpochKIDs(t *testing.T) {
	v := v2Vectors(t)
	for _, s := range v.SIDText {
		sid := uint32(fromDec(t, s.SID))
		if got := FormatSID(sid); got != s.Text {
			t.Errorf("FormatSID(%d) = %q, want %q", sid, got, s.Text)
		}
		if back, err := ParseSID(s.Text); err != nil || back != sid {
			t.Errorf("ParseSID(%q) = %d, %v", s.Text, back, err)
		}
	}
	for _, e := range v.SIDErrors {
		if _, err := ParseSID(e.Input); Code(err) != e.Error {
			t.Errorf("%s: ParseSID(%q) = %v, want %s", e.Name, e.Input, err, e.Error)
		}
	}
	for _, e := range v.EpochKIDs {
		sid, epoch, kid := uint32(fromDec(t, e.SID)), uint16(fromDec(t, e.Epoch)), fromDec(t, e.KID)
		if got := EpochKID(sid, epoch); got != kid {
			t.Errorf("EpochKID(%d, %d) = %d, want %d", sid, epoch, got, kid)
		}
		if s, ep, err := SplitKID(kid); err != nil || s != sid || ep != epoch {
			t.Errorf("SplitKID(%d) = %d, %d, %v", kid, s, ep, err)
		}
	}
	for _, o := range v.EpochOrder {
		a, b := uint16(fromDec(t, o.A)), uint16(fromDec(t, o.B))
		if EpochNewer(b, a) != o.Newer {
			t.Errorf("EpochNewer(%d, %d) != %v", b, a, o.Newer)
		}
	}
}

func TestVectorsX25519(t *testing.T) {
	v := v2Vectors(t)
	if v.X25519[0].Source == "" {
		t.Error("the first X25519 vector should be the published RFC 7748 one")
	}
	for i, x := range v.X25519 {
		a, err := KeyPairFromPrivate(testutil.Unhex(t, x.PrivateA))
		if err != nil {
			t.Fatal(err)
		}
		b, _ := KeyPairFromPrivate(testutil.Unhex(t, x.PrivateB))
		if !bytes.Equal(a.Public(), testutil.Unhex(t, x.PublicA)) || !bytes.Equal(b.Public(), testutil.Unhex(t, x.PublicB)) {
			t.Errorf("X25519 %d: public keys differ", i)
		}
		for _, side := range []struct {
			own  *KeyPair
			peer string
		}{{a, x.PublicB}, {b, x.PublicA}} {
			s, err := side.own.Agree(testutil.Unhex(t, side.peer))
			if err != nil || !bytes.Equal(s, testutil.Unhex(t, x.Shared)) {
				t.Errorf("X25519 %d: agreement %x, %v", i, s, err)
			}
		}
	}
	a, _ := KeyPairFromPrivate(testutil.Unhex(t, v.X25519[1].PrivateA))
	for _, p := range v.X25519LowOrder {
		if _, err := a.Agree(testutil.Unhex(t, p)); Code(err) != "bad-public-key" {
			t.Errorf("low-order %s: %v", p, err)
		}
	}
}

func TestVectorsWrapKeysAndKeyBlobs(t *testing.T) {
	v := v2Vectors(t)
	for _, w := range v.WrapKeys {
		h := KeyBlobHeader{From: uint32(fromDec(t, w.From)), To: uint32(fromDec(t, w.To)), Epoch: uint16(fromDec(t, w.Epoch))}
		got, err := WrapKey(testutil.Unhex(t, w.Shared), testutil.Unhex(t, w.RoomID), h)
		if err != nil || !bytes.Equal(got, testutil.Unhex(t, w.WrapKey)) {
			t.Errorf("WrapKey(%+v) = %x, %v", h, got, err)
		}
	}
	for _, b := range v.KeyBlobs {
		snd, _ := KeyPairFromPrivate(testutil.Unhex(t, b.SenderPrivate))
		rcv, _ := KeyPairFromPrivate(testutil.Unhex(t, b.ReceiverPrivate))
		h := KeyBlobHeader{From: uint32(fromDec(t, b.From)), To: uint32(fromDec(t, b.To)), Epoch: uint16(fromDec(t, b.Epoch))}
		room, want := testutil.Unhex(t, b.RoomID), testutil.Unhex(t, b.Blob)
		got, err := sealKeyBlobNonce(snd, rcv.Public(), room, h, testutil.Unhex(t, b.SenderKey), [12]byte(testutil.Unhex(t, b.Nonce)))
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("%s: sealed %x, %v\nwant %x", b.Name, got, err, want)
		}
		gotH, key, err := OpenKeyBlob(rcv, snd.Public(), room, want)
		if err != nil || gotH != h || !bytes.Equal(key, testutil.Unhex(t, b.SenderKey)) {
			t.Errorf("%s: opened %+v %x, %v", b.Name, gotH, key, err)
		}
	}
	for _, e := range v.KeyBlobErrors {
		rcv, _ := KeyPairFromPrivate(testutil.Unhex(t, e.ReceiverPrivate))
		_, key, err := OpenKeyBlob(rcv, testutil.Unhex(t, e.SenderPublic), testutil.Unhex(t, e.RoomID), testutil.Unhex(t, e.Blob))
		if Code(err) != e.Error || key != nil {
			t.Errorf("%s: %v, want %s", e.Name, err, e.Error)
		}
	}
}

func TestVectorsEpochFrames(t *testing.T) {
	ef := v2Vectors(t).EpochFrames
	key, kid := testutil.Unhex(t, ef.SenderKey), fromDec(t, ef.KID)
	if EpochKID(uint32(fromDec(t, ef.SID)), uint16(fromDec(t, ef.Epoch))) != kid {
		t.Fatal("the KID is not EpochKID(sid, epoch)")
	}
	base, err := EpochBaseKey(key, kid)
	if err != nil || !bytes.Equal(base, testutil.Unhex(t, ef.BaseKey)) {
		t.Fatalf("EpochBaseKey = %x, %v", base, err)
	}
	k, s, _ := DeriveKeySalt(base, kid)
	if !bytes.Equal(k, testutil.Unhex(t, ef.Key)) || !bytes.Equal(s, testutil.Unhex(t, ef.Salt)) {
		t.Fatal("sframe key/salt differ")
	}
	snd, _ := NewEpochSender(key, kid)
	rcv := NewEpochReceiver()
	rcv.SetSenderKey(kid, key)
	for _, f := range ef.Frames {
		pt, want := testutil.Unhex(t, f.Plaintext), testutil.Unhex(t, f.Frame)
		got, err := snd.Encrypt(nil, pt)
		if err != nil || !bytes.Equal(got, want) {
			t.Fatalf("%s: Encrypt = %x, %v\nwant %x", f.Name, got, err, want)
		}
		if back, err := rcv.Decrypt(nil, want); err != nil || !bytes.Equal(back, pt) {
			t.Fatalf("%s: Decrypt = %x, %v", f.Name, back, err)
		}
	}
}

func TestVectorsKeyRingCases(t *testing.T) {
	v := v2Vectors(t)
	codes := map[string]bool{}
	for _, c := range v.KeyRingCases {
		pair, _ := KeyPairFromPrivate(testutil.Unhex(t, c.SelfPrivate))
		rcv := NewEpochReceiver()
		ring, err := NewKeyRing(KeyRingConfig{RoomID: testutil.Unhex(t, c.RoomID), Self: uint32(fromDec(t, c.Self)), Pair: pair, Sink: rcv})
		if err != nil {
			t.Fatal(err)
		}
		sids := map[uint32]bool{}
		for i, s := range c.Steps {
			var err error
			now := func() time.Time { ms, _ := strconv.ParseInt(s.NowMS, 10, 64); return time.UnixMilli(ms) }
			switch s.Op {
			case "add-member":
				sid := uint32(fromDec(t, s.SID))
				sids[sid] = true
				err = ring.AddMember(sid, testutil.Unhex(t, s.Public))
			case "remove-member":
				ring.RemoveMember(uint32(fromDec(t, s.SID)))
			case "accept":
				var a Accepted
				a, err = ring.AcceptBlob(testutil.Unhex(t, s.Blob), now())
				if err == nil && (a.New != s.New || dec(a.From) != s.From || dec(a.Epoch) != s.Epoch) {
					t.Errorf("%s step %d: accepted %+v, want new %v from %s epoch %s", c.Name, i, a, s.New, s.From, s.Epoch)
				}
			case "expire":
				ring.Expire(now())
			case "decrypt":
				var pt []byte
				pt, err = rcv.Decrypt(nil, testutil.Unhex(t, s.Frame))
				if err == nil && !bytes.Equal(pt, testutil.Unhex(t, s.Plaintext)) {
					t.Errorf("%s step %d: wrong plaintext", c.Name, i)
				}
			default:
				t.Fatalf("%s: unknown op %q", c.Name, s.Op)
			}
			if Code(err) != s.Error {
				t.Errorf("%s step %d (%s): %v, want %q", c.Name, i, s.Op, err, s.Error)
			}
			codes[s.Error] = true
			got := map[string][]string{}
			for sid := range sids {
				for _, e := range ring.Held(sid) {
					got[dec(sid)] = append(got[dec(sid)], dec(e))
				}
			}
			if len(got) != len(s.Held) {
				t.Errorf("%s step %d: holds %v, want %v", c.Name, i, got, s.Held)
			}
			for sid, want := range s.Held {
				if !slices.Equal(got[sid], want) {
					t.Errorf("%s step %d: holds %v, want %v", c.Name, i, got, s.Held)
				}
			}
		}
	}
	for _, c := range []string{"stale-epoch", "unknown-sender", "key-unwrap", "key-not-for-us", "key-blob-format",
		"key-blob-version", "duplicate-sid", "bad-public-key", "unknown-kid"} {
		if !codes[c] {
			t.Errorf("no key ring step expects %q", c)
		}
	}
}

func dec[T uint16 | uint32 | uint64](v T) string { return strconv.FormatUint(uint64(v), 10) }
