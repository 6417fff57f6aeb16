package tlsconf

import (
	"bytes"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/acme"
)

func TestSelfSigned(t *testing.T) {
	now := time.Now()
	c, err := SelfSigned([]string{"192.168.1.20", "[fd00::20]", "myhost", "myhost.local", "MYHOST", "", "localhost", "127.0.0.1"}, now)
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := x509.ParseCertificate(c.Certificate[0])
	if err != nil {
		t.Fatal(err)
	}
	if leaf.PublicKeyAlgorithm != x509.ECDSA || leaf.SignatureAlgorithm != x509.ECDSAWithSHA256 {
		t.Errorf("key %v, signature %v; want ECDSA P-256 with SHA-256", leaf.PublicKeyAlgorithm, leaf.SignatureAlgorithm)
	}
	if err := leaf.CheckSignature(leaf.SignatureAlgorithm, leaf.RawTBSCertificate, leaf.Signature); err != nil || !bytes.Equal(leaf.RawIssuer, leaf.RawSubject) {
		t.Errorf("not self-signed: %v", err)
	}
	if got := strings.Join(leaf.DNSNames, " "); got != "myhost myhost.local localhost" {
		t.Errorf("DNS SANs %q (duplicates must go)", got)
	}
	var ips []string
	for _, ip := range leaf.IPAddresses {
		ips = append(ips, ip.String())
	}
	if got := strings.Join(ips, " "); got != "192.168.1.20 fd00::20 127.0.0.1" {
		t.Errorf("IP SANs %q", got)
	}
	if leaf.NotAfter.Sub(now) > SelfSignedValidity || leaf.NotBefore.After(now) {
		t.Errorf("validity %v to %v", leaf.NotBefore, leaf.NotAfter)
	}
	// A client that trusts the certificate itself verifies every name in it.
	pool := x509.NewCertPool()
	pool.AddCert(leaf)
	for _, name := range []string{"192.168.1.20", "fd00::20", "myhost.local"} {
		if _, err := leaf.Verify(x509.VerifyOptions{Roots: pool, DNSName: name}); err != nil {
			t.Errorf("verify as %s: %v", name, err)
		}
	}
	again, _ := SelfSigned([]string{"myhost"}, now)
	if Fingerprint(again.Certificate[0]) == Fingerprint(c.Certificate[0]) {
		t.Error("two starts made the same certificate")
	}
}

func TestFingerprint(t *testing.T) {
	der := []byte("not really a certificate")
	sum := sha256.Sum256(der)
	got := Fingerprint(der)
	if strings.ReplaceAll(got, ":", "") != strings.ToUpper(hex.EncodeToString(sum[:])) || len(got) != 32*3-1 {
		t.Fatalf("Fingerprint = %s", got)
	}
}

func TestInterfaceAddrs(t *testing.T) {
	addrs, err := InterfaceAddrs()
	if err != nil {
		t.Fatal(err)
	}
	seen6 := false
	for _, a := range addrs {
		if a.IsLoopback() || a.IsLinkLocalUnicast() {
			t.Errorf("%s listed", a)
		}
		if a.Is6() {
			seen6 = true
		} else if seen6 {
			t.Errorf("IPv4 %s after an IPv6 address", a)
		}
	}
}

// writePair writes a fresh self-signed pair for name as PEM files.
func writePair(t *testing.T, dir, name string) (certFile, keyFile string) {
	t.Helper()
	c, err := SelfSigned([]string{name}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(c.PrivateKey)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Certificate[0]}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		t.Fatal(err)
	}
	return certFile, keyFile
}

func TestFileCertReloads(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile := writePair(t, dir, "first.example")
	var errs []error
	f, err := LoadFileCert(certFile, keyFile, func(err error) { errs = append(errs, err) })
	if err != nil {
		t.Fatal(err)
	}
	name := func() string {
		c, err := f.GetCertificate(&tls.ClientHelloInfo{})
		if err != nil {
			t.Fatal(err)
		}
		leaf, _ := x509.ParseCertificate(c.Certificate[0])
		return leaf.DNSNames[0]
	}
	if name() != "first.example" {
		t.Fatal("first pair not served")
	}

	// A renewal is picked up only once the check interval has passed.
	writePair(t, dir, "second.example")
	future := time.Now().Add(time.Hour)
	os.Chtimes(certFile, future, future) // a different stamp even on coarse clocks
	if name() != "first.example" {
		t.Fatal("reloaded before the check interval")
	}
	f.interval = 0
	if name() != "second.example" {
		t.Fatal("renewed pair not served")
	}

	// A broken pair keeps the old one in service and is reported.
	os.WriteFile(keyFile, []byte("garbage"), 0o600)
	os.Chtimes(keyFile, future.Add(time.Hour), future.Add(time.Hour))
	if name() != "second.example" || len(errs) == 0 {
		t.Fatalf("broken pair: serving %s, errors %v", name(), errs)
	}
	if _, err := LoadFileCert(filepath.Join(dir, "missing.pem"), keyFile, nil); err == nil {
		t.Fatal("missing file accepted")
	}
}

type fakeConn struct {
	net.Conn
	remote net.Addr
}

func (c fakeConn) RemoteAddr() net.Addr { return c.remote }

func TestLoopbackFallback(t *testing.T) {
	fallback := &tls.Certificate{}
	errACME := errors.New("would ask the CA")
	get := LoopbackFallback(func(*tls.ClientHelloInfo) (*tls.Certificate, error) { return nil, errACME }, fallback)
	hello := func(name, remote string) *tls.ClientHelloInfo {
		a, _ := net.ResolveTCPAddr("tcp", remote)
		return &tls.ClientHelloInfo{ServerName: name, Conn: fakeConn{remote: a}}
	}
	for _, tc := range []struct {
		name, remote string
		fallback     bool
	}{
		{"", "127.0.0.1:5000", true},
		{"", "[::1]:5000", true},
		{"", "203.0.113.9:5000", false},               // no SNI from outside: the CA's manager refuses it
		{"talk.example.com", "127.0.0.1:5000", false}, // a name: always the real certificate
	} {
		c, err := get(hello(tc.name, tc.remote))
		if got := c == fallback && err == nil; got != tc.fallback {
			t.Errorf("%q from %s: fallback %v, want %v", tc.name, tc.remote, got, tc.fallback)
		}
	}
}

func TestACMEUsesTLSALPN(t *testing.T) {
	if _, err := ACME(ACMEConfig{}, nil); err == nil {
		t.Fatal("no domains accepted")
	}
	tc, err := ACME(ACMEConfig{Domains: []string{"talk.example.com"}, DirectoryURL: "https://acme.invalid/directory"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(tc.NextProtos, acme.ALPNProto) {
		t.Fatalf("NextProtos %q lack %s: TLS-ALPN-01 challenges would fail", tc.NextProtos, acme.ALPNProto)
	}
	if tc.MinVersion != MinVersion {
		t.Errorf("MinVersion %x", tc.MinVersion)
	}
	// A name outside the list is refused without asking the CA.
	_, err = tc.GetCertificate(&tls.ClientHelloInfo{ServerName: "other.example.com", Conn: fakeConn{remote: &net.TCPAddr{IP: net.IPv4(203, 0, 113, 9)}}})
	if err == nil || !bytes.Contains([]byte(err.Error()), []byte("not configured")) {
		t.Fatalf("other name: %v", err)
	}
}
