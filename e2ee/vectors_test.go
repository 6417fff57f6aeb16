package e2ee

import (
	"bytes"
	"crypto/hkdf"
	"crypto/sha512"
	"encoding/hex"
	"strconv"
	"testing"

	"sotto/internal/testutil"
	"sotto/internal/vectorfile"
)

// vectorsFile is written by cmd/e2ee-vectors.
const vectorsFile = "testdata/vectors.json"

func fromDec(t testing.TB, s string) uint64 {
	t.Helper()
	v, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		t.Fatalf("bad integer in vectors: %v", err)
	}
	return v
}

func TestVectorsRFC9605Headers(t *testing.T) {
	v := testutil.ReadJSON[vectorfile.E2EE](t, vectorsFile)
	if len(v.RFCHeaders) != 289 { // RFC 9605 C.1: 17 KIDs x 17 CTRs
		t.Fatalf("got %d header vectors, want 289", len(v.RFCHeaders))
	}
	for _, hv := range v.RFCHeaders {
		kid, ctr, want := fromDec(t, hv.KID), fromDec(t, hv.CTR), testutil.Unhex(t, hv.Header)
		if got := AppendHeader(nil, kid, ctr); !bytes.Equal(got, want) {
			t.Errorf("AppendHeader(%d, %d) = %x, want %x", kid, ctr, got, want)
		}
		gk, gc, n, err := ParseHeader(append(want, 0xaa, 0xbb)) // trailing bytes are not header
		if err != nil || gk != kid || gc != ctr || n != len(want) {
			t.Errorf("ParseHeader(%x) = %d, %d, %d, %v; want %d, %d, %d", want, gk, gc, n, err, kid, ctr, len(want))
		}
	}
}

func TestVectorsRFC9605SFrame(t *testing.T) {
	r := testutil.ReadJSON[vectorfile.E2EE](t, vectorsFile).RFCSFrame
	if r.CipherSuite != CipherSuite {
		t.Fatalf("vector suite %#x, want %#x", r.CipherSuite, CipherSuite)
	}
	kid, ctr := fromDec(t, r.KID), fromDec(t, r.CTR)
	base := testutil.Unhex(t, r.BaseKey)

	if got := []byte(sframeLabel("key", kid)); !bytes.Equal(got, testutil.Unhex(t, r.KeyLabel)) {
		t.Errorf("key label %x, want %s", got, r.KeyLabel)
	}
	if got := []byte(sframeLabel("salt", kid)); !bytes.Equal(got, testutil.Unhex(t, r.SaltLabel)) {
		t.Errorf("salt label %x, want %s", got, r.SaltLabel)
	}
	if got, _ := hkdf.Extract(sha512.New, base, nil); !bytes.Equal(got, testutil.Unhex(t, r.Secret)) {
		t.Errorf("sframe_secret %x, want %s", got, r.Secret)
	}
	key, salt, err := DeriveKeySalt(base, kid)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(key, testutil.Unhex(t, r.Key)) || !bytes.Equal(salt, testutil.Unhex(t, r.Salt)) {
		t.Fatalf("key/salt = %x/%x, want %s/%s", key, salt, r.Key, r.Salt)
	}

	fk, err := newFrameKey(base, kid)
	if err != nil {
		t.Fatal(err)
	}
	var nonce [NonceSize]byte
	fk.nonce(&nonce, ctr)
	if !bytes.Equal(nonce[:], testutil.Unhex(t, r.Nonce)) {
		t.Errorf("nonce %x, want %s", nonce, r.Nonce)
	}
	meta := testutil.Unhex(t, r.Metadata)
	hdr := AppendHeader(nil, kid, ctr)
	if aad := append(hdr, meta...); !bytes.Equal(aad, testutil.Unhex(t, r.AAD)) {
		t.Errorf("aad %x, want %s", aad, r.AAD)
	}
	var s scratch
	ct := fk.seal(nil, kid, ctr, meta, testutil.Unhex(t, r.PT), &s)
	if !bytes.Equal(ct, testutil.Unhex(t, r.CT)) {
		t.Fatalf("ciphertext\n got %x\nwant %s", ct, r.CT)
	}
	pk, pc, n, err := ParseHeader(ct)
	if err != nil || pk != kid || pc != ctr {
		t.Fatalf("ParseHeader of RFC ciphertext: %v", err)
	}
	pt, err := fk.open(nil, ct[:n], ctr, meta, ct[n:], &s)
	if err != nil || !bytes.Equal(pt, testutil.Unhex(t, r.PT)) {
		t.Fatalf("open RFC ciphertext = %x, %v", pt, err)
	}
	if _, err := fk.open(nil, ct[:n], ctr, meta[1:], ct[n:], &s); err != ErrAuth {
		t.Fatalf("open with altered metadata: err = %v, want ErrAuth", err)
	}
}

