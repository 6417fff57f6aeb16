package testutil

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestReadJSON(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.json")
	if err := os.WriteFile(good, []byte(`{"name":"a","n":[1,2]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	type shape struct {
		Name string `json:"name"`
		N    []int  `json:"n"`
	}
	v := ReadJSON[shape](t, good)
	if v.Name != "a" || len(v.N) != 2 || v.N[1] != 2 {
		t.Errorf("read %+v", v)
	}

	bad := filepath.Join(dir, "bad.json")
	if err := os.WriteFile(bad, []byte(`{"name":`), 0o600); err != nil {
		t.Fatal(err)
	}
	if msg := CatchFatal(t, func(tb testing.TB) { ReadJSON[shape](tb, bad) }); !strings.HasPrefix(msg, bad+": ") {
		t.Errorf("truncated JSON: failed with %q, want the path and the error", msg)
	}
	if msg := CatchFatal(t, func(tb testing.TB) { ReadJSON[shape](tb, filepath.Join(dir, "missing.json")) }); msg == "" {
		t.Error("a missing file did not fail the test")
	}
}

func TestUnhex(t *testing.T) {
	if got := Unhex(t, "00ff10"); !bytes.Equal(got, []byte{0, 0xff, 0x10}) {
		t.Errorf("Unhex = %x", got)
	}
	if got := Unhex(t, ""); len(got) != 0 {
		t.Errorf("Unhex(\"\") = %x", got)
	}
	for _, bad := range []string{"0", "zz", "00 ff"} {
		if msg := CatchFatal(t, func(tb testing.TB) { Unhex(tb, bad) }); !strings.Contains(msg, fmt.Sprintf("%q", bad)) {
			t.Errorf("Unhex(%q) failed with %q, want a message naming the input", bad, msg)
		}
	}
}
