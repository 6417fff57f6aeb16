package testutil

// The real HAProxy in front of test nodes, run from deploy/cluster's
// haproxy.cfg as Debian's service runs it (master-worker), with the
// environment that file reads, and its runtime API. deploy/cluster's tests
// put stub nodes behind it; e2etest's cluster tests real sotto binaries.

import (
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
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"sotto/internal/syncbuf"
)

// haproxyWait bounds waiting for HAProxy: its runtime socket opens in
// milliseconds, and a server changes state after fall (2) or rise (3)
// checks one second apart (haproxy.cfg).
const haproxyWait = 20 * time.Second

// HAProxyEnv is the environment haproxy.cfg reads (see its header).
type HAProxyEnv struct {
	Bind    string    // where clients connect
	Admin   string    // the admin runtime socket, a Unix socket path
	Forget  string    // the operator-level runtime API for the nodes: "ipv4@127.0.0.1:port"
	Peer    string    // the local peer the stick table is handed over on
	MapPath string    // the nameplate map (WriteNameplateMap)
	Cert    string    // a PEM with certificate and key (SelfSignedPEM); "" for plain HTTP
	Nodes   [3]string // each node's host:port; a node not started can be any closed port
}

// NewHAProxyEnv is an environment for a run in dir, on free loopback ports.
func NewHAProxyEnv(t testing.TB, dir, mapPath string, nodes [3]string) HAProxyEnv {
	t.Helper()
	return HAProxyEnv{
		Bind:    FreeLoopbackAddr(t),
		Admin:   filepath.Join(dir, "admin.sock"),
		Forget:  "ipv4@" + FreeLoopbackAddr(t),
		Peer:    FreeLoopbackAddr(t),
		MapPath: mapPath,
		Nodes:   nodes,
	}
}

// ForgetAddr is the runtime API address as a node's --haproxy-runtime
// takes it.
func (e HAProxyEnv) ForgetAddr() string {
	return "tcp://" + strings.TrimPrefix(e.Forget, "ipv4@")
}

// Environ is the process environment with e set.
func (e HAProxyEnv) Environ() []string {
	env := append(os.Environ(),
		"SOTTO_HAPROXY_BIND="+e.Bind,
		"SOTTO_HAPROXY_ADMIN="+e.Admin,
		"SOTTO_HAPROXY_FORGET="+e.Forget,
		"SOTTO_HAPROXY_PEER="+e.Peer,
		"SOTTO_NAMEPLATE_MAP="+e.MapPath,
		"SOTTO_NODE0="+e.Nodes[0], "SOTTO_NODE1="+e.Nodes[1], "SOTTO_NODE2="+e.Nodes[2],
	)
	if e.Cert != "" {
		env = append(env, "SOTTO_TLS_CERT="+e.Cert)
	}
	return env
}

// CheckHAProxyConfig runs `haproxy -c` on cfgPath with env, failing on an
// error or a warning.
func CheckHAProxyConfig(t testing.TB, cfgPath string, env HAProxyEnv) {
	t.Helper()
	cmd := exec.Command(Tool(t, "haproxy", "haproxy"), "-c", "-f", cfgPath)
	cmd.Env = env.Environ()
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "Configuration file is valid") {
		t.Fatalf("haproxy -c: %v\n%s", err, out)
	}
	if strings.Contains(string(out), "[WARNING]") {
		t.Errorf("haproxy -c warns:\n%s", out)
	}
}

// WriteNameplateMap writes the nameplate map with the real generator
// (cmd/cluster-map), for node=prefix pairs such as "n0=1".
func WriteNameplateMap(t testing.TB, path string, nodes ...string) {
	t.Helper()
	cmd := exec.Command("go", append([]string{"run", "./cmd/cluster-map", "-o", path}, nodes...)...)
	cmd.Dir = RepoRoot(t)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("cluster-map: %v\n%s", err, out)
	}
}

// SelfSignedPEM writes a certificate for host and its key into dir, as
// HAProxy's crt wants them, and returns the file's path and a pool that
// trusts the certificate.
func SelfSignedPEM(t testing.TB, dir, host string) (string, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: host},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
	}
	if ip := net.ParseIP(host); ip != nil {
		tmpl.IPAddresses = []net.IP{ip}
	} else {
		tmpl.DNSNames = []string{host}
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
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return path, pool
}

// HAProxy is haproxy started by a test.
type HAProxy struct {
	Env  HAProxyEnv
	URL  string      // http:// or https:// Env.Bind
	Proc *os.Process // the master (-W): SIGUSR2 reloads
	out  *syncbuf.Buffer
}

