package testutil

import (
	"encoding/hex"
	"encoding/json"
	"os"
	"testing"
)

// ReadJSON decodes the JSON file at path (a test-vector file, say) into v,
// and fails the test if the file is missing or is not JSON of v's shape.
func ReadJSON(t testing.TB, path string, v any) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
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
