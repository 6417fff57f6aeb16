package e2ee

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"math/rand/v2"
	"os/exec"
	"strconv"
	"testing"
	"time"
)

// TestInteropWithJavaScript runs the browser module (static/js/e2ee) in Node
// through jstest/interop.mjs: frames and blobs made in JavaScript must open
// in Go and the other way round, and both must derive the same keys and
// links. Without node it fails rather than skips: CI installs node, and a
// skipped interop test would hide a broken browser module.
func TestInteropWithJavaScript(t *testing.T) {
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatal("node not found in PATH: this test needs Node 20+ to run the browser module")
	}
	secret := NewSecret()
	keys, _ := DeriveRoomKeys(secret)
	kidJS, kidGo := NewKID(), NewKID()

	r := rand.New(rand.NewPCG(7, 8))
	var plain [][]byte
	for _, n := range []int{0, 1, 2, 80, 1200} {
		plain = append(plain, frame(n))
	}
	for i := 0; i < 300; i++ { // enough to need a 2-byte CTR
		p := make([]byte, r.IntN(300))
		for j := range p {
			p[j] = byte(r.Uint32())
		}
		plain = append(plain, p)
	}

	// Go encrypts; JavaScript will decrypt, plus a tampered and a replayed frame.
	snd, _ := NewSender(keys.Media[:], kidGo)
	var goFrames []string
	for _, p := range plain {
		f, err := snd.Encrypt(nil, p)
		if err != nil {
			t.Fatal(err)
		}
		goFrames = append(goFrames, hex.EncodeToString(f))
	}
	tampered, _ := snd.Encrypt(nil, frame(80))
	tampered[len(tampered)-1] ^= 1
	jsDecrypt := append(append([]string{}, goFrames...), hex.EncodeToString(tampered), goFrames[len(goFrames)-1])

	goBlob, _ := SealBlob(keys.Signal[:], []byte(`{"t":"hello","name":"Grace"}`))
	goLink, _ := FormatLink("https://sotto.example/", secret)

	hexes := func(bs [][]byte) []string {
		var out []string
		for _, b := range bs {
			out = append(out, hex.EncodeToString(b))
		}
		return out
	}
	sh := hex.EncodeToString(secret)
	reqs := []map[string]any{
		{"op": "keys", "secret": sh},
		{"op": "encrypt", "secret": sh, "kid": strconv.FormatUint(kidJS, 10), "frames": hexes(plain)},
		{"op": "decrypt", "secret": sh, "kids": []string{strconv.FormatUint(kidGo, 10)}, "frames": jsDecrypt},
		{"op": "seal", "secret": sh, "plaintext": hex.EncodeToString([]byte(`{"t":"hello","name":"Ada"}`))},
		{"op": "open", "secret": sh, "blob": goBlob},
		{"op": "link", "base": "https://sotto.example/", "secret": sh},
		{"op": "parse", "link": goLink},
	}
	res := askInterop[struct {
		RoomID     string `json:"room_id"`
		Media      string `json:"media"`
		Signal     string `json:"signal"`
		Verifier   string `json:"verifier"`
		SafetyCode string `json:"safety_code"`
		Frames     []string
		Results    []struct{ Plaintext, Error string }
		Blob       string
		Plaintext  string
		Error      string
		Link       string
		Secret     string
	}](t, node, reqs)

	t.Run("keys", func(t *testing.T) {
		k := res[0]
		if k.RoomID != hex.EncodeToString(keys.RoomID[:]) || k.Media != hex.EncodeToString(keys.Media[:]) ||
			k.Signal != hex.EncodeToString(keys.Signal[:]) || k.Verifier != hex.EncodeToString(keys.Verifier[:]) ||
			k.SafetyCode != keys.SafetyCode() {
			t.Fatalf("JavaScript derived different keys: %+v", k)
		}
	})

	t.Run("js-to-go frames", func(t *testing.T) {
		rcv, _ := NewReceiver(keys.Media[:])
		rcv.AddSender(kidJS)
		if len(res[1].Frames) != len(plain) {
			t.Fatalf("got %d frames from JavaScript, want %d", len(res[1].Frames), len(plain))
		}
		for i, fh := range res[1].Frames {
			f, _ := hex.DecodeString(fh)
			got, err := rcv.Decrypt(nil, f)
			if err != nil || !bytes.Equal(got, plain[i]) {
				t.Fatalf("frame %d (%d bytes) from JavaScript: %v", i, len(plain[i]), err)
			}
		}
	})

	t.Run("go-to-js frames", func(t *testing.T) {
		got := res[2].Results
		if len(got) != len(jsDecrypt) {
			t.Fatalf("got %d results, want %d", len(got), len(jsDecrypt))
		}
		for i, p := range plain {
			if got[i].Error != "" || got[i].Plaintext != hex.EncodeToString(p) {
				t.Fatalf("frame %d (%d bytes) in JavaScript: error %q", i, len(p), got[i].Error)
			}
		}
		if e := got[len(plain)].Error; e != "auth" {
			t.Errorf("tampered Go frame in JavaScript: error %q, want auth", e)
		}
		if e := got[len(plain)+1].Error; e != "replay" {
			t.Errorf("replayed Go frame in JavaScript: error %q, want replay", e)
		}
	})

	t.Run("blobs", func(t *testing.T) {
		pt, err := OpenBlob(keys.Signal[:], res[3].Blob)
		if err != nil || string(pt) != `{"t":"hello","name":"Ada"}` {
			t.Errorf("JavaScript blob in Go: %q, %v", pt, err)
		}
		if res[4].Error != "" || res[4].Plaintext != hex.EncodeToString([]byte(`{"t":"hello","name":"Grace"}`)) {
			t.Errorf("Go blob in JavaScript: error %q", res[4].Error)
		}
	})

	t.Run("links", func(t *testing.T) {
		if res[5].Link != goLink {
			t.Errorf("JavaScript link %q, Go link %q", res[5].Link, goLink)
		}
		if res[6].Secret != sh {
			t.Errorf("JavaScript parsed the Go link wrongly (error %q)", res[6].Error)
		}
	})
}

// askInterop sends reqs to jstest/interop.mjs in Node and returns its
// answers, one per request, read into R: the shared half of the v1 and v2
// interop tests.
func askInterop[R any](t *testing.T, node string, reqs []map[string]any) []R {
	t.Helper()
	in, _ := json.Marshal(reqs)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, "jstest/interop.mjs")
	cmd.Stdin = bytes.NewReader(in)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("node jstest/interop.mjs: %v\n%s", err, stderr.String())
	}
	var res []R
	if err := json.Unmarshal(out, &res); err != nil || len(res) != len(reqs) {
		t.Fatalf("bad answer from node (%v): %s", err, out)
	}
	return res
}
