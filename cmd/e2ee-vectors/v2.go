package main

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/ecdh"
	"crypto/hkdf"
	"crypto/sha256"
	"encoding/binary"
	"fmt"

	"sotto/e2ee"
	"sotto/internal/vectorfile"
)

// Fixed v2 inputs (docs/keys.md). The members' private keys are byte
// sequences; X25519 clamps them, as it does random ones.
var (
	privAlice   = seq(0x10, 32)
	privBob     = seq(0x40, 32)
	privCarol   = seq(0x70, 32)
	privMallory = seq(0xa0, 32) // never a member
	sidAlice    = uint32(0x1a2b3c4d)
	sidBob      = uint32(0x0b0b0b0b)
	sidCarol    = uint32(0xc0ffee00)
	sidMallory  = uint32(0x0bad0bad)
)

// rfc7748 is the Diffie-Hellman example of RFC 7748 §6.1.
var rfc7748 = vectorfile.X25519{
	Source:   "RFC 7748 section 6.1",
	PrivateA: "77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a",
	PublicA:  "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a",
	PrivateB: "5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb",
	PublicB:  "de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f",
	Shared:   "4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742",
}

// lowOrder are X25519 public keys whose agreement with any private key is
// all zero: 0, 1, the two points of order 8, and p - 1, p, p + 1 (which
// reduce to low-order points), as listed by libsodium and RFC 7748 §6.1's
// "check for the all-zero value".
var lowOrder = []string{
	"0000000000000000000000000000000000000000000000000000000000000000",
	"0100000000000000000000000000000000000000000000000000000000000000",
	"e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800",
	"5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157",
	"ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
	"edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
	"eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
}

// The functions below compute the v2 formats straight from docs/keys.md
// with the standard library, apart from the e2ee code, which must then
// agree with them.

func publicOf(priv []byte) []byte {
	k, err := ecdh.X25519().NewPrivateKey(priv)
	if err != nil {
		panic(err)
	}
	return k.PublicKey().Bytes()
}

func agree(priv, pub []byte) ([]byte, error) {
	k, err := ecdh.X25519().NewPrivateKey(priv)
	if err != nil {
		return nil, err
	}
	p, err := ecdh.X25519().NewPublicKey(pub)
	if err != nil {
		return nil, err
	}
	return k.ECDH(p)
}

func header(from, to uint32, epoch uint16) []byte {
	b := []byte{e2ee.KeyBlobVersion}
	b = binary.BigEndian.AppendUint32(b, from)
	b = binary.BigEndian.AppendUint32(b, to)
	return binary.BigEndian.AppendUint16(b, epoch)
}

// wrapKey returns the HKDF info and the wrap key.
func wrapKey(shared, room []byte, from, to uint32, epoch uint16) (info, key []byte) {
	info = append(append([]byte("sotto/v2 key wrap"), room...), header(from, to, epoch)[1:]...)
	key, err := hkdf.Key(sha256.New, shared, []byte("sotto/v2"), string(info), 32)
	if err != nil {
		panic(err)
	}
	return info, key
}

// keyBlob seals senderKey from (fromPriv, from) to (toPub, to).
func keyBlob(fromPriv, toPub, room []byte, from, to uint32, epoch uint16, nonce, senderKey []byte) []byte {
	shared, err := agree(fromPriv, toPub)
	if err != nil {
		panic(err)
	}
	_, wk := wrapKey(shared, room, from, to, epoch)
	block, _ := aes.NewCipher(wk)
	aead, _ := cipher.NewGCM(block)
	hdr := header(from, to, epoch)
	out := append(bytes.Clone(hdr), nonce...)
	return aead.Seal(out, nonce, senderKey, hdr)
}

