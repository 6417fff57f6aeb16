package main

import (
	"testing"

	"sotto/internal/vectorfile"
)

// TestVectorsFileUpToDate regenerates the vectors in memory and compares
// them with the committed file. After a deliberate change: go run ./cmd/e2ee-vectors
func TestVectorsFileUpToDate(t *testing.T) {
	vectorfile.CheckUpToDate(t, generate, "../../e2ee/testdata/vectors.json", "go run ./cmd/e2ee-vectors")
}

// TestGenerateIsDeterministic: two runs give the same bytes.
func TestGenerateIsDeterministic(t *testing.T) { vectorfile.CheckDeterministic(t, generate) }
