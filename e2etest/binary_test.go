package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"debug/elf"
	"encoding/json"
	"encoding/pem"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"sotto/tlsconf"
)

func TestParseConfigDefaultsAndEnv(t *testing.T) {
	c, err := parseConfig(nil, func(string) string { return "" }, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if c.addr != "127.0.0.1:8080" || c.metricsAddr != "" || c.talkLimit != 60*time.Second {
		t.Fatalf("defaults: %+v", c)
	}
	env := map[string]string{"SOTTO_ADDR": "127.0.0.1:9", "SOTTO_TALK_LIMIT": "30s", "SOTTO_ALLOW_ORIGIN": "https://a.example, https://b.example/"}
	c, err = parseConfig([]string{"--addr", "127.0.0.1:10"}, func(k string) string { return env[k] }, io.Discard)
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
		if _, err := parseConfig(args, func(string) string { return "" }, io.Discard); err == nil {
			t.Errorf("%q accepted", args)
		}
	}
	var help strings.Builder
	if _, err := parseConfig([]string{"--help"}, func(string) string { return "" }, &help); !errors.Is(err, flag.ErrHelp) {
		t.Errorf("--help: %v", err)
	}
	// Every variable the server reads is in --help and the README's table.
	readme, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	var vars []string
	for _, f := range []string{"main.go", "operator_mode.go"} {
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

// TestBinaryLifecycle builds the real binary, runs it, and checks what an
// operator relies on: the printed URL, health and readiness, metrics, security
// headers, and that SIGTERM closes WebSockets with 1001 and exits 0.
func TestBinaryLifecycle(t *testing.T) {
	bin := startBinary(t)
	cmd, appAddr, metricsAddr := bin.cmd, bin.appAddr, bin.metricsAddr

	get := func(url string) (*http.Response, string) {
		t.Helper()
		res, err := http.Get(url)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		body, _ := io.ReadAll(res.Body)
		return res, string(body)
	}
	if res, _ := get("http://" + appAddr + "/healthz"); res.StatusCode != 200 {
		t.Fatalf("/healthz %d", res.StatusCode)
	}
	if res, _ := get("http://" + appAddr + "/readyz"); res.StatusCode != 200 {
		t.Fatalf("/readyz %d", res.StatusCode)
	}
	res, body := get("http://" + appAddr + "/")
	if res.StatusCode != 200 || !strings.Contains(body, "<title>Sotto") {
		t.Fatalf("app page: %d %q", res.StatusCode, body)
	}
	for _, h := range []string{"Content-Security-Policy", "Referrer-Policy", "Permissions-Policy", "X-Content-Type-Options"} {
		if res.Header.Get(h) == "" {
			t.Errorf("response lacks %s", h)
		}
	}
	if h := res.Header.Get("Strict-Transport-Security"); h != "" {
		t.Errorf("HSTS on plain loopback HTTP: %q", h) // a browser would then refuse http://127.0.0.1 for every app
	}
	if _, body := get("http://" + metricsAddr + "/metrics"); !strings.Contains(body, "sotto_rooms 0") || !strings.Contains(body, "sotto_members 0") {
		t.Fatalf("metrics: %s", body)
	}

	// A WebSocket client connected when SIGTERM arrives must be told 1001.
	ws, _, err := websocket.DefaultDialer.Dial("ws://"+appAddr+"/ws", http.Header{"Sec-WebSocket-Protocol": {"sotto.v1"}})
	if err != nil {
		t.Fatal(err)
	}
	defer ws.Close()
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	ws.SetReadDeadline(time.Now().Add(10 * time.Second))
	for {
		_, _, err := ws.ReadMessage()
		if err == nil {
			continue
		}
		if !websocket.IsCloseError(err, websocket.CloseGoingAway) {
			t.Fatalf("WebSocket ended with %v, want close 1001", err)
		}
		break
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("exit after SIGTERM: %v", err)
		}
	case <-ctx.Done():
		t.Fatal("the binary did not exit after SIGTERM")
	}
}

func TestReadyzFlipsWhileShuttingDown(t *testing.T) {
	var shuttingDown atomic.Bool
	h := routes(http.NotFoundHandler(), &shuttingDown)
	check := func(want int) {
		t.Helper()
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", "/readyz", nil))
		if rec.Code != want {
			t.Fatalf("/readyz = %d, want %d", rec.Code, want)
		}
	}
	check(200)
	shuttingDown.Store(true)
	check(503)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/healthz", nil))
	if rec.Code != 200 {
		t.Fatalf("/healthz must stay 200 while draining, got %d", rec.Code)
	}
}

var (
	buildOnce sync.Once
	builtPath string
	buildErr  error
)

// runningBinary is the real sotto binary, running on loopback ports.
type runningBinary struct {
	cmd                  *exec.Cmd
	appAddr, metricsAddr string
	voiceUDP             string // the first UDP address voice listens on
}

// buildBinary builds the binary once per test run and returns its path.
func buildBinary(t testing.TB) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "sotto-bin-")
		if err != nil {
			buildErr = err
			return
		}
		builtPath = filepath.Join(dir, "sotto")
		build := exec.Command("go", "build", "-o", builtPath, ".")
		build.Stderr = os.Stderr
		buildErr = build.Run()
	})
	if buildErr != nil {
		t.Fatalf("build: %v", buildErr)
	}
	return builtPath
}

