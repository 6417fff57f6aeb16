package testutil

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
)

// modulePath is the main package's import path: `go build` finds it from
// any directory inside the module, so no test depends on its working
// directory to build the binary.
const modulePath = "sotto"

var (
	buildOnce sync.Once
	builtPath string
	buildErr  error
)

// Sotto builds the sotto binary once per test process (the first caller
// pays) and returns its path. The binary is left in a temporary directory.
func Sotto(t testing.TB) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "sotto-bin-")
		if err != nil {
			buildErr = err
			return
		}
		builtPath = filepath.Join(dir, "sotto")
		out, err := exec.Command("go", "build", "-o", builtPath, modulePath).CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("%v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatalf("build: %v", buildErr)
	}
	return builtPath
}

// RepoRoot is the directory of the repository's go.mod, found upward from
// the working directory (a package's tests run in its own directory).
func RepoRoot(t testing.TB) string {
	t.Helper()
	root, err := repoRoot()
	if err != nil {
		t.Fatal(err)
	}
	return root
}

func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod above the working directory")
		}
		dir = parent
	}
}
