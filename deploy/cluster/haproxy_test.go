// Package cluster holds the files that run Sotto as several nodes behind
// HAProxy (docs/cluster.md). Its tests check haproxy.cfg with the real
// haproxy: that it is valid, that nothing in it can log a URL, and how it
// routes, with tiny stub nodes standing in for Sotto.
package cluster

import (
	"bufio"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// tool returns the path of a tool `make deps` installs, failing (never
// skipping) when it is missing.
func tool(t *testing.T, name, pkg string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		t.Fatalf("%s not found: run `make deps` (Debian package %s)", name, pkg)
	}
	return p
}

func haproxyPath(t *testing.T) string { return tool(t, "haproxy", "haproxy") }

// freeAddr returns a loopback address with a port free a moment ago.
func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// haproxyEnv is the environment haproxy.cfg reads, for a run in dir with
// nodes at the given addresses and the nameplate map at mapPath.
type haproxyEnv struct {
	bind, admin, forget, peer, mapPath, cert string
	nodes                                    [3]string
}

func newHAProxyEnv(t *testing.T, dir, mapPath string, nodes [3]string) haproxyEnv {
	return haproxyEnv{
		bind:    freeAddr(t),
		admin:   filepath.Join(dir, "admin.sock"),
		forget:  "ipv4@" + freeAddr(t),
		peer:    freeAddr(t),
		mapPath: mapPath,
		nodes:   nodes,
	}
}

func (e haproxyEnv) environ() []string {
	env := append(os.Environ(),
		"SOTTO_HAPROXY_BIND="+e.bind,
		"SOTTO_HAPROXY_ADMIN="+e.admin,
		"SOTTO_HAPROXY_FORGET="+e.forget,
		"SOTTO_HAPROXY_PEER="+e.peer,
		"SOTTO_NAMEPLATE_MAP="+e.mapPath,
		"SOTTO_NODE0="+e.nodes[0], "SOTTO_NODE1="+e.nodes[1], "SOTTO_NODE2="+e.nodes[2],
	)
	if e.cert != "" {
		env = append(env, "SOTTO_TLS_CERT="+e.cert)
	}
	return env
}

// check runs `haproxy -c` on haproxy.cfg with env.
func check(t *testing.T, env haproxyEnv) {
	t.Helper()
	cmd := exec.Command(haproxyPath(t), "-c", "-f", "haproxy.cfg")
	cmd.Env = env.environ()
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "Configuration file is valid") {
		t.Fatalf("haproxy -c: %v\n%s", err, out)
	}
	if strings.Contains(string(out), "[WARNING]") {
		t.Errorf("haproxy -c warns:\n%s", out)
	}
}

// TestHAProxyConfigValid: haproxy accepts the file, with TLS and without.
func TestHAProxyConfigValid(t *testing.T) {
	dir := t.TempDir()
	mapPath := filepath.Join(dir, "nameplates.map")
	writeMap(t, mapPath)
	env := newHAProxyEnv(t, dir, mapPath, [3]string{"127.0.0.1:1", "127.0.0.1:2", "127.0.0.1:3"})
	check(t, env)
	env.cert = selfSignedPEM(t, dir)
	check(t, env)
}

// writeMap writes the nameplate map for the three test nodes with the real
// generator.
func writeMap(t *testing.T, path string) {
	t.Helper()
	cmd := exec.Command("go", "run", "../../cmd/cluster-map", "-o", path, "n0=1", "n1=2", "n2=3")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("cluster-map: %v\n%s", err, out)
	}
}

