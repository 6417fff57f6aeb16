// Command pake-vectors writes pake/testdata/vectors.json: the test vectors
// that both the Go package (sotto/pake, sotto/pake/cpace) and the browser
// module (static/js/pake) must pass. They are the published ristretto255
// vectors of draft-irtf-cfrg-cpace-21 and Sotto's own: code derivation and
// parsing, whole exchanges with fixed randomness, a wrong-code run, and bad
// messages at every step. Every input is fixed, so the output is the same
// on every run; TestVectorsFileUpToDate fails if the committed file differs
// from what this command produces.
//
// Usage, from the module root:
//
//	go run ./cmd/pake-vectors            # writes pake/testdata/vectors.json
//	go run ./cmd/pake-vectors -o file.json
package main

import "sotto/internal/vectorfile"

func main() { vectorfile.Main("pake-vectors", "pake/testdata/vectors.json", generate) }
