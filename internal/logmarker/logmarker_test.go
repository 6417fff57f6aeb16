package logmarker

import (
	"strings"
	"testing"
)

// Leaks finds the marker whole, quoted, its escapes alone and any 6 letters
// of its token, and nothing in a clean log.
func TestLeaks(t *testing.T) {
	marker, token := New()
	if !strings.Contains(marker, token) || !strings.Contains(marker, "\x1b") {
		t.Fatalf("marker %q lacks its token %q or an escape", marker, token)
	}
	for _, line := range []string{
		"x " + marker, "q=" + strings.ReplaceAll(marker, "\x1b", `\x1b`), "ufrag " + token[3:9], "bell \a",
	} {
		if len(Leaks("clean line\n"+line+"\nanother", token)) != 1 {
			t.Errorf("Leaks missed %q", line)
		}
	}
	if bad := Leaks("level=INFO msg=\"shutting down\"\nlevel=INFO msg=stopped", token); len(bad) != 0 {
		t.Errorf("Leaks flagged a clean log: %q", bad)
	}
}