// startBinary builds the binary once per test run, starts it on free
// loopback ports with metrics on, and kills it when the test ends.
func startBinary(t testing.TB, args ...string) *runningBinary {
	t.Helper()
	cmd := exec.Command(buildBinary(t), append([]string{"--addr", "127.0.0.1:0", "--metrics-addr", "127.0.0.1:0"}, args...)...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })

	// The binary prints where it listens; read both addresses.
	lines := bufio.NewScanner(stdout)
	urlRE := regexp.MustCompile(`http://([0-9.:]+)/`)
	voiceRE := regexp.MustCompile(`^Voice on UDP ([0-9.:]+)`)
	b := &runningBinary{cmd: cmd}
	for (b.appAddr == "" || b.metricsAddr == "") && lines.Scan() {
		line := lines.Text()
		if m := voiceRE.FindStringSubmatch(line); m != nil {
			b.voiceUDP = m[1]
		}
		if m := urlRE.FindStringSubmatch(line); m != nil {
			if strings.Contains(line, "Metrics") {
				b.metricsAddr = m[1]
			} else {
				b.appAddr = m[1]
			}
		}
	}
	if b.appAddr == "" || b.metricsAddr == "" || b.voiceUDP == "" {
		t.Fatal("the binary did not print its URLs and voice address")
	}
	go io.Copy(io.Discard, stdout)
	return b
}

// metric reads one unlabelled metric from the binary's /metrics.
func (b *runningBinary) metric(t testing.TB, name string) string {
	t.Helper()
	return scrapeMetric(t, "http://"+b.metricsAddr+"/metrics", name)
}

// scrapeMetric reads one unlabelled metric from a /metrics URL, on a fresh
// connection each time (a test may have just shut a server down).
func scrapeMetric(t testing.TB, url, name string) string {
	t.Helper()
	hc := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 5 * time.Second}
	res, err := hc.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	for _, line := range strings.Split(string(body), "\n") {
		if v, ok := strings.CutPrefix(line, name+" "); ok {
			return v
		}
	}
	t.Fatalf("metric %s missing", name)
	return ""
}

// launched is a sotto process whose output was read up to its "Sotto is
// running" line.
type launched struct {
	cmd   *exec.Cmd
	lines []string // stdout up to and including the "Sotto is running" line
	url   string   // what that line says to open
}

var openRE = regexp.MustCompile(`^Sotto is running.* (https?://\S+/)`)

