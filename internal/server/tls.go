package server

// How the app's port is secured: TLS in one of three modes, or plain HTTP
// behind a trusted reverse proxy (proxy.go), or plain HTTP on loopback and
// nowhere else. The mode comes from the flags; the TLS configuration is built
// once at start.

import (
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"os"
	"strings"
	"time"

	"sotto/tlsconf"
)

const (
	// hstsMaxAge is how long a browser that saw the app over TLS refuses
	// plain HTTP to it: two years, as hstspreload.org asks. No
	// includeSubDomains: the operator's other sites are not ours to bind.
	hstsMaxAge = 2 * 365 * 24 * time.Hour
	// healthcheckTimeout bounds one `sotto healthcheck` (Docker's default
	// HEALTHCHECK timeout is 30 s; ours answers in milliseconds).
	healthcheckTimeout = 5 * time.Second
	// healthcheckBodyLimit is how much of a /readyz answer is read.
	healthcheckBodyLimit = 4 << 10
	// acmeChallengePort is where a CA connects for TLS-ALPN-01.
	acmeChallengePort = "443"
)

var hstsValue = fmt.Sprintf("max-age=%d", int64(hstsMaxAge/time.Second))

// transportMode is how the app's port is secured.
type transportMode int

const (
	modeLoopbackHTTP transportMode = iota // plain HTTP, loopback only
	modeProxy                             // plain HTTP from a reverse proxy that terminates TLS
	modeCertFiles                         // --tls-cert/--tls-key
	modeACME                              // --acme-domain
	modeSelfSigned                        // --self-signed
)

func (c Config) mode() transportMode {
	switch {
	case c.tlsCert != "" || c.tlsKey != "":
		return modeCertFiles
	case len(c.acmeDomains) > 0:
		return modeACME
	case c.selfSigned:
		return modeSelfSigned
	case c.behindProxy:
		return modeProxy
	}
	return modeLoopbackHTTP
}

func (m transportMode) tls() bool { return m >= modeCertFiles }

// errPlainHTTP is what an operator sees who asks for plain HTTP on an
// address other machines can reach.
func errPlainHTTP(addr string) error {
	return fmt.Errorf(`refusing to serve plain HTTP on %q, which other machines can reach:
voice rooms are served encrypted or not at all. Choose one:
  --acme-domain talk.example.com  a server with a domain: automatic certificates (Let's Encrypt, port 443)
  --tls-cert FILE --tls-key FILE  a certificate you already have
  --self-signed                   a LAN: a certificate made at start (browsers warn; compare the fingerprint)
  --behind-proxy --trusted-proxy CIDR
                                  a reverse proxy in front of Sotto terminates TLS
or listen on loopback only, e.g. --addr 127.0.0.1:8080 (each has a SOTTO_* variable; see --help)`, addr)
}

// checkTransport rejects contradictory transport flags, and plain HTTP on an
// address that is not loopback.
func (c *Config) checkTransport() error {
	if (c.tlsCert == "") != (c.tlsKey == "") {
		return errors.New("--tls-cert and --tls-key go together")
	}
	n := 0
	for _, on := range []bool{c.tlsCert != "", len(c.acmeDomains) > 0, c.selfSigned} {
		if on {
			n++
		}
	}
	switch {
	case n > 1:
		return errors.New("choose one of --tls-cert/--tls-key, --acme-domain and --self-signed")
	case c.behindProxy && n > 0:
		return errors.New("--behind-proxy means the proxy terminates TLS; it does not go with --tls-cert, --acme-domain or --self-signed")
	case c.behindProxy && len(c.trustedProxies) == 0:
		return errors.New("--behind-proxy needs --trusted-proxy: the proxy's addresses, the only peers whose X-Forwarded-For and X-Forwarded-Proto are believed")
	case !c.behindProxy && len(c.trustedProxies) > 0:
		return errors.New("--trusted-proxy has an effect only with --behind-proxy")
	case c.acmeCache != "" && len(c.acmeDomains) == 0:
		return errors.New("--acme-cache needs --acme-domain")
	}
	if len(c.acmeDomains) > 0 {
		if u, err := url.Parse(c.acmeDirectory); err != nil || u.Scheme != "https" || u.Host == "" {
			return fmt.Errorf("--acme-directory: %q is not an https:// URL", c.acmeDirectory)
		}
	}
	host, _, err := net.SplitHostPort(c.addr)
	if err != nil {
		return fmt.Errorf("--addr: %w", err)
	}
	if c.mode() == modeLoopbackHTTP && !isLoopbackHost(host) {
		return errPlainHTTP(c.addr)
	}
	return nil
}

// isLoopbackHost reports whether a listen or dial host is loopback only:
// "localhost" or a loopback IP. An empty host means every interface.
func isLoopbackHost(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	a, err := netip.ParseAddr(host)
	return err == nil && a.Unmap().IsLoopback()
}

