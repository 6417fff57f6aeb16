package e2ee

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

func TestBlobRoundTrip(t *testing.T) {
	k, _ := DeriveRoomKeys(NewSecret())
	for _, n := range []int{0, 1, 100, MaxBlobPlaintext} {
		pt := bytes.Repeat([]byte{'a'}, n)
		blob, err := SealBlob(k.Signal[:], pt)
		if err != nil {
			t.Fatal(err)
		}
		if len(blob) > MaxBlobEncoded {
			t.Fatalf("%d-byte blob encodes to %d characters, over MaxBlobEncoded", n, len(blob))
		}
		got, err := OpenBlob(k.Signal[:], blob)
		if err != nil || !bytes.Equal(got, pt) {
			t.Fatalf("%d bytes: %v", n, err)
		}
	}
}

func TestBlobNoncesDiffer(t *testing.T) {
	k, _ := DeriveRoomKeys(NewSecret())
	a, _ := SealBlob(k.Signal[:], []byte("same"))
	b, _ := SealBlob(k.Signal[:], []byte("same"))
	if a == b {
		t.Fatal("two seals of one plaintext are identical: nonce not random")
	}
}

func TestBlobRejects(t *testing.T) {
	k, _ := DeriveRoomKeys(NewSecret())
	if _, err := SealBlob(k.Signal[:], make([]byte, MaxBlobPlaintext+1)); !errors.Is(err, ErrBlobTooLarge) {
		t.Errorf("oversized seal: %v", err)
	}
	if _, err := SealBlob(k.Signal[:16], nil); !errors.Is(err, ErrBadKey) {
		t.Errorf("short key seal: %v", err)
	}
	blob, _ := SealBlob(k.Signal[:], []byte("secret name"))
	if _, err := OpenBlob(k.Media[:], blob); !errors.Is(err, ErrBlobAuth) {
		t.Errorf("media key opened a signal blob: %v", err)
	}
	// Every single-character change must be caught.
	alphabet := "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	for i := range blob {
		c := alphabet[(strings.IndexByte(alphabet, blob[i])+1)%64]
		bad := blob[:i] + string(c) + blob[i+1:]
		if pt, err := OpenBlob(k.Signal[:], bad); err == nil || pt != nil {
			t.Fatalf("change at %d accepted", i)
		}
	}
}