// launch starts cmd, reads its stdout to the "Sotto is running" line, and
// kills it when the test ends (unless it has exited).
func launch(t testing.TB, cmd *exec.Cmd) *launched {
	t.Helper()
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if cmd.Stderr == nil {
		cmd.Stderr = os.Stderr
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	l := &launched{cmd: cmd}
	got := make(chan string)
	go func() {
		lines := bufio.NewScanner(stdout)
		for lines.Scan() {
			got <- lines.Text()
		}
		close(got)
	}()
	timeout := time.After(20 * time.Second)
	for l.url == "" {
		select {
		case line, ok := <-got:
			if !ok {
				t.Fatalf("the binary exited before it said where it runs: %q", l.lines)
			}
			l.lines = append(l.lines, line)
			if m := openRE.FindStringSubmatch(line); m != nil {
				l.url = m[1]
			}
		case <-timeout:
			t.Fatalf("the binary did not say where it runs: %q", l.lines)
		}
	}
	go func() {
		for range got {
		}
	}()
	return l
}

// line is the first output line containing substr.
func (l *launched) line(t testing.TB, substr string) string {
	t.Helper()
	for _, s := range l.lines {
		if strings.Contains(s, substr) {
			return s
		}
	}
	t.Fatalf("no line with %q in %q", substr, l.lines)
	return ""
}

// stop sends SIGTERM and checks that the process exits 0 in time.
func (l *launched) stop(t testing.TB) {
	t.Helper()
	if err := l.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	l.waitExit(t)
}

func (l *launched) waitExit(t testing.TB) {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- l.cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("exit after SIGTERM: %v", err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("the binary did not exit after SIGTERM")
	}
}

var fingerprintRE = regexp.MustCompile(`fingerprint ((?:[0-9A-F]{2}:){31}[0-9A-F]{2})$`)

// TestPlainHTTPRefusedOffLoopback: asked to serve plain HTTP where other
// machines can reach it, the binary exits 2 before listening and names the
// operator's choices.
func TestPlainHTTPRefusedOffLoopback(t *testing.T) {
	bin := buildBinary(t)
	for _, tc := range []struct {
		args []string
		env  string
	}{
		{[]string{"--addr", "0.0.0.0:0"}, ""},
		{nil, "SOTTO_ADDR=:0"},
		{[]string{"--addr", "[::]:0", "--metrics-addr", "127.0.0.1:0"}, ""},
	} {
		cmd := exec.Command(bin, tc.args...)
		cmd.Env = append(os.Environ(), tc.env)
		out, err := cmd.CombinedOutput()
		var exit *exec.ExitError
		if !errors.As(err, &exit) || exit.ExitCode() != 2 {
			t.Fatalf("%q %s: %v, want exit status 2; output:\n%s", tc.args, tc.env, err, out)
		}
		for _, want := range []string{"refusing to serve plain HTTP", "--acme-domain", "--tls-cert", "--self-signed", "--behind-proxy", "127.0.0.1"} {
			if !strings.Contains(string(out), want) {
				t.Errorf("%q %s: the error does not mention %s:\n%s", tc.args, tc.env, want, out)
			}
		}
		if strings.Contains(string(out), "Sotto is running") {
			t.Errorf("%q: it ran anyway", tc.args)
		}
	}
}

// testPKI is a CA and a server certificate it signed, as PEM files.
type testPKI struct {
	pool              *x509.CertPool
	certFile, keyFile string
}

func newTestPKI(t *testing.T, names ...string) testPKI {
	t.Helper()
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	ca := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "Sotto test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, ca, ca, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ = x509.ParseCertificate(caDER)
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	leaf := &x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: names[0]},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	for _, n := range names {
		if ip := net.ParseIP(n); ip != nil {
			leaf.IPAddresses = append(leaf.IPAddresses, ip)
		} else {
			leaf.DNSNames = append(leaf.DNSNames, n)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, leaf, ca, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, _ := x509.MarshalPKCS8PrivateKey(key)
	dir := t.TempDir()
	p := testPKI{pool: x509.NewCertPool(), certFile: filepath.Join(dir, "cert.pem"), keyFile: filepath.Join(dir, "key.pem")}
	p.pool.AddCert(ca)
	os.WriteFile(p.certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600)
	os.WriteFile(p.keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), 0o600)
	return p
}

// TestTLSCertFiles serves an operator's certificate: a client that trusts
// its CA connects with full verification and sees HSTS, plain HTTP on the
// port is not served, and `sotto healthcheck` with the same flags passes.
func TestTLSCertFiles(t *testing.T) {
	pki := newTestPKI(t, "sotto.test", "127.0.0.1")
	bin := buildBinary(t)
	l := launch(t, exec.Command(bin, "--addr", "127.0.0.1:0", "--tls-cert", pki.certFile, "--tls-key", pki.keyFile))
	if !strings.HasPrefix(l.url, "https://127.0.0.1:") {
		t.Fatalf("printed URL %s", l.url)
	}
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pki.pool}}}
	res, err := client.Get(l.url)
	if err != nil {
		t.Fatalf("verified TLS: %v", err)
	}
	res.Body.Close()
	if res.StatusCode != 200 || res.Header.Get("Strict-Transport-Security") != "max-age=63072000" {
		t.Fatalf("HTTP %d, HSTS %q", res.StatusCode, res.Header.Get("Strict-Transport-Security"))
	}
	if res.TLS.PeerCertificates[0].Subject.CommonName != "sotto.test" {
		t.Fatalf("served %s", res.TLS.PeerCertificates[0].Subject)
	}
	plain, err := http.Get("http://" + strings.TrimPrefix(l.url, "https://"))
	if err == nil {
		plain.Body.Close()
		if plain.StatusCode == 200 {
			t.Fatal("the app was served over plain HTTP on the TLS port")
		}
	}

	hostport := strings.TrimSuffix(strings.TrimPrefix(l.url, "https://"), "/")
	hc := exec.Command(bin, "healthcheck", "--addr", hostport, "--tls-cert", pki.certFile, "--tls-key", pki.keyFile)
	if out, err := hc.CombinedOutput(); err != nil {
		t.Fatalf("healthcheck: %v\n%s", err, out)
	}
	l.stop(t)
}

