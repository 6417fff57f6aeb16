package static

import (
	"bufio"
	"io/fs"
	"os"
	"strings"
	"testing"
)

// TestVendoredFilesAreEmbedded: every file that scripts/vendor.sh pins
// (NOBLE_SUMS) is embedded and served, including @noble/hashes' _md.js and
// _u64.js, whose leading underscore a plain //go:embed directory pattern
// skips; a missing one would break the PAKE module's imports in browsers
// only.
func TestVendoredFilesAreEmbedded(t *testing.T) {
	script, err := os.ReadFile("../scripts/vendor.sh")
	if err != nil {
		t.Fatal(err)
	}
	_, sums, ok := strings.Cut(string(script), "NOBLE_SUMS='\n")
	if !ok {
		t.Fatal("scripts/vendor.sh has no NOBLE_SUMS list")
	}
	sums, _, _ = strings.Cut(sums, "'")
	h, err := Handler()
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	sc := bufio.NewScanner(strings.NewReader(sums))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) != 2 {
			continue
		}
		n++
		p := "vendor/" + f[1]
		if _, err := fs.Stat(FS, p); err != nil {
			t.Errorf("%s is not embedded: %v", p, err)
			continue
		}
		if c := get(t, h, "/"+p).Code; c != 200 {
			t.Errorf("/%s: %d", p, c)
		}
	}
	if n < 10 {
		t.Fatalf("read only %d pinned files from NOBLE_SUMS", n)
	}
}
