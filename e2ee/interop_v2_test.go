package e2ee

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"os/exec"
	"strconv"
	"testing"
)

// TestInteropV2WithJavaScript is TestInteropWithJavaScript for v2 media
// keys (docs/keys.md), with fresh random keys, sids and nonces rather than
// the fixed vectors: a key blob sealed in one language opens in the other,
// both ways, and frames under an epoch KID cross too.
func TestInteropV2WithJavaScript(t *testing.T) {
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatal("node not found in PATH: this test needs Node 20+ to run the browser module")
	}
	random := func(n int) []byte {
		b := make([]byte, n)
		rand.Read(b)
		return b
	}
	room := random(RoomIDSize)
	privGo, privJS := random(32), random(32)
	goPair, err := KeyPairFromPrivate(privGo)
	if err != nil {
		t.Fatal(err)
	}
	jsPair, _ := KeyPairFromPrivate(privJS)
	sidGo, sidJS := NewSID(), NewSID()
	epochGo, epochJS := uint16(NewSID()), uint16(NewSID())
	keyGo, keyJS := NewSenderKey(), NewSenderKey()

	goBlob, err := SealKeyBlob(goPair, jsPair.Public(), room, KeyBlobHeader{From: sidGo, To: sidJS, Epoch: epochGo}, keyGo)
	if err != nil {
		t.Fatal(err)
	}
	var plain [][]byte
	for _, n := range []int{0, 1, 2, 80, 1200} {
		plain = append(plain, frame(n))
	}
	kidGo, kidJS := EpochKID(sidGo, epochGo), EpochKID(sidJS, epochJS)
	snd, _ := NewEpochSender(keyGo, kidGo)
	var goFrames []string
	for _, p := range plain {
		f, _ := snd.Encrypt(nil, p)
		goFrames = append(goFrames, hex.EncodeToString(f))
	}
	tampered, _ := snd.Encrypt(nil, frame(80))
	tampered[len(tampered)-1] ^= 1
	goFrames = append(goFrames, hex.EncodeToString(tampered))

	h := hex.EncodeToString
	d := func(v uint64) string { return strconv.FormatUint(v, 10) }
	frames := make([]string, len(plain))
	for i, p := range plain {
		frames[i] = h(p)
	}
	reqs := []map[string]any{
		{"op": "open-key", "room": h(room), "private": h(privJS), "peer_public": h(goPair.Public()), "blob": h(goBlob)},
		{"op": "seal-key", "room": h(room), "private": h(privJS), "peer_public": h(goPair.Public()),
			"from": d(uint64(sidJS)), "to": d(uint64(sidGo)), "epoch": d(uint64(epochJS)), "sender_key": h(keyJS)},
		{"op": "encrypt-v2", "sender_key": h(keyJS), "kid": d(kidJS), "frames": frames},
		{"op": "decrypt-v2", "sender_key": h(keyGo), "kid": d(kidGo), "frames": goFrames},
		// The Go blob opened by a third party's pair: refused.
		{"op": "open-key", "room": h(room), "private": h(random(32)), "peer_public": h(goPair.Public()), "blob": h(goBlob)},
	}
	res := askInterop[struct {
		From, To, Epoch string
		SenderKey       string `json:"sender_key"`
		Blob            string
		Frames          []string
		Results         []struct{ Plaintext, Error string }
		Error           string
	}](t, node, reqs)

	t.Run("go-to-js key blob", func(t *testing.T) {
		r := res[0]
		if r.Error != "" || r.SenderKey != h(keyGo) || r.From != d(uint64(sidGo)) || r.To != d(uint64(sidJS)) || r.Epoch != d(uint64(epochGo)) {
			t.Fatalf("JavaScript opened %+v", r)
		}
		if res[4].Error != "key-unwrap" {
			t.Fatalf("a third pair in JavaScript: %+v, want key-unwrap", res[4])
		}
	})
	t.Run("js-to-go key blob", func(t *testing.T) {
		blob, _ := hex.DecodeString(res[1].Blob)
		hdr, key, err := OpenKeyBlob(goPair, jsPair.Public(), room, blob)
		if err != nil || !bytes.Equal(key, keyJS) || hdr != (KeyBlobHeader{From: sidJS, To: sidGo, Epoch: epochJS}) {
			t.Fatalf("Go opened %+v, %v", hdr, err)
		}
	})
	t.Run("js-to-go frames", func(t *testing.T) {
		rcv := NewEpochReceiver()
		rcv.SetSenderKey(kidJS, keyJS)
		if len(res[2].Frames) != len(plain) {
			t.Fatalf("%d frames from JavaScript", len(res[2].Frames))
		}
		for i, fh := range res[2].Frames {
			f, _ := hex.DecodeString(fh)
			got, err := rcv.Decrypt(nil, f)
			if err != nil || !bytes.Equal(got, plain[i]) {
				t.Fatalf("frame %d from JavaScript: %v", i, err)
			}
		}
	})
	t.Run("go-to-js frames", func(t *testing.T) {
		got := res[3].Results
		if len(got) != len(goFrames) {
			t.Fatalf("%d results", len(got))
		}
		for i, p := range plain {
			if got[i].Error != "" || got[i].Plaintext != h(p) {
				t.Fatalf("frame %d in JavaScript: %+v", i, got[i])
			}
		}
		if got[len(plain)].Error != "auth" {
			t.Fatalf("tampered frame in JavaScript: %+v", got[len(plain)])
		}
	})
}
