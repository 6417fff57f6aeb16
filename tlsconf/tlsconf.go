// Package tlsconf makes the TLS configurations Sotto serves with: a
// certificate made in memory for a LAN, an operator's certificate files
// (re-read when they change), and automatic certificates from an ACME CA.
//
// Nothing here writes to disk except autocert's cache, and only in the
// directory the operator names.
package tlsconf

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"math/big"
	"net"
	"net/netip"
	"os"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/acme"
	"golang.org/x/crypto/acme/autocert"
)

const (
	// MinVersion is the oldest TLS version served. Every browser that can
	// run the app (WebRTC encoded transforms) speaks TLS 1.3; 1.2 stays for
	// proxies and health probes.
	MinVersion = tls.VersionTLS12

	// SelfSignedValidity is how long a certificate made at start is valid.
	// It is made anew at every start, so this only has to outlast one run;
	// 397 days is the most any browser accepts for a server certificate.
	SelfSignedValidity = 397 * 24 * time.Hour
	// selfSignedBackdate covers clocks a little behind the server's.
	selfSignedBackdate = time.Hour
	// serialBits is the size of a random certificate serial number.
	serialBits = 128

	// ReloadCheckInterval is how often, at most, certificate files are
	// checked for a change (on a TLS handshake, never in the background).
	ReloadCheckInterval = time.Minute
)

// DefaultACMEDirectory is Let's Encrypt's production directory.
const DefaultACMEDirectory = autocert.DefaultACMEDirectory

// Base is the configuration every TLS mode starts from.
func Base() *tls.Config {
	return &tls.Config{MinVersion: MinVersion}
}

// Fingerprint is the SHA-256 of a DER certificate as browsers show it:
// upper-case hex bytes separated by colons.
func Fingerprint(der []byte) string {
	sum := sha256.Sum256(der)
	parts := make([]string, len(sum))
	for i, b := range sum {
		parts[i] = fmt.Sprintf("%02X", b)
	}
	return strings.Join(parts, ":")
}

// SelfSigned makes an ECDSA P-256 certificate, signed by its own key, for
// hosts: IP addresses become IP SANs, anything else DNS SANs. The key never
// leaves memory.
func SelfSigned(hosts []string, now time.Time) (tls.Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), serialBits))
	if err != nil {
		return tls.Certificate{}, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{Organization: []string{"Sotto"}, CommonName: "Sotto (self-signed at start)"},
		NotBefore:             now.Add(-selfSignedBackdate),
		NotAfter:              now.Add(SelfSignedValidity),
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
	}
	seen := map[string]bool{}
	for _, h := range hosts {
		h = strings.TrimSuffix(strings.Trim(h, "[]"), ".")
		if h == "" || seen[strings.ToLower(h)] {
			continue
		}
		seen[strings.ToLower(h)] = true
		if a, err := netip.ParseAddr(h); err == nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, net.IP(a.WithZone("").AsSlice()))
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, h)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return tls.Certificate{}, err
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return tls.Certificate{}, err
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, nil
}

// InterfaceAddrs returns the addresses of this machine's interfaces that are
// up, other than loopback and link-local ones (a browser cannot use a
// link-local address without a zone, and a certificate cannot name one).
// IPv4 addresses come first.
func InterfaceAddrs() ([]netip.Addr, error) {
	ifaces, err := net.Interfaces()
	if err != nil {
		return nil, err
	}
	var v4, v6 []netip.Addr
	for _, iface := range ifaces {
		if iface.Flags&net.FlagUp == 0 || iface.Flags&net.FlagLoopback != 0 {
			continue
		}
		addrs, err := iface.Addrs()
		if err != nil {
			continue
		}
		for _, a := range addrs {
			ipn, ok := a.(*net.IPNet)
			if !ok {
				continue
			}
			ip, ok := netip.AddrFromSlice(ipn.IP)
			if !ok {
				continue
			}
			ip = ip.Unmap()
			if ip.IsLoopback() || ip.IsLinkLocalUnicast() || ip.IsUnspecified() || ip.IsMulticast() {
				continue
			}
			if ip.Is4() {
				v4 = append(v4, ip)
			} else {
				v6 = append(v6, ip)
			}
		}
	}
	return append(v4, v6...), nil
}

