package e2ee

import (
	"strings"
	"testing"
)

// FuzzParseLink feeds arbitrary text to ParseLink and ParseFragment (what a
// user pastes, scans or opens). Neither may panic; every error carries a
// link code and a message that holds none of the input; what is accepted is
// a 32-byte secret whose canonical fragment is exactly what was parsed, so
// that two spellings can never name the same room. Seeds are in
// testdata/fuzz/FuzzParseLink.
func FuzzParseLink(f *testing.F) {
	f.Fuzz(func(t *testing.T, link string) {
		for _, parse := range []func(string) ([]byte, error){ParseLink, ParseFragment} {
			secret, err := parse(link)
			if err != nil {
				if secret != nil {
					t.Fatal("secret returned with an error")
				}
				if !strings.HasPrefix(Code(err), "link-") {
					t.Fatalf("error %v has code %q", err, Code(err))
				}
				if len(link) >= 4 && strings.Contains(err.Error(), link) {
					t.Fatalf("error %q echoes the input", err)
				}
				continue
			}
			if len(secret) != SecretSize {
				t.Fatalf("accepted a %d-byte secret", len(secret))
			}
			frag, _ := FormatFragment(secret)
			got := link
			if i := strings.IndexByte(link, '#'); i >= 0 {
				got = link[i+1:]
			}
			if got != frag && "#"+got != frag && strings.TrimPrefix(got, "#") != frag {
				t.Fatalf("accepted %q, whose canonical fragment is %q", link, frag)
			}
		}
	})
}

// FuzzParseKID feeds arbitrary text to ParseKID (the KID inside a member's
// sealed hello): no panic, and only FormatKID's own spelling is accepted.
// Seeds are in testdata/fuzz/FuzzParseKID.
func FuzzParseKID(f *testing.F) {
	f.Fuzz(func(t *testing.T, s string) {
		kid, err := ParseKID(s)
		if err != nil {
			if Code(err) != "bad-kid" {
				t.Fatalf("error %v", err)
			}
			return
		}
		if FormatKID(kid) != s {
			t.Fatalf("accepted %q, which FormatKID writes %q", s, FormatKID(kid))
		}
	})
}