// tlsPeer connects to hostport without verification and returns the
// certificate the server presented.
func tlsPeer(t testing.TB, hostport string) *x509.Certificate {
	t.Helper()
	conn, err := tls.Dial("tcp", hostport, &tls.Config{InsecureSkipVerify: true})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	return conn.ConnectionState().PeerCertificates[0]
}

// TestSelfSignedFingerprint: --self-signed prints a SHA-256 fingerprint
// that is the one a TLS client sees, names loopback and this host in the
// certificate, sets HSTS, and draws the URL as a QR code.
func TestSelfSignedFingerprint(t *testing.T) {
	l := launch(t, exec.Command(buildBinary(t), "--addr", "127.0.0.1:0", "--self-signed"))
	m := fingerprintRE.FindStringSubmatch(l.line(t, "fingerprint"))
	if m == nil {
		t.Fatalf("no fingerprint in %q", l.lines)
	}
	hostport := strings.TrimSuffix(strings.TrimPrefix(l.url, "https://"), "/")
	cert := tlsPeer(t, hostport)
	if got := tlsconf.Fingerprint(cert.Raw); got != m[1] {
		t.Fatalf("printed fingerprint %s, the client sees %s", m[1], got)
	}
	hostname, _ := os.Hostname()
	if err := cert.VerifyHostname("127.0.0.1"); err != nil {
		t.Error(err)
	}
	if err := cert.VerifyHostname(hostname); hostname != "" && err != nil {
		t.Error(err)
	}
	if pub, ok := cert.PublicKey.(*ecdsa.PublicKey); !ok || pub.Curve != elliptic.P256() {
		t.Errorf("key %T, want ECDSA P-256", cert.PublicKey)
	}
	// Pinning the printed fingerprint is how a careful client trusts it.
	pinned := &tls.Config{InsecureSkipVerify: true, VerifyConnection: func(cs tls.ConnectionState) error {
		if tlsconf.Fingerprint(cs.PeerCertificates[0].Raw) != m[1] {
			return errors.New("fingerprint mismatch")
		}
		return nil
	}}
	res, err := (&http.Client{Transport: &http.Transport{TLSClientConfig: pinned}}).Get(l.url)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.Header.Get("Strict-Transport-Security") == "" {
		t.Error("no HSTS over TLS")
	}
	l.line(t, "████") // the QR code's quiet zone
	l.stop(t)
}

