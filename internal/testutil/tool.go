package testutil

import (
	"os"
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

// ComposeConfig runs `docker-compose -f file config` with env added to the
// environment and returns what it printed and how it exited: the file as
// docker-compose resolves it, or why it refuses it.
func ComposeConfig(t testing.TB, file string, env ...string) (string, error) {
	t.Helper()
	cmd := exec.Command(Tool(t, "docker-compose", "docker-compose"), "-f", file, "config")
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	return string(out), err
}
