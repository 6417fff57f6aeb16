package testutil

import (
	"os/exec"
	"testing"
)

// Tool returns the path of a command `make deps` installs, and fails the
// test (never skips it) when the command is missing, naming the Debian
// package that brings it.
func Tool(t testing.TB, name, debianPackage string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		t.Fatalf("%s not found: run `make deps` (Debian package %s)", name, debianPackage)
	}
	return p
}