func TestVectorsKeySchedule(t *testing.T) {
	v := testutil.ReadJSON[vectorfile.E2EE](t, vectorsFile)
	if len(v.KeySchedule) == 0 {
		t.Fatal("no key schedule vectors")
	}
	for _, ks := range v.KeySchedule {
		k, err := DeriveRoomKeys(testutil.Unhex(t, ks.Secret))
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range []struct {
			name string
			got  []byte
			want string
		}{
			{"room_id", k.RoomID[:], ks.RoomID},
			{"room_auth", k.RoomAuth[:], ks.RoomAuth},
			{"verifier", k.Verifier[:], ks.Verifier},
			{"signal", k.Signal[:], ks.Signal},
			{"media", k.Media[:], ks.Media},
			{"sas", k.SAS[:], ks.SAS},
		} {
			if !bytes.Equal(c.got, testutil.Unhex(t, c.want)) {
				t.Errorf("%s = %x, want %s", c.name, c.got, c.want)
			}
		}
		if got := k.SafetyCode(); got != ks.SafetyCode {
			t.Errorf("safety code %q, want %q", got, ks.SafetyCode)
		}
		if !CheckRoomAuth(k.Verifier, k.RoomAuth[:]) {
			t.Error("CheckRoomAuth rejects the room's own room_auth")
		}
	}
}

func TestVectorsSenderKeys(t *testing.T) {
	v := testutil.ReadJSON[vectorfile.E2EE](t, vectorsFile)
	for _, sk := range v.SenderKeys {
		kid := fromDec(t, sk.KID)
		base, err := SenderBaseKey(testutil.Unhex(t, sk.Media), kid)
		if err != nil {
			t.Fatal(err)
		}
		key, salt, err := DeriveKeySalt(base, kid)
		if err != nil {
			t.Fatal(err)
		}
		if hex.EncodeToString(base) != sk.BaseKey || hex.EncodeToString(key) != sk.Key || hex.EncodeToString(salt) != sk.Salt {
			t.Errorf("KID %d: base/key/salt = %x/%x/%x, want %s/%s/%s", kid, base, key, salt, sk.BaseKey, sk.Key, sk.Salt)
		}
	}
	for _, kt := range v.KIDText {
		kid := fromDec(t, kt.KID)
		if got := FormatKID(kid); got != kt.Text {
			t.Errorf("FormatKID(%d) = %q, want %q", kid, got, kt.Text)
		}
		if got, err := ParseKID(kt.Text); err != nil || got != kid {
			t.Errorf("ParseKID(%q) = %d, %v", kt.Text, got, err)
		}
	}
}

func TestVectorsFrames(t *testing.T) {
	fv := testutil.ReadJSON[vectorfile.E2EE](t, vectorsFile).Frames
	k, err := DeriveRoomKeys(testutil.Unhex(t, fv.Secret))
	if err != nil {
		t.Fatal(err)
	}
	kid := fromDec(t, fv.KID)
	snd, err := NewSender(k.Media[:], kid)
	if err != nil {
		t.Fatal(err)
	}
	rcv, _ := NewReceiver(k.Media[:])
	if err := rcv.AddSender(kid); err != nil {
		t.Fatal(err)
	}
	sizes := map[int]bool{}
	for _, f := range fv.Frames {
		pt, want := testutil.Unhex(t, f.Plaintext), testutil.Unhex(t, f.Frame)
		sizes[len(pt)] = true
		got, err := snd.Encrypt(nil, pt)
		if err != nil || !bytes.Equal(got, want) {
			t.Fatalf("%s: Encrypt = %x, %v\nwant %x", f.Name, got, err, want)
		}
		back, err := rcv.Decrypt(nil, want)
		if err != nil || !bytes.Equal(back, pt) {
			t.Fatalf("%s: Decrypt = %x, %v", f.Name, back, err)
		}
	}
	for _, n := range []int{0, 1, 2, 80, 1200} {
		if !sizes[n] {
			t.Errorf("no %d-byte frame vector", n)
		}
	}
}