// selfSignedPEM writes a certificate and its key, as haproxy's crt wants
// them, and returns the file's path.
func selfSignedPEM(t *testing.T, dir string) string {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "sotto.test"},
		DNSNames:     []string{"sotto.test"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "cert.pem")
	pemData := append(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder})...)
	if err := os.WriteFile(path, pemData, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// urlLogging lists what in a HAProxy config could write a request's URL
// (and so a room id or nameplate) anywhere: any log target (HAProxy's
// default formats hold the request line), any log format, a capture, or a
// log-format variable that expands to the URL, path or query.
var urlLogging = []*regexp.Regexp{
	regexp.MustCompile(`^log(\s|$)`),
	regexp.MustCompile(`^(log-format|log-format-sd|error-log-format|log-tag|unique-id-format)\b`),
	regexp.MustCompile(`^option\s+(httplog|httpslog|tcplog|log-health-checks|log-separate-errors|dontlog-normal)\b`),
	regexp.MustCompile(`^(capture|declare\s+capture)\b`),
	regexp.MustCompile(`^(http-request|http-response|tcp-request)\s+(capture|set-log-level)\b`),
	regexp.MustCompile(`%\{[^}]*\}?(r|HU|HQ|HP|HPO|HM|HV)\b|%(r|HU|HQ|HP|HPO)\b`),
	regexp.MustCompile(`\b(url|path|query|pathq|urlp|url_param)\b[^\n]*\b(log|capture)\b`),
}

// loggingLines returns the lines of cfg (comments dropped) that could log
// a URL.
func loggingLines(cfg string) []string {
	var bad []string
	sc := bufio.NewScanner(strings.NewReader(cfg))
	for sc.Scan() {
		line := sc.Text()
		if i := strings.Index(line, "#"); i >= 0 {
			line = line[:i]
		}
		line = strings.TrimSpace(line)
		for _, re := range urlLogging {
			if re.MatchString(line) {
				bad = append(bad, line)
				break
			}
		}
	}
	return bad
}

// TestHAProxyLogsNoURL: nothing in haproxy.cfg logs, so nothing it logs can
// hold r or np. The check itself is shown to catch each way of logging.
func TestHAProxyLogsNoURL(t *testing.T) {
	cfg, err := os.ReadFile("haproxy.cfg")
	if err != nil {
		t.Fatal(err)
	}
	if bad := loggingLines(string(cfg)); len(bad) > 0 {
		t.Errorf("haproxy.cfg has lines that could log a URL: %q", bad)
	}
	if !strings.Contains(string(cfg), "stick on urlp(r)") {
		t.Fatal("haproxy.cfg does not read r: this test reads the wrong file")
	}
	for _, line := range []string{
		"log stdout format raw local0",
		"    log global",
		"log 127.0.0.1:514 local0",
		"option httplog",
		"option tcplog",
		`log-format "%ci %r"`,
		`log-format "%HU"`,
		`error-log-format "%ci"`,
		"capture request header Referer len 64",
		"http-request capture url len 100",
		"declare capture request len 64",
		`unique-id-format %{+X}o\ %ci:%cp_%HQ`,
	} {
		if len(loggingLines(line)) == 0 {
			t.Errorf("the check misses %q", line)
		}
	}
}

// stubNode stands in for a Sotto node: /readyz answers 200 while it is up,
// and every request is answered with the node's name in X-Stub-Node.
type stubNode struct {
	name string
	addr string
	srv  *http.Server
}

func startStub(t *testing.T, name, addr string) *stubNode {
	t.Helper()
	var l net.Listener
	var err error
	// A node coming back takes the port it had: retry while the kernel
	// still holds it.
	for range 50 {
		if l, err = net.Listen("tcp", addr); err == nil {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err != nil {
		t.Fatal(err)
	}
	n := &stubNode{name: name, addr: l.Addr().String()}
	n.srv = &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Stub-Node", name)
		io.WriteString(w, name)
	})}
	go n.srv.Serve(l)
	t.Cleanup(func() { n.srv.Close() })
	return n
}

// kill drops the node at once, as SIGKILL does: listener and connections.
func (n *stubNode) kill() { n.srv.Close() }

// runningHAProxy is haproxy started by a test, with its runtime API.
type runningHAProxy struct {
	env  haproxyEnv
	url  string
	proc *os.Process // in master-worker mode (-W), the master: SIGUSR2 reloads
}

