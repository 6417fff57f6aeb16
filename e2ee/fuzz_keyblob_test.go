package e2ee

import (
	"bytes"
	"testing"
	"time"
)

// FuzzAcceptBlob feeds arbitrary bytes to a key ring as key blobs. It must
// never panic, always fail with a coded error, and accept only a blob that
// the member it names could have sealed: with fixed pairs, the fuzzer's only
// way in is the seed's exact bytes (or their resend).
func FuzzAcceptBlob(f *testing.F) {
	room := bytes.Repeat([]byte{0x24}, RoomIDSize)
	alice, _ := KeyPairFromPrivate(bytes.Repeat([]byte{0x11}, 32))
	bob, _ := KeyPairFromPrivate(bytes.Repeat([]byte{0x22}, 32))
	const aliceSID, bobSID = 0x0a0a0a0a, 0x0b0b0b0b
	var seeds [][]byte
	for e := range uint16(3) {
		var nonce [keyBlobNonceSize]byte
		nonce[0] = byte(e)
		b, err := sealKeyBlobNonce(alice, bob.Public(), room, KeyBlobHeader{From: aliceSID, To: bobSID, Epoch: e}, bytes.Repeat([]byte{byte(e)}, 32), nonce)
		if err != nil {
			f.Fatal(err)
		}
		seeds = append(seeds, b)
		f.Add(b)
	}
	f.Add([]byte{})
	f.Add(make([]byte, KeyBlobSize))
	f.Fuzz(func(t *testing.T, in []byte) {
		rcv := NewEpochReceiver()
		ring, _ := NewKeyRing(KeyRingConfig{RoomID: room, Self: bobSID, Pair: bob, Sink: rcv})
		if err := ring.AddMember(aliceSID, alice.Public()); err != nil {
			t.Fatal(err)
		}
		a, err := ring.AcceptBlob(in, time.Unix(0, 0))
		if err != nil {
			if Code(err) == "" {
				t.Fatalf("error without a code: %v", err)
			}
			if rcv.Senders() != 0 {
				t.Fatal("a refused blob left a key in the receiver")
			}
			return
		}
		for _, s := range seeds {
			if bytes.Equal(in, s) {
				if !a.New || rcv.Senders() != 1 {
					t.Fatalf("accepted %+v with %d KIDs", a, rcv.Senders())
				}
				return
			}
		}
		t.Fatalf("accepted a blob no member sealed: %x", in)
	})
}