// FileCert serves a certificate and key from PEM files and re-reads them when
// they change, so a renewal (certbot, cert-manager) needs no restart. Changes
// are looked for on a handshake at most once per ReloadCheckInterval; a pair
// that fails to load (half written, key and certificate from different
// renewals) keeps the previous one in service and is reported to onError.
type FileCert struct {
	certFile, keyFile string
	onError           func(error)
	interval          time.Duration

	mu        sync.Mutex
	cert      *tls.Certificate
	stamp     string // modification times and sizes of the loaded pair
	lastCheck time.Time
}

// LoadFileCert loads the pair once and returns a FileCert serving it.
// onError may be nil.
func LoadFileCert(certFile, keyFile string, onError func(error)) (*FileCert, error) {
	f := &FileCert{certFile: certFile, keyFile: keyFile, onError: onError, interval: ReloadCheckInterval}
	stamp, err := f.stat()
	if err != nil {
		return nil, err
	}
	if err := f.load(stamp); err != nil {
		return nil, err
	}
	f.lastCheck = time.Now()
	return f, nil
}

func (f *FileCert) stat() (string, error) {
	var b strings.Builder
	for _, name := range []string{f.certFile, f.keyFile} {
		fi, err := os.Stat(name)
		if err != nil {
			return "", err
		}
		fmt.Fprintf(&b, "%d/%d;", fi.ModTime().UnixNano(), fi.Size())
	}
	return b.String(), nil
}

// load reads the pair; the caller holds mu or has the only reference.
func (f *FileCert) load(stamp string) error {
	c, err := tls.LoadX509KeyPair(f.certFile, f.keyFile)
	if err != nil {
		return err
	}
	f.cert, f.stamp = &c, stamp
	return nil
}

// Certificate is the pair in service.
func (f *FileCert) Certificate() *tls.Certificate {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.cert
}

// GetCertificate is for tls.Config.GetCertificate.
func (f *FileCert) GetCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if now := time.Now(); now.Sub(f.lastCheck) >= f.interval {
		f.lastCheck = now
		stamp, err := f.stat()
		if err == nil && stamp != f.stamp {
			err = f.load(stamp)
		}
		if err != nil && f.onError != nil {
			f.onError(fmt.Errorf("keeping the certificate in service: %w", err))
		}
	}
	return f.cert, nil
}

// ACMEConfig says which names to get certificates for and where from.
type ACMEConfig struct {
	Domains []string
	// CacheDir, if not empty, keeps account key and certificates across
	// restarts. Empty: memory only, so every start asks the CA anew, which
	// its rate limits allow only a few times a week.
	CacheDir string
	// DirectoryURL is the CA's ACME directory; empty means Let's Encrypt.
	DirectoryURL string
}

// ACME returns a TLS configuration that gets and renews certificates for
// cfg.Domains by the TLS-ALPN-01 challenge, which the CA makes on port 443
// of the domain itself: no port 80 is needed. A handshake from a loopback
// peer without a server name (a health probe dialing 127.0.0.1) is answered
// with loopback, so that probes never make the CA issue anything.
func ACME(cfg ACMEConfig, loopback *tls.Certificate) (*tls.Config, error) {
	if len(cfg.Domains) == 0 {
		return nil, errors.New("no domain to get a certificate for")
	}
	m := &autocert.Manager{
		Prompt:     autocert.AcceptTOS,
		HostPolicy: autocert.HostWhitelist(cfg.Domains...),
	}
	if cfg.CacheDir != "" {
		m.Cache = autocert.DirCache(cfg.CacheDir)
	}
	if cfg.DirectoryURL != "" {
		m.Client = &acme.Client{DirectoryURL: cfg.DirectoryURL}
	}
	tc := m.TLSConfig()
	tc.MinVersion = MinVersion
	tc.GetCertificate = LoopbackFallback(m.GetCertificate, loopback)
	return tc, nil
}

// LoopbackFallback answers a ClientHello that names no server and comes from
// a loopback address with fallback, and every other one with get.
func LoopbackFallback(get func(*tls.ClientHelloInfo) (*tls.Certificate, error), fallback *tls.Certificate) func(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	return func(hello *tls.ClientHelloInfo) (*tls.Certificate, error) {
		if hello.ServerName == "" && fallback != nil && hello.Conn != nil && IsLoopbackAddr(hello.Conn.RemoteAddr()) {
			return fallback, nil
		}
		return get(hello)
	}
}

// IsLoopbackAddr reports whether a network address is a loopback IP.
func IsLoopbackAddr(a net.Addr) bool {
	if a == nil {
		return false
	}
	ap, err := netip.ParseAddrPort(a.String())
	return err == nil && ap.Addr().Unmap().IsLoopback()
}
