package server

import (
	"errors"
	"flag"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"sotto/internal/testutil"
)

// noEnv is an environment with nothing set.
func noEnv(string) string { return "" }

func TestParseConfigDefaultsAndEnv(t *testing.T) {
	c, err := ParseConfig(nil, func(string) string { return "" }, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if c.addr != "127.0.0.1:8080" || c.metricsAddr != "" || c.talkLimit != 60*time.Second {
		t.Fatalf("defaults: %+v", c)
	}
	env := map[string]string{"SOTTO_ADDR": "127.0.0.1:9", "SOTTO_TALK_LIMIT": "30s", "SOTTO_ALLOW_ORIGIN": "https://a.example, https://b.example/"}
	c, err = ParseConfig([]string{"--addr", "127.0.0.1:10"}, func(k string) string { return env[k] }, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if c.addr != "127.0.0.1:10" {
		t.Errorf("the flag must win over the environment, got %q", c.addr)
	}
	if c.talkLimit != 30*time.Second {
		t.Errorf("SOTTO_TALK_LIMIT ignored: %v", c.talkLimit)
	}
	if strings.Join(c.allowOrigins, " ") != "https://a.example https://b.example" {
		t.Errorf("origins %q", c.allowOrigins)
	}
}

func TestParseConfigRejectsNonsense(t *testing.T) {
	for _, args := range [][]string{
		{"--talk-limit", "1ms"},
		{"--max-members", "1"},
		{"--log-level", "loud"},
		{"--allow-origin", "example.com"},
		{"stray"},
		{"--no-such-flag"},
	} {
		if _, err := ParseConfig(args, func(string) string { return "" }, io.Discard); err == nil {
			t.Errorf("%q accepted", args)
		}
	}
	var help strings.Builder
	if _, err := ParseConfig([]string{"--help"}, func(string) string { return "" }, &help); !errors.Is(err, flag.ErrHelp) {
		t.Errorf("--help: %v", err)
	}
	// Every variable the server reads is in --help and the README's table.
	readme, err := os.ReadFile(filepath.Join(testutil.RepoRoot(t), "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	var vars []string
	for _, f := range []string{"config.go", "operator.go"} {
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range regexp.MustCompile(`"(SOTTO_[A-Z_]+)"`).FindAllSubmatch(src, -1) {
			vars = append(vars, string(m[1]))
		}
	}
	if len(vars) < 20 || !slices.Contains(vars, "SOTTO_SECRET") {
		t.Fatalf("found only %q in the server's sources", vars)
	}
	for _, v := range vars {
		if !strings.Contains(help.String(), v) {
			t.Errorf("--help does not mention %s", v)
		}
		if !strings.Contains(string(readme), "`"+v+"`") {
			t.Errorf("README.md does not mention %s", v)
		}
	}
}
