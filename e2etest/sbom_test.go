package e2etest

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"sotto/internal/testutil"
)

// cdxComponent is what the test reads of a CycloneDX component.
type cdxComponent struct {
	Name       string         `json:"name"`
	Version    string         `json:"version"`
	Purl       string         `json:"purl"`
	Components []cdxComponent `json:"components"`
}

func readCycloneDX(t *testing.T, path string) map[string]string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		BOMFormat   string         `json:"bomFormat"`
		SpecVersion string         `json:"specVersion"`
		Components  []cdxComponent `json:"components"`
	}
	if err := json.Unmarshal(data, &doc); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	if doc.BOMFormat != "CycloneDX" || doc.SpecVersion == "" {
		t.Fatalf("%s: bomFormat %q, specVersion %q", path, doc.BOMFormat, doc.SpecVersion)
	}
	versions := map[string]string{}
	var walk func([]cdxComponent)
	walk = func(cs []cdxComponent) {
		for _, c := range cs {
			versions[c.Name] = c.Version
			walk(c.Components)
		}
	}
	walk(doc.Components)
	return versions
}

// TestSBOM runs `make sbom` and checks both documents: the Go one lists
// pion/webrtc at the version go.mod selects (and no test-only module, since
// it describes what is shipped), the web one each vendored library at the
// version its VERSION file or vendor.sh pins.
func TestSBOM(t *testing.T) {
	dir := t.TempDir()
	root := testutil.RepoRoot(t)
	sbom := exec.Command("make", "--no-print-directory", "sbom", "SBOM_DIR="+dir)
	sbom.Dir = root
	if out, err := sbom.CombinedOutput(); err != nil {
		t.Fatalf("make sbom: %v\n%s", err, out)
	}
	want, err := exec.Command("go", "list", "-m", "-f", "{{.Version}}", "github.com/pion/webrtc/v4").Output()
	if err != nil {
		t.Fatal(err)
	}
	goMods := readCycloneDX(t, filepath.Join(dir, "sotto-go.cdx.json"))
	if got := goMods["github.com/pion/webrtc/v4"]; got != strings.TrimSpace(string(want)) {
		t.Errorf("Go SBOM: pion/webrtc at %q, go.mod selects %q", got, want)
	}
	if v, ok := goMods["github.com/chromedp/chromedp"]; ok {
		t.Errorf("Go SBOM lists chromedp %s, which only tests use", v)
	}

	web := readCycloneDX(t, filepath.Join(dir, "sotto-web.cdx.json"))
	for name, versionFile := range map[string]string{"@noble/curves": "noble-curves", "@noble/hashes": "noble-hashes"} {
		v, err := os.ReadFile(filepath.Join(root, "static/vendor", versionFile, "VERSION"))
		if err != nil {
			t.Fatal(err)
		}
		if got := name + "@" + web[name]; got != strings.TrimSpace(string(v)) {
			t.Errorf("web SBOM: %s, VERSION file: %s", got, v)
		}
	}
	if web["qrcode-generator"] == "" {
		t.Errorf("web SBOM lacks qrcode-generator: %v", web)
	}
}
