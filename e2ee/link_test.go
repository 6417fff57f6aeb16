package e2ee

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

func TestLinkRoundTrip(t *testing.T) {
	for i := 0; i < 200; i++ {
		s := NewSecret()
		link, err := FormatLink("https://sotto.example/", s)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(link, "https://sotto.example/#1.") {
			t.Fatalf("link %q has the wrong shape", link)
		}
		got, err := ParseLink(link)
		if err != nil || !bytes.Equal(got, s) {
			t.Fatalf("round trip: %v", err)
		}
		_, frag, _ := strings.Cut(link, "#")
		if got, err := ParseFragment(frag); err != nil || !bytes.Equal(got, s) {
			t.Fatalf("fragment: %v", err)
		}
	}
}

func TestFormatLinkRejects(t *testing.T) {
	if _, err := FormatLink("https://h/#x", NewSecret()); !errors.Is(err, ErrLinkFormat) {
		t.Errorf("base with fragment: %v", err)
	}
	if _, err := FormatLink("https://h/", make([]byte, 31)); !errors.Is(err, ErrBadSecret) {
		t.Errorf("short secret: %v", err)
	}
}
