package termqr

import (
	"crypto/sha256"
	"encoding/hex"
	"image"
	"image/color"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// samples span every version the package makes, and both count widths.
var samples = []string{
	"https://192.168.1.20/",                   // version 2
	"https://192.168.100.200:8443/",           // 3
	"https://[fd00:1234:5678:9abc::20]:8443/", // 3
	strings.Repeat("a", 60),                   // 4
	strings.Repeat("b", 100),                  // 6
	strings.Repeat("c", 120),                  // 7, the first with version blocks
	strings.Repeat("d", 150),                  // 8, two block sizes
	strings.Repeat("e", 210),                  // 10, 16-bit count
}

func png4(t *testing.T, c *Code, path string) {
	const scale = 4
	side := (c.Size + 2*quietZone) * scale
	img := image.NewGray(image.Rect(0, 0, side, side))
	for y := range side {
		for x := range side {
			mx, my := x/scale-quietZone, y/scale-quietZone
			v := color.Gray{Y: 255}
			if mx >= 0 && my >= 0 && mx < c.Size && my < c.Size && c.Dark(mx, my) {
				v = color.Gray{Y: 0}
			}
			img.SetGray(x, y, v)
		}
	}
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := png.Encode(f, img); err != nil {
		t.Fatal(err)
	}
}

// TestDecodes renders each sample and reads it back with zbarimg (Debian
// package zbar-tools, which `make deps` installs). It fails rather than skips
// without it: a skipped decode check would let an unreadable code ship.
func TestDecodes(t *testing.T) {
	zbar, err := exec.LookPath("zbarimg")
	if err != nil {
		t.Fatal("zbarimg not found: run `make deps` (Debian package zbar-tools)")
	}
	dir := t.TempDir()
	type job struct {
		text string
		mask int
	}
	var jobs []job
	for _, s := range samples {
		jobs = append(jobs, job{s, -1})
	}
	for m := range 8 { // every mask, whichever the penalty picks
		jobs = append(jobs, job{samples[1], m}, job{samples[5], m})
	}
	for i, j := range jobs {
		s := j.text
		c, err := encode(s, j.mask)
		if err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(dir, "qr.png")
		png4(t, c, path)
		out, err := exec.Command(zbar, "--quiet", "--raw", "-Sdisable", "-Sqrcode.enable", path).Output()
		if err != nil {
			t.Fatalf("sample %d (version %d, mask %d): zbarimg: %v", i, c.Version, c.Mask, err)
		}
		if got := strings.TrimSuffix(string(out), "\n"); got != s {
			t.Fatalf("sample %d: decoded %q", i, got)
		}
	}
}

// TestGolden pins the modules of every sample, as checked with zbarimg when
// this was written, so machines without a decoder still catch a change.
func TestGolden(t *testing.T) {
	for i, s := range samples {
		c, err := Encode(s)
		if err != nil {
			t.Fatal(err)
		}
		if got := goldenSum(t, s); got != golden[i] {
			t.Errorf("sample %d (version %d, mask %d): modules hash %s, want %s", i, c.Version, c.Mask, got, golden[i])
		}
	}
}

func goldenSum(t *testing.T, s string) string {
	c, err := Encode(s)
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for y := range c.Size {
		for x := range c.Size {
			if c.Dark(x, y) {
				b.WriteByte('1')
			} else {
				b.WriteByte('0')
			}
		}
	}
	sum := sha256.Sum256([]byte(b.String()))
	return hex.EncodeToString(sum[:8])
}

var golden = []string{
	"24c5233740bf7385", // version 2, mask 2
	"d44dcf8663555622", // 3, 2
	"757fed5d1163499f", // 3, 2
	"70c1b2272d0a80d7", // 4, 1
	"9950d0233d9edd46", // 6, 2
	"d211e1b170b10844", // 7, 2
	"847b26a8e9e259e9", // 8, 2
	"586a32f09ef3e91d", // 10, 1
}

func TestVersionsAndLimits(t *testing.T) {
	for _, tc := range []struct {
		n, version int
	}{{14, 1}, {15, 2}, {26, 2}, {27, 3}, {211, 10}, {213, 10}} {
		c, err := Encode(strings.Repeat("x", tc.n))
		if err != nil || c.Version != tc.version || c.Size != 17+4*tc.version {
			t.Errorf("%d bytes: version %v, err %v; want version %d", tc.n, c, err, tc.version)
		}
	}
	if _, err := Encode(strings.Repeat("x", 214)); err != ErrTooLong {
		t.Errorf("214 bytes: %v", err)
	}
}

func TestRender(t *testing.T) {
	c, _ := Encode(samples[0])
	for _, ansi := range []bool{false, true} {
		out, err := Render(samples[0], ansi)
		if err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
		if len(lines) != (c.Size+2*quietZone+1)/2 {
			t.Errorf("ansi %v: %d lines for %d modules", ansi, len(lines), c.Size)
		}
		if strings.Contains(out, "\x1b") != ansi {
			t.Errorf("ansi %v: escape codes present: %v", ansi, !ansi)
		}
		// The top quiet-zone line is all light: ink without ANSI, blank with.
		top := strings.TrimSuffix(strings.TrimPrefix(lines[0], "\x1b[30;47m"), "\x1b[0m")
		wantTop := strings.Repeat("█", c.Size+2*quietZone)
		if ansi {
			wantTop = strings.Repeat(" ", c.Size+2*quietZone)
		}
		if top != wantTop {
			t.Errorf("ansi %v: top line %q", ansi, top)
		}
	}
}
