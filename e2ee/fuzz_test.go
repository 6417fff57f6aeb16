package e2ee

import (
	"bytes"
	"testing"
)

// fuzzMedia and fuzzKID are fixed so the seed corpus in testdata/fuzz holds
// frames that really decrypt, letting the fuzzer mutate valid frames.
var (
	fuzzMedia = bytes.Repeat([]byte{0x42}, MediaKeySize)
	fuzzKID   = uint64(0x0123456789ab)
)

// FuzzDecrypt feeds arbitrary bytes to a receiver. It must never panic, never
// return plaintext with an error, and only succeed on a frame that a sender
// with the registered KID could have made.
func FuzzDecrypt(f *testing.F) {
	snd, err := NewSender(fuzzMedia, fuzzKID)
	if err != nil {
		f.Fatal(err)
	}
	for _, n := range []int{1, 2, 80} {
		ct, _ := snd.Encrypt(nil, frame(n))
		f.Add(ct)
	}
	f.Add([]byte{})
	f.Add([]byte{0xfc})
	f.Fuzz(func(t *testing.T, in []byte) {
		rcv, _ := NewReceiver(fuzzMedia)
		if err := rcv.AddSender(fuzzKID); err != nil {
			t.Fatal(err)
		}
		out, err := rcv.Decrypt(nil, in)
		if err != nil {
			if out != nil {
				t.Fatal("plaintext returned with an error")
			}
			if Code(err) == "" {
				t.Fatalf("error without a code: %v", err)
			}
			return
		}
		if len(in) == 0 {
			if len(out) != 0 {
				t.Fatal("empty frame produced output")
			}
			return
		}
		kid, _, n, _ := ParseHeader(in[1:])
		if kid != fuzzKID || len(out) != len(in)-n-TagSize || out[0] != in[0] {
			t.Fatalf("accepted a frame of the wrong shape: %x", in)
		}
		if _, err := rcv.Decrypt(nil, in); err == nil {
			t.Fatal("the same frame was accepted twice")
		}
	})
}

// FuzzParseHeader checks the parser never panics and accepts only the
// canonical (shortest) encoding: re-encoding what it read gives back
// exactly the bytes it consumed.
func FuzzParseHeader(f *testing.F) {
	f.Add([]byte{0x00})
	f.Add([]byte{0x99, 0x01, 0x23, 0x45, 0x67})
	f.Add([]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff})
	f.Fuzz(func(t *testing.T, in []byte) {
		kid, ctr, n, err := ParseHeader(in)
		if err != nil {
			if n != 0 || Code(err) == "" {
				t.Fatalf("bad error result: n=%d err=%v", n, err)
			}
			return
		}
		if n < 1 || n > len(in) || n > MaxHeaderSize {
			t.Fatalf("length %d out of range for %d-byte input", n, len(in))
		}
		if got := AppendHeader(nil, kid, ctr); !bytes.Equal(got, in[:n]) {
			t.Fatalf("parsed %x as (%d, %d), which encodes as %x", in[:n], kid, ctr, got)
		}
	})
}

// FuzzOpenBlob feeds arbitrary text to OpenBlob: it must never panic, never
// return plaintext with an error, and only open what was sealed under the key.
func FuzzOpenBlob(f *testing.F) {
	key := bytes.Repeat([]byte{0x24}, SignalKeySize)
	aead, _ := blobAEAD(key)
	f.Add(sealBlobNonce(aead, [blobNonceSize]byte{}, []byte(`{"t":"hello"}`)))
	f.Add(sealBlobNonce(aead, [blobNonceSize]byte{1}, nil))
	f.Add("")
	f.Add("AQ")
	f.Fuzz(func(t *testing.T, blob string) {
		pt, err := OpenBlob(key, blob)
		if err != nil {
			if pt != nil || Code(err) == "" {
				t.Fatalf("bad error result: %v", err)
			}
			return
		}
		if len(pt) > MaxBlobPlaintext {
			t.Fatalf("opened a %d-byte plaintext, over the limit", len(pt))
		}
		// What opens must be exactly what sealing pt with its nonce gives.
		raw, _ := b64.DecodeString(blob)
		if again := sealBlobNonce(aead, [blobNonceSize]byte(raw[1:1+blobNonceSize]), pt); again != blob {
			t.Fatal("a blob opened that sealing would not produce")
		}
	})
}
