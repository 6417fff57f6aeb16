package main

import (
	"testing"

	"sotto/internal/vectorfile"
)

// TestVectorsFileUpToDate regenerates the vectors in memory and compares
// them with the committed file. After a deliberate change: go run ./cmd/pake-vectors
func TestVectorsFileUpToDate(t *testing.T) {
	vectorfile.CheckUpToDate(t, generate, "../../pake/testdata/vectors.json", "go run ./cmd/pake-vectors")
}

// TestGenerateIsDeterministic: two runs give the same bytes.
func TestGenerateIsDeterministic(t *testing.T) { vectorfile.CheckDeterministic(t, generate) }