func sidVectors(v *vectorfile.E2EE) error {
	for _, sid := range []uint32{0, 7, sidAlice, 0xffffffff} {
		text := e2ee.FormatSID(sid)
		if back, err := e2ee.ParseSID(text); err != nil || back != sid {
			return fmt.Errorf("sid %d does not survive FormatSID/ParseSID", sid)
		}
		v.SIDText = append(v.SIDText, vectorfile.SIDText{SID: dec(uint64(sid)), Text: text})
	}
	for _, c := range []struct{ name, in string }{
		{"empty", ""}, {"seven-digits", "1a2b3c4"}, {"nine-digits", "1a2b3c4d0"},
		{"upper-case", "1A2B3C4D"}, {"not-hex", "1a2b3c4g"}, {"sign", "+a2b3c4d"}, {"space", " a2b3c4d"},
	} {
		if _, err := e2ee.ParseSID(c.in); e2ee.Code(err) != "bad-sid" {
			return fmt.Errorf("ParseSID(%q): %v, want bad-sid", c.in, err)
		}
		v.SIDErrors = append(v.SIDErrors, vectorfile.InputError{Name: c.name, Input: c.in, Error: "bad-sid"})
	}
	for _, c := range []struct {
		sid   uint32
		epoch uint16
	}{{0, 0}, {0, 7}, {1, 0}, {sidAlice, 0x0102}, {0xffffffff, 0xffff}} {
		kid := e2ee.EpochKID(c.sid, c.epoch)
		if kid != uint64(c.sid)<<16|uint64(c.epoch) {
			return fmt.Errorf("EpochKID(%d, %d) = %d", c.sid, c.epoch, kid)
		}
		if s, e, err := e2ee.SplitKID(kid); err != nil || s != c.sid || e != c.epoch {
			return fmt.Errorf("SplitKID(%d) = %d, %d, %v", kid, s, e, err)
		}
		v.EpochKIDs = append(v.EpochKIDs, vectorfile.EpochKID{SID: dec(uint64(c.sid)), Epoch: dec(uint64(c.epoch)), KID: dec(kid)})
	}
	for _, c := range []struct {
		a, b  uint16
		newer bool
	}{
		{0, 1, true}, {1, 0, false}, {5, 5, false}, {0xffff, 0, true}, {0, 0xffff, false},
		{0, 0x7fff, true}, {0, 0x8000, false}, {0, 0x8001, false}, {0xfffe, 3, true}, {0x8000, 0, false}, {0x8001, 0, true},
	} {
		if e2ee.EpochNewer(c.b, c.a) != c.newer {
			return fmt.Errorf("EpochNewer(%d, %d) != %v", c.b, c.a, c.newer)
		}
		v.EpochOrder = append(v.EpochOrder, vectorfile.EpochOrder{A: dec(uint64(c.a)), B: dec(uint64(c.b)), Newer: c.newer})
	}
	return nil
}

func x25519Vectors(v *vectorfile.E2EE) error {
	cases := []vectorfile.X25519{rfc7748}
	for _, p := range [][2][]byte{{privAlice, privBob}, {privBob, privCarol}} {
		shared, err := agree(p[0], publicOf(p[1]))
		if err != nil {
			return err
		}
		cases = append(cases, vectorfile.X25519{
			PrivateA: h(p[0]), PublicA: h(publicOf(p[0])), PrivateB: h(p[1]), PublicB: h(publicOf(p[1])), Shared: h(shared),
		})
	}
	for _, c := range cases {
		a, err := e2ee.KeyPairFromPrivate(unhex(c.PrivateA))
		if err != nil {
			return err
		}
		b, _ := e2ee.KeyPairFromPrivate(unhex(c.PrivateB))
		if h(a.Public()) != c.PublicA || h(b.Public()) != c.PublicB {
			return fmt.Errorf("X25519 %q: public keys differ", c.Source)
		}
		ab, err := a.Agree(b.Public())
		if err != nil || h(ab) != c.Shared {
			return fmt.Errorf("X25519 %q: a's agreement differs: %v", c.Source, err)
		}
		ba, err := b.Agree(a.Public())
		if err != nil || h(ba) != c.Shared {
			return fmt.Errorf("X25519 %q: b's agreement differs: %v", c.Source, err)
		}
	}
	v.X25519 = cases
	a, _ := e2ee.KeyPairFromPrivate(privAlice)
	for _, p := range lowOrder {
		if _, err := agree(privAlice, unhex(p)); err == nil {
			return fmt.Errorf("%s is not refused by crypto/ecdh", p)
		}
		if _, err := a.Agree(unhex(p)); e2ee.Code(err) != "bad-public-key" {
			return fmt.Errorf("low-order %s: %v, want bad-public-key", p, err)
		}
	}
	v.X25519LowOrder = lowOrder
	return nil
}

