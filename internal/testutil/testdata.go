package testutil

import (
	"encoding/hex"
	"encoding/json"
	"os"
	"testing"
)

// ReadJSON decodes the JSON file at path (a test-vector file, say) as a V,
// and fails the test if the file is missing or is not JSON of V's shape.
func ReadJSON[V any](t testing.TB, path string) *V {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	v := new(V)
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return v
}

// Unhex decodes the hex string s (a value from a test-vector file) and
// fails the test if it is not hex: a bad vector is a broken test, never
// an empty input.
func Unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatalf("bad hex %q: %v", s, err)
	}
	return b
}
