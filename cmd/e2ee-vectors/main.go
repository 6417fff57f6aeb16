// Command e2ee-vectors writes e2ee/testdata/vectors.json: the test vectors
// that both the Go package (sotto/e2ee) and the browser module
// (static/js/e2ee) must pass. Every input is fixed, so the output is the
// same on every run; TestVectorsFileUpToDate fails if the committed file
// differs from what this command produces.
//
// Usage, from the module root:
//
//	go run ./cmd/e2ee-vectors            # writes e2ee/testdata/vectors.json
//	go run ./cmd/e2ee-vectors -o file.json
//
// Integers that may exceed 2^53 (KIDs, CTRs) are written as decimal strings
// so JavaScript can read them exactly with BigInt. Byte strings are hex.
// Error cases name the expected error by its code (see e2ee.Code).
package main

import "sotto/internal/vectorfile"

func main() { vectorfile.Main("e2ee-vectors", "e2ee/testdata/vectors.json", generate) }
