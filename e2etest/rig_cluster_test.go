package e2etest

// The rig for cluster tests (issue 15, docs/cluster.md): real sotto nodes
// on loopback ports, each under strace as TestMemoryOnlyBinary runs one, and
// the real HAProxy in front of them with deploy/cluster/haproxy.cfg as
// shipped, terminating TLS. Every node is told what docs/cluster.md says a
// node must be told (--node-prefix, --cluster-size, --behind-proxy with
// HAProxy as its --trusted-proxy, --haproxy-runtime). Members reach the
// cluster through HAProxy only, each from an address of its own in 127/8
// (client.Config.LocalAddr), which HAProxy passes on in X-Forwarded-For, as
// people on different networks would: the per-address limits then count
// them apart, as they would count real people.

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net/netip"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"sotto/client"
	"sotto/internal/testutil"
)

// clusterNodeStart bounds a node's start: it serves within a second, but
// strace and a loaded machine slow it.
const clusterNodeStart = 20 * time.Second

// clusterTLSSessions is how many TLS sessions the members keep for
// resuming: one for HAProxy's single name would do, as all share it.
const clusterTLSSessions = 64

// clusterNode is one sotto process of the cluster, across its restarts.
type clusterNode struct {
	name, prefix string // its HAProxy server name (n0...) and --node-prefix
	addr         string // app and voice (TCP and UDP), kept across restarts
	metricsAddr  string
	args         []string

	mu     sync.Mutex
	pid    int        // the binary's (strace's child), 0 when not running
	exited chan error // strace's exit, for the current run
	traces []string   // one strace output per run
}

// clusterRig is the cluster and its HAProxy.
type clusterRig struct {
	t       *testing.T
	dir     string
	lb      *testutil.HAProxy
	nodes   []*clusterNode
	ws      string // HAProxy's wss:// signaling URL
	tls     *tls.Config
	certPEM string // HAProxy's certificate, for browsers

	addrMu   sync.Mutex
	nextAddr uint32 // the last member address handed out, as an offset in 127.1/16
}

// startCluster starts n nodes (2 or 3: haproxy.cfg names three servers; a
// third that is not started is a down server) and HAProxy, and waits until
// HAProxy sees every node up.
func startCluster(t *testing.T, n int) *clusterRig {
	t.Helper()
	if n < 2 || n > 3 {
		t.Fatalf("startCluster(%d): haproxy.cfg has three servers", n)
	}
	dir := t.TempDir()
	c := &clusterRig{t: t, dir: dir}
	var pairs []string
	var addrs [3]string
	for i := range 3 {
		addrs[i] = testutil.FreeLoopbackAddr(t) // a third, unstarted node: nothing listens
		if i < n {
			node := &clusterNode{name: fmt.Sprintf("n%d", i), prefix: strconv.Itoa(i + 1), addr: addrs[i], metricsAddr: testutil.FreeLoopbackAddr(t)}
			c.nodes = append(c.nodes, node)
			pairs = append(pairs, node.name+"="+node.prefix)
		}
	}
	mapPath := filepath.Join(dir, "nameplates.map")
	testutil.WriteNameplateMap(t, mapPath, pairs...)
	env := testutil.NewHAProxyEnv(t, dir, mapPath, addrs)
	var pool *x509.CertPool
	env.Cert, pool = testutil.SelfSignedPEM(t, dir, "127.0.0.1")
	c.certPEM = env.Cert
	// Members resume TLS sessions, as browsers do when they reconnect: a
	// node's members coming back at once then cost HAProxy (and this test
	// process) no full handshake each.
	c.tls = &tls.Config{RootCAs: pool, ClientSessionCache: tls.NewLRUClientSessionCache(clusterTLSSessions)}
	for _, node := range c.nodes {
		node.args = []string{
			"--addr", node.addr, "--metrics-addr", node.metricsAddr, "--log-level", "warn",
			"--node-prefix", node.prefix, "--cluster-size", strconv.Itoa(n),
			"--behind-proxy", "--trusted-proxy", "127.0.0.1",
			"--haproxy-runtime", env.ForgetAddr(),
		}
		c.start(t, node)
	}
	c.lb = testutil.StartHAProxy(t, filepath.Join(testutil.RepoRoot(t), "deploy", "cluster", "haproxy.cfg"), env)
	c.ws = "wss://" + env.Bind + "/ws"
	c.waitUp(t, c.nodes...)
	return c
}