func keyBlobVectors(v *vectorfile.E2EE) error {
	kA, _ := e2ee.DeriveRoomKeys(secretA)
	room := kA.RoomID[:]
	type blobCase struct {
		name             string
		fromPriv, toPriv []byte
		from, to         uint32
		epoch            uint16
		nonce, senderKey []byte
	}
	cases := []blobCase{
		{"alice-to-bob-epoch-0", privAlice, privBob, sidAlice, sidBob, 0, seq(0xb0, 12), seq(0xc0, 32)},
		{"bob-to-alice-epoch-0", privBob, privAlice, sidBob, sidAlice, 0, seq(0xb1, 12), seq(0xd0, 32)},
		{"alice-to-bob-epoch-65535", privAlice, privBob, sidAlice, sidBob, 0xffff, seq(0xb2, 12), seq(0xe0, 32)},
	}
	for _, c := range cases {
		shared, _ := agree(c.fromPriv, publicOf(c.toPriv))
		info, wk := wrapKey(shared, room, c.from, c.to, c.epoch)
		got, err := e2ee.WrapKey(shared, room, e2ee.KeyBlobHeader{From: c.from, To: c.to, Epoch: c.epoch})
		if err != nil || !bytes.Equal(got, wk) {
			return fmt.Errorf("%s: wrap key differs: %v", c.name, err)
		}
		v.WrapKeys = append(v.WrapKeys, vectorfile.WrapKey{
			Shared: h(shared), RoomID: h(room), From: dec(uint64(c.from)), To: dec(uint64(c.to)),
			Epoch: dec(uint64(c.epoch)), Info: h(info), WrapKey: h(wk),
		})
		blob := keyBlob(c.fromPriv, publicOf(c.toPriv), room, c.from, c.to, c.epoch, c.nonce, c.senderKey)
		if len(blob) != e2ee.KeyBlobSize || e2ee.KeyBlobSize != 71 {
			return fmt.Errorf("%s: a key blob of %d bytes", c.name, len(blob))
		}
		own, _ := e2ee.KeyPairFromPrivate(c.toPriv)
		hdr, key, err := e2ee.OpenKeyBlob(own, publicOf(c.fromPriv), room, blob)
		if err != nil || !bytes.Equal(key, c.senderKey) || hdr != (e2ee.KeyBlobHeader{From: c.from, To: c.to, Epoch: c.epoch}) {
			return fmt.Errorf("%s: does not open: %v", c.name, err)
		}
		v.KeyBlobs = append(v.KeyBlobs, vectorfile.KeyBlob{
			Name: c.name, RoomID: h(room),
			SenderPrivate: h(c.fromPriv), SenderPublic: h(publicOf(c.fromPriv)),
			ReceiverPrivate: h(c.toPriv), ReceiverPublic: h(publicOf(c.toPriv)),
			From: dec(uint64(c.from)), To: dec(uint64(c.to)), Epoch: dec(uint64(c.epoch)),
			Nonce: h(c.nonce), SenderKey: h(c.senderKey), WrapKey: h(wk), Blob: h(blob),
		})
	}

	good := unhex(v.KeyBlobs[0].Blob) // alice -> bob, epoch 0
	edit := func(i int, x byte) []byte {
		b := bytes.Clone(good)
		b[i] ^= x
		return b
	}
	// Alice's blob to Bob with the header claiming Bob sent it to Alice:
	// the pair's shared secret is the same both ways.
	turned := bytes.Clone(good)
	copy(turned[1:5], good[5:9])
	copy(turned[5:9], good[1:5])
	otherRoom, _ := e2ee.DeriveRoomKeys(secretB)
	errs := []struct {
		name            string
		toPriv, fromPub []byte
		room, blob      []byte
		code            string
	}{
		{"wrong-receiver-pair", privCarol, publicOf(privAlice), room, good, "key-unwrap"},
		{"wrong-sender-public-key", privBob, publicOf(privMallory), room, good, "key-unwrap"},
		{"other-room", privBob, publicOf(privAlice), otherRoom.RoomID[:], good, "key-unwrap"},
		{"epoch-edited", privBob, publicOf(privAlice), room, edit(10, 0x01), "key-unwrap"},
		{"from-edited", privBob, publicOf(privAlice), room, edit(1, 0x80), "key-unwrap"},
		{"to-edited", privBob, publicOf(privAlice), room, edit(8, 0x01), "key-unwrap"},
		{"turned-around", privBob, publicOf(privAlice), room, turned, "key-unwrap"},
		{"nonce-edited", privBob, publicOf(privAlice), room, edit(11, 0x01), "key-unwrap"},
		{"ciphertext-edited", privBob, publicOf(privAlice), room, edit(23, 0x01), "key-unwrap"},
		{"tag-edited", privBob, publicOf(privAlice), room, edit(70, 0x80), "key-unwrap"},
		{"version-1", privBob, publicOf(privAlice), room, edit(0, 0x03), "key-blob-version"},
		{"version-3", privBob, publicOf(privAlice), room, edit(0, 0x01), "key-blob-version"},
		{"truncated", privBob, publicOf(privAlice), room, good[:70], "key-blob-format"},
		{"header-only", privBob, publicOf(privAlice), room, good[:11], "key-blob-format"},
		{"empty", privBob, publicOf(privAlice), room, []byte{}, "key-blob-format"},
		{"one-byte-more", privBob, publicOf(privAlice), room, append(bytes.Clone(good), 0), "key-blob-format"},
		{"low-order-sender-key", privBob, unhex(lowOrder[2]), room, good, "bad-public-key"},
		{"zero-sender-key", privBob, unhex(lowOrder[0]), room, good, "bad-public-key"},
	}
	for _, c := range errs {
		own, _ := e2ee.KeyPairFromPrivate(c.toPriv)
		_, key, err := e2ee.OpenKeyBlob(own, c.fromPub, c.room, c.blob)
		if e2ee.Code(err) != c.code || key != nil {
			return fmt.Errorf("key blob error %s: %v, want %s", c.name, err, c.code)
		}
		v.KeyBlobErrors = append(v.KeyBlobErrors, vectorfile.KeyBlobError{
			Name: c.name, RoomID: h(c.room), ReceiverPrivate: h(c.toPriv), SenderPublic: h(c.fromPub), Blob: h(c.blob), Error: c.code,
		})
	}
	return nil
}

