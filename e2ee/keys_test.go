package e2ee

import (
	"errors"
	"regexp"
	"strings"
	"testing"
)

func TestDeriveRoomKeysRejectsWrongLength(t *testing.T) {
	for _, n := range []int{0, 16, 31, 33, 64} {
		k, err := DeriveRoomKeys(make([]byte, n))
		if !errors.Is(err, ErrBadSecret) || k != nil {
			t.Errorf("%d-byte secret: err = %v, want ErrBadSecret", n, err)
		}
	}
}

func TestDeriveRoomKeysSeparatesOutputs(t *testing.T) {
	k, err := DeriveRoomKeys(NewSecret())
	if err != nil {
		t.Fatal(err)
	}
	// Each info string must give different bytes; equal prefixes would mean
	// two purposes share a key.
	outs := [][]byte{k.RoomID[:], k.RoomAuth[:], k.Signal[:], k.Media[:], k.SAS[:], k.Verifier[:]}
	for i := range outs {
		for j := range outs {
			if i != j && string(outs[i][:6]) == string(outs[j][:6]) {
				t.Errorf("outputs %d and %d share a prefix", i, j)
			}
		}
	}
	k2, _ := DeriveRoomKeys(NewSecret())
	if k2.RoomID == k.RoomID {
		t.Error("two fresh secrets gave the same room id")
	}
}

func TestCheckRoomAuth(t *testing.T) {
	k, _ := DeriveRoomKeys(NewSecret())
	if !CheckRoomAuth(k.Verifier, k.RoomAuth[:]) {
		t.Fatal("own room_auth rejected")
	}
	bad := k.RoomAuth
	bad[0] ^= 1
	if CheckRoomAuth(k.Verifier, bad[:]) {
		t.Fatal("altered room_auth accepted")
	}
	if CheckRoomAuth(k.Verifier, nil) {
		t.Fatal("empty room_auth accepted")
	}
}

func TestSafetyCode(t *testing.T) {
	shape := regexp.MustCompile(`^[0-9]{4} [0-9]{4} [0-9]{4}$`)
	for _, c := range []struct {
		sas  [SASSize]byte
		want string
	}{
		{[SASSize]byte{}, "0000 0000 0000"},
		{[SASSize]byte{0, 0, 0, 0, 0, 1}, "0000 0000 0001"},
		// 2^48-1 = 281474976710655; mod 10^12 = 474976710655
		{[SASSize]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, "4749 7671 0655"},
	} {
		if got := SafetyCode(c.sas); got != c.want {
			t.Errorf("SafetyCode(%x) = %q, want %q", c.sas, got, c.want)
		}
	}
	for i := 0; i < 100; i++ {
		k, _ := DeriveRoomKeys(NewSecret())
		if code := k.SafetyCode(); !shape.MatchString(code) {
			t.Fatalf("safety code %q has the wrong shape", code)
		}
	}
}

func TestNewKIDRange(t *testing.T) {
	seen := map[uint64]bool{}
	for i := 0; i < 1000; i++ {
		kid := NewKID()
		if kid > MaxKID {
			t.Fatalf("KID %x over 48 bits", kid)
		}
		if seen[kid] {
			t.Fatalf("KID %x repeated in 1000 draws", kid)
		}
		seen[kid] = true
	}
}

func TestParseKIDRejects(t *testing.T) {
	for _, s := range []string{"", "0123456789a", "0123456789abc", "0123456789AB", "0123456789ag", " 123456789ab", "-12345678901"} {
		if _, err := ParseKID(s); !errors.Is(err, ErrBadKID) {
			t.Errorf("ParseKID(%q): err = %v, want ErrBadKID", s, err)
		}
	}
}

func TestSenderBaseKeyRejects(t *testing.T) {
	if _, err := SenderBaseKey(make([]byte, 31), 1); !errors.Is(err, ErrBadKey) {
		t.Errorf("short media key: %v", err)
	}
	if _, err := SenderBaseKey(make([]byte, 32), MaxKID+1); !errors.Is(err, ErrBadKID) {
		t.Errorf("49-bit KID: %v", err)
	}
	a, _ := SenderBaseKey(make([]byte, 32), 1)
	b, _ := SenderBaseKey(make([]byte, 32), 2)
	if string(a) == string(b) {
		t.Error("two KIDs share a base key")
	}
}

func TestErrorsCarryCodesAndNoSecrets(t *testing.T) {
	_, err := DeriveRoomKeys(make([]byte, 5))
	if Code(err) != "bad-secret" || !strings.HasPrefix(err.Error(), "e2ee: ") {
		t.Errorf("wrapped error: code %q, text %q", Code(err), err)
	}
	if Code(errors.New("other")) != "" || Code(nil) != "" {
		t.Error("Code of a foreign error must be empty")
	}
	// A link error must not echo the (possibly secret-bearing) input.
	in := "#1.SECRETSECRETSECRETSECRETSECRETSECRETSECRET"
	_, err = ParseFragment(in)
	if err == nil || strings.Contains(err.Error(), "SECRET") {
		t.Errorf("link error %v echoes its input", err)
	}
}
