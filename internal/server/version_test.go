package server

import (
	"regexp"
	"strings"
	"testing"
)

// What the linker wrote into package main wins over the build info; without
// it, `sotto version` still prints one well-formed line.
func TestVersionStamp(t *testing.T) {
	b := readBuildInfo(Stamp{Revision: "feedface", Date: "2026-01-02T03:04:05Z"})
	if b.Revision != "feedface" || b.Date != "2026-01-02T03:04:05Z" {
		t.Errorf("stamped: %+v", b)
	}
	plain := readBuildInfo(Stamp{})
	if plain.Revision == "" || plain.Date == "" || plain.Revision == "feedface" {
		t.Errorf("unstamped: %+v", plain)
	}
	var out strings.Builder
	if code := VersionMain(&out, Stamp{Revision: "feedface", Date: "2026-01-02T03:04:05Z"}); code != 0 {
		t.Errorf("exit %d", code)
	}
	line := regexp.MustCompile(`^sotto \S+ \(revision feedface, built 2026-01-02T03:04:05Z, go1\.\d+\S* \w+/\w+\)\n$`)
	if !line.MatchString(out.String()) {
		t.Errorf("printed %q", out.String())
	}
}