// startHAProxy runs haproxy.cfg in the foreground, in master-worker mode as
// Debian's service runs it.
func startHAProxy(t *testing.T, env haproxyEnv) *runningHAProxy {
	t.Helper()
	cmd := exec.Command(haproxyPath(t), "-W", "-db", "-f", "haproxy.cfg")
	cmd.Env = env.environ()
	out := &strings.Builder{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
		if t.Failed() {
			t.Logf("haproxy said:\n%s", out)
		}
	})
	return &runningHAProxy{env: env, url: "http://" + env.bind, proc: cmd.Process}
}

// runtime sends one command to the runtime API's admin socket.
func (h *runningHAProxy) runtime(t *testing.T, cmd string) string {
	t.Helper()
	return runtimeAt(t, "unix", h.env.admin, cmd)
}

func runtimeAt(t *testing.T, network, addr, cmd string) string {
	t.Helper()
	c, err := net.DialTimeout(network, addr, 2*time.Second)
	if err != nil {
		t.Fatalf("runtime API: %v", err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	io.WriteString(c, cmd+"\n")
	b, err := io.ReadAll(c)
	if err != nil {
		t.Fatalf("runtime API %q: %v", cmd, err)
	}
	return string(b)
}

// waitServers waits until the servers' operational states are as want
// (server name -> up), by the runtime API.
func (h *runningHAProxy) waitServers(t *testing.T, want map[string]bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		state := map[string]bool{}
		// "show servers state nodes": one line per server; field 4 is the
		// name, field 6 srv_op_state (2: running).
		for _, line := range strings.Split(h.runtimeRetry(t, "show servers state nodes"), "\n") {
			f := strings.Fields(line)
			if len(f) > 6 && !strings.HasPrefix(line, "#") {
				state[f[3]] = f[5] == "2"
			}
		}
		ok := true
		for name, up := range want {
			if s, seen := state[name]; !seen || s != up {
				ok = false
			}
		}
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("servers %v, want %v", state, want)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// runtimeRetry is runtime, waiting for haproxy to open the socket.
func (h *runningHAProxy) runtimeRetry(t *testing.T, cmd string) string {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.Dial("unix", h.env.admin)
		if err == nil {
			c.Close()
			return h.runtime(t, cmd)
		}
		if time.Now().After(deadline) {
			t.Fatalf("runtime API never opened: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// get asks haproxy for path and returns the status and the node that
// answered ("" when haproxy answered itself).
func (h *runningHAProxy) get(t *testing.T, c *http.Client, path string) (int, string) {
	t.Helper()
	res, err := c.Get(h.url + path)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	io.Copy(io.Discard, res.Body)
	res.Body.Close()
	return res.StatusCode, res.Header.Get("X-Stub-Node")
}

// stickEntries returns the stick table: room id -> server name.
func (h *runningHAProxy) stickEntries(t *testing.T) map[string]string {
	t.Helper()
	out := map[string]string{}
	re := regexp.MustCompile(`key=(\S+) .*server_key=(\S+)`)
	for _, m := range re.FindAllStringSubmatch(h.runtime(t, "show table nodes"), -1) {
		out[m[1]] = m[2]
	}
	return out
}

// stickExpiry returns the milliseconds left on key's stick entry.
func (h *runningHAProxy) stickExpiry(t *testing.T, key string) int {
	t.Helper()
	m := regexp.MustCompile(`key=` + regexp.QuoteMeta(key) + ` \S+ exp=(\d+)`).FindStringSubmatch(h.runtime(t, "show table nodes key "+key))
	if m == nil {
		t.Fatalf("no stick entry for %s", key)
	}
	var ms int
	fmt.Sscan(m[1], &ms)
	return ms
}

// roomIDs returns n random room ids as the app writes them: 16 bytes,
// unpadded base64url.
func roomIDs(n int) []string {
	ids := make([]string, n)
	for i := range ids {
		ids[i] = randomRoomID()
	}
	return ids
}
