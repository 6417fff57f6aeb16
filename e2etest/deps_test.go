package e2etest

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"sotto/internal/testutil"
)

// TestDepsNamesWhatIsMissing runs scripts/deps.sh, which `make test` runs
// before any test, with a PATH that hides sox and espeak-ng, told not to
// install: it must fail with one message naming both tools and the command
// that installs them, before anything else runs. With the real PATH (every
// tool there, as `make test` left it) it must pass silently.
func TestDepsNamesWhatIsMissing(t *testing.T) {
	hidden := map[string]bool{"sox": true, "espeak-ng": true}
	bin := t.TempDir()
	for _, dir := range filepath.SplitList(os.Getenv("PATH")) {
		entries, _ := os.ReadDir(dir)
		for _, e := range entries {
			if hidden[e.Name()] {
				continue
			}
			// The first directory in PATH wins, as the shell would look it up.
			_ = os.Symlink(filepath.Join(dir, e.Name()), filepath.Join(bin, e.Name()))
		}
	}
	root := testutil.RepoRoot(t)
	run := func(path string) (string, error) {
		cmd := exec.Command("bash", "scripts/deps.sh")
		cmd.Dir = root
		cmd.Env = append(os.Environ(), "PATH="+path, "DEPS_INSTALL=no")
		out, err := cmd.CombinedOutput()
		return string(out), err
	}

	out, err := run(bin)
	if err == nil {
		t.Fatalf("deps.sh passed with sox and espeak-ng hidden:\n%s", out)
	}
	if strings.Count(out, "make deps: the tests need tools this machine lacks:") != 1 {
		t.Errorf("want exactly one message, got:\n%s", out)
	}
	for _, want := range []string{"- sox (sox)", "- espeak-ng (espeak-ng)", "apt-get install -y espeak-ng sox"} {
		if !strings.Contains(out, want) {
			t.Errorf("message lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "chromium (") {
		t.Errorf("message names a tool that is there:\n%s", out)
	}

	if out, err := run(os.Getenv("PATH")); err != nil || out != "" {
		t.Errorf("deps.sh with every tool present: err %v, output %q (want silence)", err, out)
	}
}
