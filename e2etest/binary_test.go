package e2etest

// The real binary as an operator runs it: lifecycle, transport modes, the
// printed URLs and fingerprint, healthcheck.

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"sotto/internal/testutil"
	"sotto/tlsconf"
)

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

// TestPlainHTTPRefusedOffLoopback: asked to serve plain HTTP where other
// machines can reach it, the binary exits 2 before listening and names the
// operator's choices.
func TestPlainHTTPRefusedOffLoopback(t *testing.T) {
	bin := testutil.Sotto(t)
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
	bin := testutil.Sotto(t)
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

// TestSelfSignedFingerprint: --self-signed prints a SHA-256 fingerprint
// that is the one a TLS client sees, names loopback and this host in the
// certificate, sets HSTS, and draws the URL as a QR code.
func TestSelfSignedFingerprint(t *testing.T) {
	l := launch(t, exec.Command(testutil.Sotto(t), "--addr", "127.0.0.1:0", "--self-signed"))
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

// TestACMEModeProbe starts the ACME mode with a CA that cannot be reached:
// the server starts (certificates are asked for on the first visit), says
// where to open it, and `sotto healthcheck` passes over TLS without asking
// the CA for anything (a loopback probe without a server name gets a
// certificate made at start), so probes cannot spend the CA's rate limits.
func TestACMEModeProbe(t *testing.T) {
	bin := testutil.Sotto(t)
	port := testutil.FreePort(t)
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
	l := launch(t, exec.Command(testutil.Sotto(t), "--addr", ":0", "--self-signed"))
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
