package testutil

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestTool(t *testing.T) {
	if p := Tool(t, "go", "golang-go"); filepath.Base(p) != "go" {
		t.Errorf("Tool(go) = %q", p)
	}
	msg := CatchFatal(t, func(tb testing.TB) { Tool(tb, "no-such-tool-here", "no-such-package") })
	if !strings.Contains(msg, "make deps") || !strings.Contains(msg, "no-such-package") {
		t.Errorf("a missing tool failed with %q, want `make deps` and the package named", msg)
	}
}

// ComposeConfig hands over what docker-compose resolves, with the
// environment given, and its refusal when a required variable is missing.
func TestComposeConfig(t *testing.T) {
	file := filepath.Join(t.TempDir(), "compose.yaml")
	if err := os.WriteFile(file, []byte("services:\n  app:\n    image: ${IMAGE:?IMAGE is required}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := ComposeConfig(t, file); err == nil || !strings.Contains(out, "IMAGE is required") {
		t.Errorf("without IMAGE: %v, %q; want a refusal naming it", err, out)
	}
	out, err := ComposeConfig(t, file, "IMAGE=example/app:1")
	if err != nil || !strings.Contains(out, "image: example/app:1") {
		t.Errorf("with IMAGE: %v, %q", err, out)
	}
}