// start runs node's binary under strace, on its address, and waits until
// it says where it serves.
func (c *clusterRig) start(t *testing.T, node *clusterNode) {
	t.Helper()
	trace := filepath.Join(c.dir, fmt.Sprintf("%s-run%d.trace", node.name, len(node.traces)))
	cmd := tracedSotto(t, trace, node.args...)
	cmd.Dir = c.dir
	stdout := startCmd(t, cmd)
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	// The rig's test, not a subtest that restarts the node, ends it.
	c.t.Cleanup(func() {
		cmd.Process.Kill()
		node.mu.Lock()
		if node.pid != 0 {
			syscall.Kill(node.pid, syscall.SIGKILL)
		}
		node.mu.Unlock()
	})
	// A node coming back takes the port it had; the kernel may hold it a
	// moment after the old process died.
	b := readAddrs(cmd, stdout)
	if b.appAddr != node.addr || b.metricsAddr != node.metricsAddr {
		t.Fatalf("%s did not start on %s (said app %q, metrics %q)", node.name, node.addr, b.appAddr, b.metricsAddr)
	}
	go io.Copy(io.Discard, stdout)
	node.mu.Lock()
	node.pid = tracedChild(t, cmd.Process.Pid)
	node.exited = exited
	node.traces = append(node.traces, trace)
	node.mu.Unlock()
}

// kill ends node's binary with SIGKILL: no shutdown, no goodbye to its
// members or HAProxy, as when its machine dies.
func (c *clusterRig) kill(t *testing.T, node *clusterNode) {
	t.Helper()
	node.mu.Lock()
	pid, exited := node.pid, node.exited
	node.pid = 0
	node.mu.Unlock()
	if pid == 0 {
		t.Fatalf("%s is not running", node.name)
	}
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	select {
	case <-exited: // strace exits with its child's status: killed
	case <-time.After(clusterNodeStart):
		t.Fatalf("%s did not die", node.name)
	}
}

// running reports whether the node's binary runs (it was not killed).
func (n *clusterNode) running() bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.pid != 0
}

// restart starts a node that was killed again, on the same ports, and
// waits until HAProxy sees it up.
func (c *clusterRig) restart(t *testing.T, node *clusterNode) {
	t.Helper()
	var err error
	ok := testutil.Eventually(clusterNodeStart, func() bool {
		err = portsFree(node.addr, node.metricsAddr)
		return err == nil
	})
	if !ok {
		t.Fatalf("%s's ports stay taken: %v", node.name, err)
	}
	c.start(t, node)
	c.waitUp(t, node)
}

// waitUp waits until HAProxy's health checks (/readyz) see the nodes up.
func (c *clusterRig) waitUp(t *testing.T, nodes ...*clusterNode) {
	t.Helper()
	want := map[string]bool{}
	for _, n := range nodes {
		want[n.name] = true
	}
	c.lb.WaitServers(t, want)
}

// rooms reads the node's sotto_rooms gauge.
func (c *clusterRig) rooms(t *testing.T, node *clusterNode) int {
	t.Helper()
	v, err := strconv.Atoi(testutil.Metric(t, "http://"+node.metricsAddr+"/metrics", "sotto_rooms"))
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// member is a client.Config for one more member: through HAProxy, from a
// loopback address no other member of this rig has had. Signaling only
// unless the caller clears NoMedia.
func (c *clusterRig) member(secret []byte, name string) client.Config {
	c.addrMu.Lock()
	c.nextAddr++
	off := c.nextAddr
	c.addrMu.Unlock()
	if off >= 1<<16-1 {
		c.t.Fatal("the rig ran out of member addresses in 127.1.0.0/16")
	}
	addr := netip.AddrFrom4([4]byte{127, 1, byte(off >> 8), byte(off)})
	return client.Config{URL: c.ws, TLS: c.tls, LocalAddr: addr, Secret: secret, Name: name, NoMedia: true}
}

// checkMemoryOnly stops every running node with SIGTERM and checks every
// trace of every run, killed ones included, as TestMemoryOnlyBinary does:
// no node opened a file for writing or changed the file system.
func (c *clusterRig) checkMemoryOnly(t *testing.T) {
	t.Helper()
	for _, node := range c.nodes {
		node.mu.Lock()
		pid, exited := node.pid, node.exited
		node.pid = 0
		node.mu.Unlock()
		if pid != 0 {
			if err := syscall.Kill(pid, syscall.SIGTERM); err != nil {
				t.Fatal(err)
			}
			select {
			case err := <-exited:
				if err != nil {
					t.Errorf("%s exited with %v after SIGTERM", node.name, err)
				}
			case <-time.After(clusterNodeStart):
				t.Fatalf("%s did not exit after SIGTERM", node.name)
			}
		}
		for _, trace := range node.traces {
			bad, _ := checkTrace(t, trace)
			if len(bad) > 0 {
				t.Errorf("%s (%s) wrote to, or changed, the file system:\n%s", node.name, filepath.Base(trace), strings.Join(bad, "\n"))
			}
		}
	}
}

// portsFree reports whether the TCP and UDP ports of addr and the TCP port
// of metrics can be bound.
func portsFree(addr, metrics string) error {
	for _, a := range []string{addr, metrics} {
		if err := testutil.CanListen(a, a == addr); err != nil {
			return err
		}
	}
	return nil
}
