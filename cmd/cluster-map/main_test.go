package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func TestMapOfNodes(t *testing.T) {
	nodes, err := parseNodes([]string{"n2=3", "n0=1", "edge-7.b=42"})
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	if err := writeMap(&b, nodes); err != nil {
		t.Fatal(err)
	}
	want := "# nameplate prefix -> HAProxy server (cmd/cluster-map; docs/cluster.md)\n1 n0\n3 n2\n42 edge-7.b\n"
	if b.String() != want {
		t.Errorf("map:\n%s\nwant:\n%s", b.String(), want)
	}
}

// Each node list HAProxy would route wrongly is refused, saying why.
func TestBadNodeLists(t *testing.T) {
	for _, c := range []struct {
		args []string
		says string
	}{
		{nil, "no nodes"},
		{[]string{"n0"}, "SERVER=PREFIX"},
		{[]string{"=1"}, "SERVER=PREFIX"},
		{[]string{"n 0=1"}, "SERVER=PREFIX"},
		{[]string{"n0="}, "1 to 3 digits"},
		{[]string{"n0=1234"}, "1 to 3 digits"},
		{[]string{"n0=1a"}, "1 to 3 digits"},
		{[]string{"n0=-1"}, "1 to 3 digits"},
		{[]string{"n0=1", "n0=2"}, "given twice"},
		{[]string{"n0=1", "n1=1"}, "one begins the other"},
		{[]string{"n0=1", "n1=12"}, "one begins the other"},
		{[]string{"n0=123", "n1=12"}, "one begins the other"},
	} {
		_, err := parseNodes(c.args)
		if err == nil || !strings.Contains(err.Error(), c.says) {
			t.Errorf("%q: %v, want an error saying %q", c.args, err, c.says)
		}
	}
}

// The command writes the file with -o, and fails on a bad list without
// writing anything.
func TestCommand(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "nameplates.map")
	if b, err := exec.Command("go", "run", ".", "-o", out, "n0=1", "n1=2").CombinedOutput(); err != nil {
		t.Fatalf("%v\n%s", err, b)
	}
	got, err := os.ReadFile(out)
	if err != nil || !strings.HasSuffix(string(got), "1 n0\n2 n1\n") {
		t.Fatalf("map file %q, %v", got, err)
	}
	bad := filepath.Join(dir, "bad.map")
	cmd := exec.Command("go", "run", ".", "-o", bad, "n0=1", "n1=1")
	b, err := cmd.CombinedOutput()
	if err == nil || !strings.Contains(string(b), "one begins the other") {
		t.Fatalf("a bad list: %v\n%s", err, b)
	}
	if _, err := os.Stat(bad); !os.IsNotExist(err) {
		t.Errorf("a bad list wrote %s", bad)
	}
}
