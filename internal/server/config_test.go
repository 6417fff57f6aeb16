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

// The cluster flags: defaults for a single node, values by flag and by
// environment, and each malformed value refused at start.
func TestParseConfigCluster(t *testing.T) {
	c, err := ParseConfig(nil, noEnv, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if c.nodePrefix != "" || c.clusterSize != 1 || c.haproxyRuntime != "" || c.haproxyTable != "nodes" || c.clustered() {
		t.Errorf("single-node defaults: prefix %q, size %d, runtime %q, table %q, clustered %v",
			c.nodePrefix, c.clusterSize, c.haproxyRuntime, c.haproxyTable, c.clustered())
	}

	c, err = ParseConfig([]string{"--node-prefix", "12", "--cluster-size", "3",
		"--haproxy-runtime", "tcp://10.0.0.5:9999", "--haproxy-table", "rooms"}, noEnv, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if c.nodePrefix != "12" || c.clusterSize != 3 || c.haproxyRuntime != "tcp://10.0.0.5:9999" || c.haproxyTable != "rooms" || !c.clustered() {
		t.Errorf("flags: prefix %q, size %d, runtime %q, table %q, clustered %v",
			c.nodePrefix, c.clusterSize, c.haproxyRuntime, c.haproxyTable, c.clustered())
	}

	env := map[string]string{"SOTTO_NODE_PREFIX": "007", "SOTTO_CLUSTER_SIZE": "5",
		"SOTTO_HAPROXY_RUNTIME": "/run/haproxy/nodes.sock", "SOTTO_HAPROXY_TABLE": "t"}
	c, err = ParseConfig([]string{"--cluster-size", "4"}, func(k string) string { return env[k] }, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if c.nodePrefix != "007" || c.clusterSize != 4 || c.haproxyRuntime != "/run/haproxy/nodes.sock" || c.haproxyTable != "t" {
		t.Errorf("environment (flag wins for the size): prefix %q, size %d, runtime %q, table %q",
			c.nodePrefix, c.clusterSize, c.haproxyRuntime, c.haproxyTable)
	}

	for _, tc := range []struct {
		args []string
		env  map[string]string
		want string // in the error, naming the setting at fault
	}{
		{args: []string{"--node-prefix", "1234"}, want: "--node-prefix"},
		{args: []string{"--node-prefix", "1a"}, want: "--node-prefix"},
		{args: []string{"--node-prefix", "-1"}, want: "--node-prefix"},
		{env: map[string]string{"SOTTO_NODE_PREFIX": "x"}, want: "--node-prefix"},
		{args: []string{"--cluster-size", "0"}, want: "--cluster-size"},
		{args: []string{"--cluster-size", "-2"}, want: "--cluster-size"},
		{args: []string{"--cluster-size", "three"}, want: "cluster-size"},
		{env: map[string]string{"SOTTO_CLUSTER_SIZE": "many"}, want: "SOTTO_CLUSTER_SIZE"},
		{args: []string{"--node-prefix", "1", "--haproxy-runtime", "10.0.0.5:9999"}, want: "--haproxy-runtime"},
		{args: []string{"--node-prefix", "1", "--haproxy-runtime", "tcp://10.0.0.5"}, want: "--haproxy-runtime"},
		{args: []string{"--node-prefix", "1", "--haproxy-runtime", "relative.sock"}, want: "--haproxy-runtime"},
		{args: []string{"--haproxy-runtime", "tcp://10.0.0.5:9999"}, want: "--node-prefix"},
		{args: []string{"--haproxy-table", "a b"}, want: "--haproxy-table"},
		{args: []string{"--haproxy-table", "a;shutdown"}, want: "--haproxy-table"},
		{args: []string{"--haproxy-table", ""}, want: "--haproxy-table"},
	} {
		_, err := ParseConfig(tc.args, func(k string) string { return tc.env[k] }, io.Discard)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q %v: error %v, want one naming %s", tc.args, tc.env, err, tc.want)
		}
	}
}