func epochFrameVectors(v *vectorfile.E2EE) error {
	senderKey := seq(0x90, 32)
	const epoch = 3
	kid := e2ee.EpochKID(sidAlice, epoch)
	var info [8]byte
	binary.BigEndian.PutUint64(info[:], kid)
	base, _ := hkdf.Key(sha256.New, senderKey, []byte("sotto/v2"), "sotto/v2 sender"+string(info[2:]), 32)
	got, err := e2ee.EpochBaseKey(senderKey, kid)
	if err != nil || !bytes.Equal(got, base) {
		return fmt.Errorf("epoch base key differs: %v", err)
	}
	key, salt, err := e2ee.DeriveKeySalt(base, kid)
	if err != nil {
		return err
	}
	snd, err := e2ee.NewEpochSender(senderKey, kid)
	if err != nil {
		return err
	}
	rcv := e2ee.NewEpochReceiver()
	if err := rcv.SetSenderKey(kid, senderKey); err != nil {
		return err
	}
	v.EpochFrames = vectorfile.EpochFrames{
		SenderKey: h(senderKey), SID: dec(uint64(sidAlice)), Epoch: dec(epoch), KID: dec(kid),
		BaseKey: h(base), Key: h(key), Salt: h(salt),
	}
	frames, err := roundTripFrames(snd, rcv, "epoch ", 0, 1, 80, 300)
	v.EpochFrames.Frames = frames
	return err
}