func TestVectorsFrameCases(t *testing.T) {
	v := testutil.ReadJSON[vectorfile.E2EE](t, vectorsFile)
	codes := map[string]bool{}
	for _, fc := range v.FrameCases {
		k, err := DeriveRoomKeys(testutil.Unhex(t, fc.Secret))
		if err != nil {
			t.Fatal(err)
		}
		rcv, _ := NewReceiver(k.Media[:])
		for _, kid := range fc.Register {
			if err := rcv.AddSender(fromDec(t, kid)); err != nil {
				t.Fatal(err)
			}
		}
		for i, st := range fc.Steps {
			pt, err := rcv.Decrypt(nil, testutil.Unhex(t, st.Frame))
			if got := Code(err); got != st.Error {
				t.Errorf("%s step %d: error %q (%v), want %q", fc.Name, i, got, err, st.Error)
			}
			if err != nil && pt != nil {
				t.Errorf("%s step %d: plaintext returned with an error", fc.Name, i)
			}
			if err == nil && hex.EncodeToString(pt) != st.Plaintext {
				t.Errorf("%s step %d: plaintext %x, want %s", fc.Name, i, pt, st.Plaintext)
			}
			codes[st.Error] = true
		}
	}
	for _, c := range []string{"auth", "bad-header", "truncated", "replay", "too-old", "unknown-kid"} {
		if !codes[c] {
			t.Errorf("no frame case expects %q", c)
		}
	}
}

func TestVectorsBlobs(t *testing.T) {
	v := testutil.ReadJSON[vectorfile.E2EE](t, vectorsFile)
	for _, bv := range v.Blobs {
		key, pt := testutil.Unhex(t, bv.Key), testutil.Unhex(t, bv.Plaintext)
		got, err := OpenBlob(key, bv.Blob)
		if err != nil || !bytes.Equal(got, pt) {
			t.Errorf("OpenBlob(%d-byte vector) = %v", len(pt), err)
		}
		aead, _ := blobAEAD(key)
		if sealed := sealBlobNonce(aead, [12]byte(testutil.Unhex(t, bv.Nonce)), pt); sealed != bv.Blob {
			t.Errorf("sealing the %d-byte vector gave a different blob", len(pt))
		}
	}
	for _, be := range v.BlobErrors {
		pt, err := OpenBlob(testutil.Unhex(t, be.Key), be.Blob)
		if got := Code(err); got != be.Error || pt != nil {
			t.Errorf("%s: error %q (%v), want %q", be.Name, got, err, be.Error)
		}
	}
}

func TestVectorsLinks(t *testing.T) {
	v := testutil.ReadJSON[vectorfile.E2EE](t, vectorsFile)
	for _, lv := range v.Links {
		got, err := FormatLink(lv.Base, testutil.Unhex(t, lv.Secret))
		if err != nil || got != lv.Link {
			t.Errorf("FormatLink = %q, %v; want %q", got, err, lv.Link)
		}
	}
	parse := func(in string) ([]byte, error) {
		if len(in) >= 4 && in[:4] == "http" {
			return ParseLink(in)
		}
		return ParseFragment(in)
	}
	for _, lp := range v.LinkParses {
		if got, err := parse(lp.Input); err != nil || hex.EncodeToString(got) != lp.Secret {
			t.Errorf("parse %q = %x, %v", lp.Input, got, err)
		}
	}
	for _, le := range v.LinkErrors {
		s, err := parse(le.Input)
		if got := Code(err); got != le.Error || s != nil {
			t.Errorf("%s: error %q, want %q", le.Name, got, le.Error)
		}
	}
}
