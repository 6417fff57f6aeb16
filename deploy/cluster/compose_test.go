package cluster

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strings"
	"testing"

	"sotto/internal/testutil"
)

// haproxyVars returns the environment variables haproxy.cfg reads.
func haproxyVars(t *testing.T) []string {
	t.Helper()
	cfg, err := os.ReadFile("haproxy.cfg")
	if err != nil {
		t.Fatal(err)
	}
	var vars []string
	for _, m := range regexp.MustCompile(`\$\{(\w+)\}|defined\((\w+)\)`).FindAllStringSubmatch(string(cfg), -1) {
		v := m[1] + m[2]
		if !slices.Contains(vars, v) {
			vars = append(vars, v)
		}
	}
	if len(vars) < 5 {
		t.Fatalf("haproxy.cfg reads only %q: the pattern is out of date", vars)
	}
	return vars
}

// TestClusterCompose: docker-compose accepts the file, and it holds
// together: each node's prefix is its line of nameplates.map, HAProxy's
// environment sets everything haproxy.cfg reads and names each node where
// it listens, the nodes trust HAProxy's address and forget rooms at its
// runtime socket, and each node's voice port is its own.
func TestClusterCompose(t *testing.T) {
	run := func(env ...string) (string, error) { return testutil.ComposeConfig(t, "compose.yaml", env...) }
	if out, err := run("SOTTO_TLS_PEM=/x.pem"); err == nil || !strings.Contains(out, "SOTTO_PUBLIC_IP") {
		t.Errorf("compose without SOTTO_PUBLIC_IP: %v, %q (want a refusal naming it)", err, out)
	}
	out, err := run("SOTTO_PUBLIC_IP=talk.example.com", "SOTTO_TLS_PEM=/etc/ssl/talk.pem")
	if err != nil {
		t.Fatalf("docker-compose config: %v\n%s", err, out)
	}
	cf := testutil.ParseCompose(t, out)
	lb, ok := cf.Services["haproxy"]
	if !ok {
		t.Fatalf("no haproxy service:\n%s", out)
	}
	for _, v := range haproxyVars(t) {
		if lb.Environment[v] == "" {
			t.Errorf("haproxy.cfg reads %s; the haproxy service does not set it", v)
		}
	}
	for _, file := range []string{"haproxy.cfg", "nameplates.map"} {
		if !slices.ContainsFunc(lb.Volumes, func(v any) bool { return strings.Contains(fmt.Sprint(v), "/"+file+":") }) {
			t.Errorf("%s is not mounted into haproxy: %q", file, lb.Volumes)
		}
	}
	lbIP := lb.Networks["cluster"].IPv4
	forgetHost, forgetPort, _ := net.SplitHostPort(strings.TrimPrefix(lb.Environment["SOTTO_HAPROXY_FORGET"], "ipv4@"))
	if forgetHost != lbIP {
		t.Errorf("HAProxy's nodes' socket listens on %q, its address is %s", forgetHost, lbIP)
	}

	var mapArgs []string
	udp := map[string]bool{}
	nodes := 0
	for i := 0; ; i++ {
		name := fmt.Sprintf("sotto%d", i)
		n, ok := cf.Services[name]
		if !ok {
			break
		}
		nodes++
		env := n.Environment
		if !n.ReadOnly || !slices.Contains(n.CapDrop, "ALL") {
			t.Errorf("%s: read_only %v, cap_drop %q", name, n.ReadOnly, n.CapDrop)
		}
		_, port, _ := net.SplitHostPort(env["SOTTO_ADDR"])
		if want := name + ":" + port; lb.Environment[fmt.Sprintf("SOTTO_NODE%d", i)] != want {
			t.Errorf("HAProxy's SOTTO_NODE%d is %q, the node listens at %s", i, lb.Environment[fmt.Sprintf("SOTTO_NODE%d", i)], want)
		}
		if env["SOTTO_BEHIND_PROXY"] != "true" || env["SOTTO_TRUSTED_PROXY"] != lbIP {
			t.Errorf("%s: behind proxy %q, trusting %q; HAProxy is %s", name, env["SOTTO_BEHIND_PROXY"], env["SOTTO_TRUSTED_PROXY"], lbIP)
		}
		if want := "tcp://" + net.JoinHostPort(lbIP, forgetPort); env["SOTTO_HAPROXY_RUNTIME"] != want {
			t.Errorf("%s forgets rooms at %q, HAProxy listens for that at %s", name, env["SOTTO_HAPROXY_RUNTIME"], want)
		}
		u := env["SOTTO_UDP_PORT"]
		if udp[u] {
			t.Errorf("%s: UDP port %s is another node's too", name, u)
		}
		udp[u] = true
		published := false
		for _, p := range n.Ports {
			if p.Protocol == "udp" && fmt.Sprint(p.Target) == u && fmt.Sprint(p.Published) == u {
				published = true
			}
		}
		if !published {
			t.Errorf("%s: its UDP port %s is not published as itself: %+v", name, u, n.Ports)
		}
		mapArgs = append(mapArgs, fmt.Sprintf("n%d=%s", i, env["SOTTO_NODE_PREFIX"]))
	}
	if nodes != 3 {
		t.Fatalf("%d nodes, want 3 (haproxy.cfg has three servers)", nodes)
	}
	for i := range nodes {
		if got := cf.Services[fmt.Sprintf("sotto%d", i)].Environment["SOTTO_CLUSTER_SIZE"]; got != fmt.Sprint(nodes) {
			t.Errorf("sotto%d: cluster size %q, there are %d nodes", i, got, nodes)
		}
	}

	// nameplates.map is the generator's output for these nodes.
	gen := exec.Command("go", append([]string{"run", "../../cmd/cluster-map"}, mapArgs...)...)
	want, err := gen.Output()
	if err != nil {
		t.Fatalf("cluster-map %q: %v", mapArgs, err)
	}
	got, err := os.ReadFile("nameplates.map")
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != string(want) {
		t.Errorf("nameplates.map:\n%s\nthe nodes' prefixes (%q) give:\n%s\nrun: go run ./cmd/cluster-map -o deploy/cluster/nameplates.map %s",
			got, mapArgs, want, strings.Join(mapArgs, " "))
	}
}
