package operator

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"sotto/room"
)

// FuzzToken feeds arbitrary token strings and room ids to Verifier.Check.
// It must never panic and must answer with one of its sentinel errors; a
// token the syntax accepts must be written exactly so by the token's own
// parts (each token has one spelling, which the replay cache relies on); and
// a token that passes must sign again, from the claims Check returned, to
// the very same text. The seeds include tokens signed with the fuzz secret,
// so mutations of genuine tokens are explored too.
func FuzzToken(f *testing.F) {
	now := time.Unix(1_800_000_000, 0)
	seed := func(c Claims) {
		tok, err := Sign(testSecret, c)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(tok, c.Room[:])
	}
	seed(Claims{Room: roomA, User: "user_42", Role: room.RoleTalk, Expiry: now.Add(time.Minute)})
	seed(Claims{Room: roomB, User: strings.Repeat("z", MaxUserBytes), Role: room.RoleListen, Expiry: now.Add(MaxTokenLifetime), Nonce: make([]byte, MaxNonceBytes)})
	seed(Claims{Room: roomA, User: "-", Role: room.RoleListen, Expiry: now.Add(time.Second), Nonce: make([]byte, MinNonceBytes)})
	seed(Claims{Room: roomA, User: "late", Role: room.RoleTalk, Expiry: now}) // expired
	f.Add("", roomA[:])
	f.Add("v1", roomA[:])
	f.Add("v1.......", []byte{})
	f.Add("v1.AQIDBAUGBwgJCgsMDQ4PEA.u.talk.1800000060.AAAAAAAAAAA.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", roomA[:])

	sentinels := []error{ErrTokenMissing, ErrTokenMalformed, ErrTokenSignature, ErrTokenWrongRoom,
		ErrTokenExpired, ErrTokenLifetime, ErrTokenReplayed}
	f.Fuzz(func(t *testing.T, tok string, roomBytes []byte) {
		var want room.ID
		copy(want[:], roomBytes)

		if p, ok := parseToken(tok); ok {
			again := signedPart(p.room, p.user, p.role, p.exp, p.nonce) + "." + b64.EncodeToString(p.mac[:])
			if again != tok || p.body != tok[:strings.LastIndexByte(tok, '.')] {
				t.Fatalf("token %q parses but is written %q", tok, again)
			}
		}

		v := NewVerifier(testSecret)
		v.Now = func() time.Time { return now }
		c, err := v.Check(tok, want)
		if err != nil {
			known := false
			for _, s := range sentinels {
				known = known || err == s
			}
			if !known {
				t.Fatalf("Check(%q) = %v, not a sentinel error", tok, err)
			}
			if v.UsedTokens() != 0 {
				t.Fatal("a refused token was recorded")
			}
			return
		}
		if c.Room != want || !c.Expiry.After(now) || c.Expiry.Sub(now) > MaxTokenLifetime {
			t.Fatalf("Check(%q) passed with claims %+v", tok, c)
		}
		again, err := Sign(testSecret, c)
		if err != nil || again != tok {
			t.Fatalf("claims of %q sign to %q, %v", tok, again, err)
		}
		if !bytes.Equal(c.Nonce, mustParse(t, tok).nonce) {
			t.Fatal("nonce differs")
		}
		if _, err := v.Check(tok, want); err != ErrTokenReplayed {
			t.Fatalf("second Check = %v, want ErrTokenReplayed", err)
		}
	})
}

func mustParse(t *testing.T, tok string) parsed {
	t.Helper()
	p, ok := parseToken(tok)
	if !ok {
		t.Fatalf("%q does not parse", tok)
	}
	return p
}