// TestBehindProxyBinary: with --behind-proxy, the per-address connection
// cap counts the client address a trusted proxy forwards, and ignores the
// header from any other peer.
func TestBehindProxyBinary(t *testing.T) {
	dial := func(b *runningBinary, client, proto string) int {
		t.Helper()
		hdr := http.Header{"Sec-WebSocket-Protocol": {"sotto.v1"}, "X-Forwarded-For": {client}, "X-Forwarded-Proto": {proto}}
		ws, res, err := websocket.DefaultDialer.Dial("ws://"+b.appAddr+"/ws", hdr)
		if err != nil {
			if res == nil {
				t.Fatal(err)
			}
			return res.StatusCode
		}
		t.Cleanup(func() { ws.Close() })
		return http.StatusSwitchingProtocols
	}

	// The test is the proxy: loopback, trusted.
	b := startBinary(t, "--behind-proxy", "--trusted-proxy", "127.0.0.1", "--max-conns-per-ip", "1")
	if got := dial(b, "198.51.100.1", "https"); got != 101 {
		t.Fatalf("first client: HTTP %d", got)
	}
	if got := dial(b, "198.51.100.2", "https"); got != 101 {
		t.Fatalf("a second client through the same proxy: HTTP %d, want 101", got)
	}
	if got := dial(b, "198.51.100.1", "https"); got != 429 {
		t.Fatalf("the first client again: HTTP %d, want 429", got)
	}
	if got := dial(b, "198.51.100.3", "http"); got != 403 {
		t.Fatalf("a visitor who reached the proxy over http: HTTP %d, want 403", got)
	}

	// The proxy is elsewhere: the loopback peer's header means nothing, so
	// every connection counts against 127.0.0.1.
	b = startBinary(t, "--behind-proxy", "--trusted-proxy", "10.0.0.0/8", "--max-conns-per-ip", "1")
	if got := dial(b, "198.51.100.1", "https"); got != 101 {
		t.Fatalf("first connection: HTTP %d", got)
	}
	if got := dial(b, "198.51.100.2", "https"); got != 429 {
		t.Fatalf("a forged X-Forwarded-For from an untrusted peer was believed: HTTP %d, want 429", got)
	}
}

// dockerfile is what TestDockerImageBinary needs from the Dockerfile.
type dockerfile struct {
	buildEnv    []string // VAR=value before `go build`
	buildArgs   []string // go build ...
	user        string   // final stage USER
	env         []string // final stage ENV, as VAR=value
	healthcheck []string // HEALTHCHECK CMD
	entrypoint  []string
	expose      []string
}

// shellWords splits a shell line into words, honouring single and double
// quotes and expanding ${NAME} (outside single quotes) from vars, which must
// name it (enough for a Dockerfile RUN line with ARGs; no escapes).
func shellWords(s string, vars map[string]string) ([]string, error) {
	var words []string
	var cur strings.Builder
	inWord := false
	var quote rune
	rs := []rune(s)
	for i := 0; i < len(rs); i++ {
		r := rs[i]
		if r == '$' && quote != '\'' {
			end := strings.IndexRune(string(rs[i:]), '}')
			name, ok := strings.CutPrefix(string(rs[i:])[:max(end, 0)], "${")
			val, known := vars[name]
			if end < 0 || !ok || !known {
				return nil, fmt.Errorf("unsupported expansion in %q (only ${NAME} of an ARG)", s)
			}
			cur.WriteString(val)
			inWord = true
			i += len([]rune(name)) + 2
			continue
		}
		switch {
		case quote != 0:
			if r == quote {
				quote = 0
			} else {
				cur.WriteRune(r)
			}
		case r == '\'' || r == '"':
			quote, inWord = r, true
		case r == ' ' || r == '\t':
			if inWord {
				words = append(words, cur.String())
				cur.Reset()
				inWord = false
			}
		case r == '\\' || r == '`' || r == ';' || r == '&' || r == '|':
			return nil, fmt.Errorf("unsupported shell syntax %q in %q", r, s)
		default:
			cur.WriteRune(r)
			inWord = true
		}
	}
	if quote != 0 {
		return nil, fmt.Errorf("unterminated quote in %q", s)
	}
	if inWord {
		words = append(words, cur.String())
	}
	return words, nil
}

