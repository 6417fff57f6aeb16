package browsertest

import (
	"path/filepath"
	"strings"
	"testing"
)

// Without node or puppeteer-core the Firefox UI tests fail and say how to
// get them; with both, the driver and the package are found.
func TestBiDiDepsMissingSaysMakeDeps(t *testing.T) {
	_, modules := bidiDir()
	for what, args := range map[string][2]string{
		"no node":           {filepath.Join(t.TempDir(), "no-node-here"), modules},
		"no puppeteer-core": {"node", t.TempDir()},
	} {
		if _, err := requireBiDiDeps(args[0], args[1]); err == nil || !strings.Contains(err.Error(), "run `make deps`") {
			t.Errorf("%s: got %v, want a message saying to run make deps", what, err)
		}
	}
	if _, err := requireBiDiDeps("node", modules); err != nil {
		t.Errorf("with make deps done: %v", err)
	}
}