// StartHAProxy runs cfgPath in the foreground, in master-worker mode as
// Debian's service runs it, and kills it when the test ends (printing what
// it said if the test failed).
func StartHAProxy(t testing.TB, cfgPath string, env HAProxyEnv) *HAProxy {
	t.Helper()
	cmd := exec.Command(Tool(t, "haproxy", "haproxy"), "-W", "-db", "-f", cfgPath)
	cmd.Env = env.Environ()
	out := &syncbuf.Buffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
		if t.Failed() {
			t.Logf("haproxy said:\n%s", out.String())
		}
	})
	scheme := "http://"
	if env.Cert != "" {
		scheme = "https://"
	}
	return &HAProxy{Env: env, URL: scheme + env.Bind, Proc: cmd.Process, out: out}
}

// Runtime sends one command to the admin runtime socket.
func (h *HAProxy) Runtime(t testing.TB, cmd string) string {
	t.Helper()
	return RuntimeAt(t, "unix", h.Env.Admin, cmd)
}

// RuntimeAt sends one command to a runtime API at network, addr.
func RuntimeAt(t testing.TB, network, addr, cmd string) string {
	t.Helper()
	c, err := net.DialTimeout(network, addr, dialTimeout)
	if err != nil {
		t.Fatalf("runtime API: %v", err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(dialTimeout))
	io.WriteString(c, cmd+"\n")
	b, err := io.ReadAll(c)
	if err != nil {
		t.Fatalf("runtime API %q: %v", cmd, err)
	}
	return string(b)
}

// RuntimeRetry is Runtime, waiting for haproxy to open the socket.
func (h *HAProxy) RuntimeRetry(t testing.TB, cmd string) string {
	t.Helper()
	WaitFor(t, haproxyWait, "haproxy's runtime socket", func() bool {
		c, err := net.Dial("unix", h.Env.Admin)
		if err == nil {
			c.Close()
		}
		return err == nil
	})
	return h.Runtime(t, cmd)
}

// ServersUp returns each server's operational state (name -> running),
// from the runtime API.
func (h *HAProxy) ServersUp(t testing.TB) map[string]bool {
	t.Helper()
	state := map[string]bool{}
	// "show servers state nodes": one line per server; field 4 is the
	// name, field 6 srv_op_state (2: running).
	for _, line := range strings.Split(h.RuntimeRetry(t, "show servers state nodes"), "\n") {
		f := strings.Fields(line)
		if len(f) > 6 && !strings.HasPrefix(line, "#") {
			state[f[3]] = f[5] == "2"
		}
	}
	return state
}

// WaitServers waits until the servers named in want are up or down as it
// says.
func (h *HAProxy) WaitServers(t testing.TB, want map[string]bool) {
	t.Helper()
	var state map[string]bool
	ok := Eventually(haproxyWait, func() bool {
		state = h.ServersUp(t)
		for name, up := range want {
			if s, seen := state[name]; !seen || s != up {
				return false
			}
		}
		return true
	})
	if !ok {
		t.Fatalf("servers %v, want %v", state, want)
	}
}

var stickEntryRE = regexp.MustCompile(`key=(\S+) .*server_key=(\S+)`)

// StickEntries returns the stick table: room id -> server name.
func (h *HAProxy) StickEntries(t testing.TB) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, m := range stickEntryRE.FindAllStringSubmatch(h.Runtime(t, "show table nodes"), -1) {
		out[m[1]] = m[2]
	}
	return out
}

// StickEntry returns the server the stick table names for key, "" if none.
func (h *HAProxy) StickEntry(t testing.TB, key string) string {
	t.Helper()
	m := stickEntryRE.FindStringSubmatch(h.Runtime(t, "show table nodes key "+key))
	if m == nil || m[1] != key {
		return ""
	}
	return m[2]
}

// StickExpiry returns the milliseconds left on key's stick entry.
func (h *HAProxy) StickExpiry(t testing.TB, key string) int {
	t.Helper()
	m := regexp.MustCompile(`key=` + regexp.QuoteMeta(key) + ` \S+ exp=(\d+)`).FindStringSubmatch(h.Runtime(t, "show table nodes key "+key))
	if m == nil {
		t.Fatalf("no stick entry for %s", key)
	}
	var ms int
	fmt.Sscan(m[1], &ms)
	return ms
}

// WorkerPID returns the pid of the worker answering the runtime API.
func (h *HAProxy) WorkerPID(t testing.TB) string {
	t.Helper()
	m := regexp.MustCompile(`(?m)^Pid: (\d+)`).FindStringSubmatch(h.RuntimeRetry(t, "show info"))
	if m == nil {
		t.Fatal("show info has no Pid")
	}
	return m[1]
}