// parseDockerfile reads the Dockerfile, with args as the build's
// --build-arg values (an ARG without one takes its default).
func parseDockerfile(t *testing.T, path string, args map[string]string) dockerfile {
	t.Helper()
	vars := map[string]string{}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var d dockerfile
	stage := 0
	for _, line := range strings.Split(string(data), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		instr, rest, _ := strings.Cut(line, " ")
		switch strings.ToUpper(instr) {
		case "FROM":
			stage++
			vars = map[string]string{} // ARGs are per stage
		case "ARG":
			name, def, _ := strings.Cut(rest, "=")
			if v, ok := args[name]; ok {
				def = v
			}
			vars[name] = def
		case "RUN":
			if !strings.Contains(rest, "go build") {
				continue
			}
			if d.buildArgs != nil {
				t.Fatal("more than one go build line in the Dockerfile")
			}
			words, err := shellWords(rest, vars)
			if err != nil {
				t.Fatal(err)
			}
			for len(words) > 0 && strings.Contains(words[0], "=") {
				d.buildEnv, words = append(d.buildEnv, words[0]), words[1:]
			}
			d.buildArgs = words
		case "USER":
			d.user = rest
		case "ENV":
			if stage > 1 {
				words, err := shellWords(rest, vars)
				if err != nil {
					t.Fatal(err)
				}
				d.env = append(d.env, words...)
			}
		case "EXPOSE":
			d.expose = append(d.expose, strings.Fields(rest)...)
		case "HEALTHCHECK":
			_, cmd, ok := strings.Cut(rest, "CMD ")
			if !ok || json.Unmarshal([]byte(cmd), &d.healthcheck) != nil {
				t.Fatalf("HEALTHCHECK must use the exec form CMD [...]: %q", rest)
			}
		case "ENTRYPOINT":
			if json.Unmarshal([]byte(rest), &d.entrypoint) != nil {
				t.Fatalf("ENTRYPOINT must use the exec form: %q", rest)
			}
		}
	}
	if stage != 2 {
		t.Fatalf("want a two-stage Dockerfile, found %d stages", stage)
	}
	return d
}

// traversableTempDir is os.TempDir() if every user may pass through it and
// its parents (so a binary in it can run as another user), else /tmp.
func traversableTempDir() string {
	for d := os.TempDir(); ; d = filepath.Dir(d) {
		if fi, err := os.Stat(d); err != nil || fi.Mode().Perm()&0o001 == 0 {
			return "/tmp"
		}
		if d == filepath.Dir(d) {
			return os.TempDir()
		}
	}
}

// freePort is a port free on 127.0.0.1 for both TCP and UDP, as the image
// uses one number for both.
func freePort(t *testing.T) string {
	t.Helper()
	for range 20 {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		_, port, _ := net.SplitHostPort(ln.Addr().String())
		pc, err := net.ListenPacket("udp", "127.0.0.1:"+port)
		ln.Close()
		if err == nil {
			pc.Close()
			return port
		}
	}
	t.Fatal("no port free for both TCP and UDP")
	return ""
}