// parseDomains splits a comma-separated list of domain names, which must be

// bare names: no scheme, port or path.
func parseDomains(s string) ([]string, error) {
	var out []string
	for _, d := range strings.Split(s, ",") {
		d = strings.ToLower(strings.TrimSuffix(strings.TrimSpace(d), "."))
		if d == "" {
			continue
		}
		if strings.ContainsAny(d, ":/ @") || !strings.Contains(d, ".") {
			return nil, fmt.Errorf("%q is not a domain name like talk.example.com", d)
		}
		if _, err := netip.ParseAddr(d); err == nil {
			return nil, fmt.Errorf("%q is an IP address; certificates are issued for domain names", d)
		}
		out = append(out, d)
	}
	return out, nil
}

// transport is the app port's security, made once at start.
type transport struct {
	mode        transportMode
	cfg         Config
	tls         *tls.Config // nil for plain HTTP
	proxies     proxyTrust
	fingerprint string   // self-signed: SHA-256 of the certificate
	certNames   []string // certificate files: the DNS names in the certificate
	// clientIP is signal's Config.ClientIP: the forwarded client address
	// behind a trusted proxy, nil otherwise.
	clientIP func(*http.Request) netip.Addr
}

// loopbackNames are in every certificate Sotto makes, so that a probe on
// the same machine (healthcheck) can always connect.
var loopbackNames = []string{"localhost", "127.0.0.1", "::1"}

func newTransport(cfg Config, log *slog.Logger) (*transport, error) {
	t := &transport{mode: cfg.mode(), cfg: cfg, proxies: cfg.trustedProxies}
	switch t.mode {
	case modeProxy:
		t.clientIP = t.proxies.clientIP
	case modeCertFiles:
		fc, err := tlsconf.LoadFileCert(cfg.tlsCert, cfg.tlsKey, func(err error) {
			log.Error("TLS certificate files", "err", err)
		})
		if err != nil {
			return nil, fmt.Errorf("--tls-cert/--tls-key: %w", err)
		}
		if leaf := fc.Certificate().Leaf; leaf != nil {
			t.certNames = leaf.DNSNames
		}
		t.tls = tlsconf.Base()
		t.tls.GetCertificate = fc.GetCertificate
	case modeACME:
		probe, err := tlsconf.SelfSigned(loopbackNames, time.Now())
		if err != nil {
			return nil, err
		}
		t.tls, err = tlsconf.ACME(tlsconf.ACMEConfig{Domains: cfg.acmeDomains, CacheDir: cfg.acmeCache, DirectoryURL: cfg.acmeDirectory}, &probe)
		if err != nil {
			return nil, err
		}
		if _, port, _ := net.SplitHostPort(cfg.addr); port != acmeChallengePort {
			log.Warn("ACME: the CA checks the domain on TCP port 443 (TLS-ALPN-01); make sure that port reaches this one", "port", port)
		}
		if cfg.acmeCache == "" {
			log.Warn("ACME: no --acme-cache, so certificates are kept in memory only and asked for again at every start; the CA allows that only a few times a week")
		}
	case modeSelfSigned:
		cert, err := tlsconf.SelfSigned(selfSignedHosts(cfg), time.Now())
		if err != nil {
			return nil, err
		}
		t.fingerprint = tlsconf.Fingerprint(cert.Certificate[0])
		t.tls = tlsconf.Base()
		t.tls.Certificates = []tls.Certificate{cert}
	}
	return t, nil
}

// selfSignedHosts are the names a self-signed certificate carries: loopback,
// the host name (and its mDNS .local form), the listen address if it names
// one, every non-loopback interface address, and the public addresses.
func selfSignedHosts(cfg Config) []string {
	hosts := append([]string(nil), loopbackNames...)
	if h, err := os.Hostname(); err == nil && h != "" {
		hosts = append(hosts, h)
		if !strings.Contains(h, ".") {
			hosts = append(hosts, h+".local")
		}
	}
	if h, _, err := net.SplitHostPort(cfg.addr); err == nil && h != "" {
		hosts = append(hosts, h)
	}
	if addrs, err := tlsconf.InterfaceAddrs(); err == nil {
		for _, a := range addrs {
			hosts = append(hosts, a.String())
		}
	}
	return append(hosts, cfg.publicAddrs...)
}

// guard wraps the app: HSTS on TLS; behind a proxy, the proxy rules.
func (t *transport) guard(next http.Handler) http.Handler {
	switch {
	case t.mode == modeProxy:
		return t.proxyGuard(next)
	case t.mode.tls():
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.TLS != nil {
				w.Header().Set("Strict-Transport-Security", hstsValue)
			}
			next.ServeHTTP(w, r)
		})
	}
	return next
}
