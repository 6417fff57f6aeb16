// Package vectorfile is what the test-vector generators (cmd/e2ee-vectors,
// cmd/pake-vectors) share: building the file from steps, writing it, and
// the tests that keep the committed file equal to what the code makes. It
// is also the one home of each file's JSON shape (E2EE, PAKE), which the
// generator writes and the Go tests of e2ee/ and pake/ read; each generator
// keeps its own steps.
package vectorfile

import (
	"bytes"
	"encoding/json"
	"flag"
	"log"
	"os"
	"testing"
)

// Build runs each step on v, in order (a step checks its values against
// the package under test and fails rather than write a wrong one), and
// returns v as indented JSON with a final newline.
func Build[V any](v *V, steps ...func(*V) error) ([]byte, error) {
	for _, step := range steps {
		if err := step(v); err != nil {
			return nil, err
		}
	}
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}

// Main is a generator's main: it writes what generate makes to the file
// named by -o (default path), and exits 1 with name's prefix on failure.
func Main(name, path string, generate func() ([]byte, error)) {
	out := flag.String("o", path, "output file")
	flag.Parse()
	b, err := generate()
	if err != nil {
		log.Fatalf("%s: %v", name, err)
	}
	if err := os.WriteFile(*out, b, 0o644); err != nil {
		log.Fatalf("%s: %v", name, err)
	}
}

// CheckUpToDate fails t if the committed file at path differs from what
// generate makes now, so the file can never drift from the code; cmd is the
// command to run after a deliberate change.
func CheckUpToDate(t testing.TB, generate func() ([]byte, error), path, cmd string) {
	t.Helper()
	want, err := generate()
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("%s differs from what the code generates: run `%s` and review the diff", path, cmd)
	}
}

// CheckDeterministic fails t if two runs of generate differ (no map order,
// clock or randomness may leak into the file).
func CheckDeterministic(t testing.TB, generate func() ([]byte, error)) {
	t.Helper()
	a, err := generate()
	if err != nil {
		t.Fatal(err)
	}
	b, err := generate()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a, b) {
		t.Fatal("two runs of generate differ")
	}
}

// InputError is an input that must be refused with an error code: the
// same shape in both files (PAKE's code_errors, E2EE's link_errors).
type InputError struct {
	Name  string `json:"name"`
	Input string `json:"input"`
	Error string `json:"error"`
}