// TestDockerImageBinary is the container image's check without Docker. It
// builds the binary with the Dockerfile's own `go build` line (read from the
// Dockerfile, so the two cannot drift), checks that it is static, stripped
// and path-free, then runs it as the image's non-root USER from a read-only
// directory with the image's ENV (moved to loopback ports, in the LAN mode,
// --self-signed), and runs the image's HEALTHCHECK command as that user too:
// 0 while serving, 1 once SIGTERM has begun the shutdown, and the server
// exits 0.
func TestDockerImageBinary(t *testing.T) {
	// The revision and date a builder passes with --build-arg must reach
	// `sotto version` (the build context has no .git to read them from).
	const revision, date = "0123456789abcdef0123456789abcdef01234567", "2026-12-07T04:00:00Z"
	d := parseDockerfile(t, "Dockerfile", map[string]string{"REVISION": revision, "BUILD_DATE": date})

	// The build line is what the issue asks for.
	if !slices.Contains(d.buildEnv, "CGO_ENABLED=0") {
		t.Errorf("build env %q lacks CGO_ENABLED=0", d.buildEnv)
	}
	if len(d.buildArgs) < 2 || d.buildArgs[0] != "go" || d.buildArgs[1] != "build" || !slices.Contains(d.buildArgs, "-trimpath") ||
		!slices.ContainsFunc(d.buildArgs, func(a string) bool { return strings.HasPrefix(a, "-ldflags=-s -w ") }) {
		t.Errorf("build line %q: want go build -trimpath -ldflags='-s -w'", d.buildArgs)
	}
	out := slices.Index(d.buildArgs, "-o")
	if out < 0 || out+1 >= len(d.buildArgs) {
		t.Fatalf("build line %q has no -o", d.buildArgs)
	}
	if !slices.Equal(d.entrypoint, []string{"/sotto"}) || !slices.Equal(d.healthcheck, []string{"/sotto", "healthcheck"}) {
		t.Errorf("ENTRYPOINT %q, HEALTHCHECK %q", d.entrypoint, d.healthcheck)
	}
	uidStr, gidStr, _ := strings.Cut(d.user, ":")
	uid, err1 := strconv.Atoi(uidStr)
	gid, err2 := strconv.Atoi(gidStr)
	if err1 != nil || err2 != nil || uid == 0 || gid == 0 {
		t.Fatalf("USER %q: want a numeric non-root uid:gid", d.user)
	}
	imageEnv := map[string]string{}
	for _, kv := range d.env {
		k, v, _ := strings.Cut(kv, "=")
		imageEnv[k] = v
	}
	_, port, _ := net.SplitHostPort(imageEnv["SOTTO_ADDR"])
	if port == "" || !slices.Contains(d.expose, port+"/tcp") || !slices.Contains(d.expose, port+"/udp") {
		t.Errorf("SOTTO_ADDR=%q but EXPOSE %q", imageEnv["SOTTO_ADDR"], d.expose)
	}

	// Build into a directory the non-root user can read.
	dir, err := os.MkdirTemp(traversableTempDir(), "sotto-image-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "sotto")
	args := slices.Clone(d.buildArgs)
	args[out+1] = bin
	build := exec.Command(args[0], args[1:]...)
	build.Env = append(os.Environ(), d.buildEnv...)
	if b, err := build.CombinedOutput(); err != nil {
		t.Fatalf("%s: %v\n%s", strings.Join(args, " "), err, b)
	}

	if v, err := exec.Command(bin, "version").Output(); err != nil || !strings.Contains(string(v), "revision "+revision+", built "+date) {
		t.Errorf("sotto version: %v, %q: want the revision and date passed as build args", err, v)
	}

	// Static, stripped, and without this machine's paths.
	f, err := elf.Open(bin)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP || p.Type == elf.PT_DYNAMIC {
			t.Errorf("program header %v: the binary is dynamically linked", p.Type)
		}
	}
	if libs, _ := f.ImportedLibraries(); len(libs) > 0 {
		t.Errorf("needs shared libraries %q", libs)
	}
	for _, name := range []string{".symtab", ".debug_info"} {
		if f.Section(name) != nil {
			t.Errorf("section %s present: not stripped (-s -w)", name)
		}
	}
	f.Close()
	raw, _ := os.ReadFile(bin)
	if wd, _ := os.Getwd(); bytes.Contains(raw, []byte(wd)) {
		t.Errorf("the binary holds the build directory %s (-trimpath)", wd)
	}

	// As the image's user, from a directory nobody can write to, with the
	// image's environment only, moved to loopback and TLS made at start.
	var cred *syscall.Credential
	if os.Geteuid() == 0 {
		cred = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
	} else {
		t.Logf("not root: running as uid %d, already not root", os.Geteuid())
	}
	work, err := os.MkdirTemp(traversableTempDir(), "sotto-ro-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Chmod(work, 0o755); os.RemoveAll(work) })
	os.Chmod(work, 0o555)
	port = freePort(t)
	imageEnv["SOTTO_ADDR"] = "127.0.0.1:" + port
	if _, ok := imageEnv["SOTTO_UDP_PORT"]; ok {
		imageEnv["SOTTO_UDP_PORT"] = port
	}
	imageEnv["SOTTO_SELF_SIGNED"] = "true" // README's LAN command
	var env []string
	for k, v := range imageEnv {
		env = append(env, k+"="+v)
	}
	command := func(args ...string) *exec.Cmd {
		if args[0] == "/sotto" {
			args[0] = bin
		}
		c := exec.Command(args[0], args[1:]...)
		c.Env, c.Dir = env, work
		c.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
		return c
	}
	healthcheck := func() (int, string) {
		c := command(slices.Clone(d.healthcheck)...)
		b, err := c.CombinedOutput()
		var exit *exec.ExitError
		switch {
		case err == nil:
			return 0, string(b)
		case errors.As(err, &exit):
			return exit.ExitCode(), string(b)
		}
		t.Fatalf("healthcheck: %v", err)
		return -1, ""
	}

	l := launch(t, command(slices.Clone(d.entrypoint)...))
	if status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", l.cmd.Process.Pid)); err == nil {
		want := fmt.Sprintf("Uid:\t%d\t%d", os.Geteuid(), os.Geteuid())
		if cred != nil {
			want = fmt.Sprintf("Uid:\t%d\t%d", uid, uid)
		}
		if !strings.Contains(string(status), want) {
			t.Errorf("process status lacks %q", want)
		}
	}
	m := fingerprintRE.FindStringSubmatch(l.line(t, "fingerprint"))
	if m == nil || tlsconf.Fingerprint(tlsPeer(t, "127.0.0.1:"+port).Raw) != m[1] {
		t.Fatalf("fingerprint line %q does not match the served certificate", m)
	}
	if code, out := healthcheck(); code != 0 {
		t.Fatalf("healthcheck while serving: exit %d\n%s", code, out)
	}

	// A WebSocket client that never answers the close frame holds the
	// shutdown open (for signal's close grace), with /readyz at 503.
	dialer := websocket.Dialer{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}
	ws, _, err := dialer.Dial("wss://127.0.0.1:"+port+"/ws", http.Header{"Sec-WebSocket-Protocol": {"sotto.v1"}})
	if err != nil {
		t.Fatal(err)
	}
	defer ws.Close()
	if err := l.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	saw503 := false
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline) && !saw503; {
		code, out := healthcheck()
		saw503 = code == 1 && strings.Contains(out, "503")
		if code != 0 && !saw503 {
			t.Logf("healthcheck during shutdown: exit %d %s", code, out)
		}
	}
	if !saw503 {
		t.Error("the healthcheck never reported 503 during the shutdown")
	}
	l.waitExit(t)
	if code, out := healthcheck(); code != 1 {
		t.Fatalf("healthcheck with the server gone: exit %d, want 1\n%s", code, out)
	}
}

