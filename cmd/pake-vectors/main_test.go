package main

import (
	"bytes"
	"os"
	"testing"
)

// TestVectorsFileUpToDate regenerates the vectors in memory and compares
// them with the committed file, so the file can never drift from the code.
// After a deliberate change: go run ./cmd/pake-vectors
func TestVectorsFileUpToDate(t *testing.T) {
	want, err := generate()
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile("../../pake/testdata/vectors.json")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatal("pake/testdata/vectors.json differs from what the code generates: run `go run ./cmd/pake-vectors` and review the diff")
	}
}

// TestGenerateIsDeterministic: two runs give the same bytes (no map order,
// clock or randomness leaks into the file).
func TestGenerateIsDeterministic(t *testing.T) {
	a, err := generate()
	if err != nil {
		t.Fatal(err)
	}
	b, _ := generate()
	if !bytes.Equal(a, b) {
		t.Fatal("two runs of generate differ")
	}
}