// TestACMEModeProbe starts the ACME mode with a CA that cannot be reached:
// the server starts (certificates are asked for on the first visit), says
// where to open it, and `sotto healthcheck` passes over TLS without asking
// the CA for anything (a loopback probe without a server name gets a
// certificate made at start), so probes cannot spend the CA's rate limits.
func TestACMEModeProbe(t *testing.T) {
	bin := buildBinary(t)
	port := freePort(t)
	args := []string{"--addr", "127.0.0.1:" + port, "--acme-domain", "talk.example.com", "--acme-directory", "https://127.0.0.1:1/directory"}
	l := launch(t, exec.Command(bin, args...))
	if l.url != "https://talk.example.com:"+port+"/" {
		t.Errorf("printed URL %s", l.url)
	}
	l.line(t, "TLS-ALPN-01")
	hc := exec.Command(bin, append([]string{"healthcheck"}, args...)...)
	if out, err := hc.CombinedOutput(); err != nil {
		t.Fatalf("healthcheck: %v\n%s", err, out)
	}
	// A name other than the configured one gets no certificate.
	conn, err := tls.Dial("tcp", "127.0.0.1:"+port, &tls.Config{ServerName: "other.example.com", InsecureSkipVerify: true})
	if err == nil {
		conn.Close()
		t.Error("a handshake for another name succeeded")
	}
	l.stop(t)
}

// TestSelfSignedOnEveryInterface: on ":port" (the image's SOTTO_ADDR form)
// the LAN mode prints a URL per interface address, its certificate names
// each of them, and voice listens on IPv4 as well as IPv6.
func TestSelfSignedOnEveryInterface(t *testing.T) {
	addrs, err := tlsconf.InterfaceAddrs()
	if err != nil || len(addrs) == 0 {
		t.Skip("no non-loopback interface address")
	}
	l := launch(t, exec.Command(buildBinary(t), "--addr", ":0", "--self-signed"))
	_, port, _ := net.SplitHostPort(strings.TrimSuffix(strings.TrimPrefix(l.url, "https://"), "/"))
	cert := tlsPeer(t, "127.0.0.1:"+port)
	voice := l.line(t, "Voice on UDP")
	for i, a := range addrs {
		u := "https://" + net.JoinHostPort(a.String(), port) + "/"
		if i == 0 && l.url != u {
			t.Errorf("open %s, want %s", l.url, u)
		}
		if i > 0 {
			l.line(t, "Also on your network: "+u)
		}
		if err := cert.VerifyHostname(a.String()); err != nil {
			t.Errorf("certificate: %v", err)
		}
		if a.Is4() && !strings.Contains(voice, a.String()+":") {
			t.Errorf("voice is not on %s: %q", a, voice)
		}
	}
	l.stop(t)
}
