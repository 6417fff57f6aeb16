package main

// How the app's port is secured: TLS in one of three modes, or plain HTTP
// behind a trusted reverse proxy, or plain HTTP on loopback and nowhere
// else. And `sotto healthcheck`, which probes a server configured the same
// way (the container image has no shell or curl).

import (
	"context"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"io"
	stdlog "log"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"os"
	"regexp"
	"strings"
	"time"

	"sotto/termqr"
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

func (c config) mode() transportMode {
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
func (c *config) checkTransport() error {
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

// parsePrefixes splits a comma-separated list of CIDRs or single addresses.
func parsePrefixes(s string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p == "" {
			continue
		}
		if a, err := netip.ParseAddr(p); err == nil {
			a = a.Unmap()
			out = append(out, netip.PrefixFrom(a, a.BitLen()))
			continue
		}
		pfx, err := netip.ParsePrefix(p)
		if err != nil {
			return nil, fmt.Errorf("%q is neither an address nor a CIDR like 10.0.0.0/8", p)
		}
		if pfx.Addr().Is4In6() {
			pfx = netip.PrefixFrom(pfx.Addr().Unmap(), pfx.Bits()-96)
		}
		out = append(out, pfx.Masked())
	}
	return out, nil
}

// transport is the app port's security, made once at start.
type transport struct {
	mode        transportMode
	cfg         config
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

func newTransport(cfg config, log *slog.Logger) (*transport, error) {
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
func selfSignedHosts(cfg config) []string {
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

// proxyGuard serves a request from a trusted proxy only if the visitor
// reached the proxy over HTTPS (X-Forwarded-Proto), redirects one that did
// not, and refuses requests from any other peer but loopback, which would
// otherwise be served in the clear over the network. Health endpoints are
// open to every peer: orchestrators probe from their own addresses, and the
// answers carry nothing.
func (t *transport) proxyGuard(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/healthz" || r.URL.Path == "/readyz" {
			next.ServeHTTP(w, r)
			return
		}
		peer := peerAddr(r)
		if !t.proxies.trusts(peer) {
			if peer.IsLoopback() {
				next.ServeHTTP(w, r) // on this machine: nothing crosses a network
				return
			}
			http.Error(w, "This server is reached through its HTTPS proxy only.", http.StatusForbidden)
			return
		}
		switch forwardedProto(r) {
		case "https":
			w.Header().Set("Strict-Transport-Security", hstsValue)
			next.ServeHTTP(w, r)
		case "http":
			if (r.Method == http.MethodGet || r.Method == http.MethodHead) && r.URL.Path != "/ws" && r.Host != "" {
				http.Redirect(w, r, "https://"+r.Host+r.URL.RequestURI(), http.StatusPermanentRedirect)
				return
			}
			http.Error(w, "HTTPS only.", http.StatusForbidden)
		default:
			http.Error(w, "The proxy did not send X-Forwarded-Proto, so Sotto cannot tell that the visitor used HTTPS. "+
				"Configure the proxy to send it (README, Deploy).", http.StatusForbidden)
		}
	})
}

// forwardedProto is "https" if every X-Forwarded-Proto value says https,
// "http" if any says http, and "" if there is none.
func forwardedProto(r *http.Request) string {
	proto := ""
	for _, v := range r.Header.Values("X-Forwarded-Proto") {
		for _, p := range strings.Split(v, ",") {
			switch strings.ToLower(strings.TrimSpace(p)) {
			case "https":
				if proto == "" {
					proto = "https"
				}
			default:
				proto = "http"
			}
		}
	}
	return proto
}

// proxyTrust is the set of peers whose forwarded headers are believed.
type proxyTrust []netip.Prefix

func (p proxyTrust) trusts(a netip.Addr) bool {
	if !a.IsValid() {
		return false
	}
	a = a.Unmap().WithZone("")
	for _, pfx := range p {
		if pfx.Contains(a) {
			return true
		}
	}
	return false
}

// clientIP is the visitor's address: the TCP peer unless that is a trusted
// proxy, in which case X-Forwarded-For is read from the right (the hop the
// proxy itself appended) leftward past every trusted proxy. Entries further
// left were written by the client and are never believed.
func (p proxyTrust) clientIP(r *http.Request) netip.Addr {
	client := peerAddr(r)
	if !p.trusts(client) {
		return client
	}
	var hops []string
	for _, v := range r.Header.Values("X-Forwarded-For") {
		hops = append(hops, strings.Split(v, ",")...)
	}
	for i := len(hops) - 1; i >= 0; i-- {
		a, ok := parseHop(hops[i])
		if !ok {
			break // keep the last hop we could read
		}
		client = a
		if !p.trusts(a) {
			break
		}
	}
	return client
}

func parseHop(s string) (netip.Addr, bool) {
	s = strings.TrimSpace(s)
	if a, err := netip.ParseAddr(strings.Trim(s, "[]")); err == nil {
		return a.Unmap().WithZone(""), true
	}
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return ap.Addr().Unmap().WithZone(""), true
	}
	return netip.Addr{}, false
}

// peerAddr is the TCP peer of r.
func peerAddr(r *http.Request) netip.Addr {
	ap, err := netip.ParseAddrPort(r.RemoteAddr)
	if err != nil {
		return netip.Addr{}
	}
	return ap.Addr().Unmap()
}

// announce prints where to open the app. The plain-HTTP line keeps its old
// form; tests and tools parse it.
func (t *transport) announce(out io.Writer, addr net.Addr) {
	host, port, _ := net.SplitHostPort(addr.String())
	withPort := func(h string) string {
		if port == "443" {
			return "https://" + hostForURL(h) + "/"
		}
		return "https://" + net.JoinHostPort(h, port) + "/"
	}
	switch t.mode {
	case modeLoopbackHTTP:
		fmt.Fprintf(out, "Sotto is running. Open http://%s/ in a browser.\n", addr)
		return
	case modeProxy:
		fmt.Fprintf(out, "Sotto is running behind a reverse proxy, on http://%s/ for the proxy only. Open the proxy's https:// address in a browser.\n", addr)
		return
	case modeACME:
		fmt.Fprintf(out, "TLS certificates for %s come from %s (TLS-ALPN-01 on port 443); the first visit waits a few seconds for one.\n",
			strings.Join(t.cfg.acmeDomains, ", "), t.cfg.acmeDirectory)
		fmt.Fprintf(out, "Sotto is running. Open %s in a browser.\n", withPort(t.cfg.acmeDomains[0]))
		return
	case modeCertFiles:
		u := "https://" + addr.String() + "/"
		if ip, err := netip.ParseAddr(host); err == nil && ip.IsUnspecified() && len(t.certNames) > 0 && !strings.Contains(t.certNames[0], "*") {
			u = withPort(t.certNames[0]) // every interface: the name the certificate is for
		}
		fmt.Fprintf(out, "Sotto is running. Open %s in a browser.\n", u)
		return
	}
	// Self-signed: say how to check the certificate, where the LAN finds
	// the app, and show the address as a QR code for phones.
	fmt.Fprintf(out, "TLS: self-signed certificate made at start, SHA-256 fingerprint %s\n", t.fingerprint)
	fmt.Fprintln(out, "Browsers warn about it once per start; before accepting, check that the fingerprint they show is this one.")
	var urls []string
	ip, err := netip.ParseAddr(host)
	switch {
	case err == nil && !ip.IsUnspecified():
		urls = []string{"https://" + addr.String() + "/"}
	case len(t.cfg.publicAddrs) > 0:
		for _, a := range t.cfg.publicAddrs {
			urls = append(urls, withPort(a))
		}
	default:
		addrs, _ := tlsconf.InterfaceAddrs()
		for _, a := range addrs {
			urls = append(urls, withPort(a.String()))
		}
		if len(urls) == 0 {
			urls = []string{withPort("localhost")}
		}
	}
	for _, u := range urls[1:] {
		fmt.Fprintf(out, "Also on your network: %s\n", u)
	}
	if qr, err := termqr.Render(urls[0], isTerminal(out)); err == nil {
		fmt.Fprint(out, qr)
	}
	fmt.Fprintf(out, "Sotto is running. Open %s in a browser.\n", urls[0])
}

// isTerminal reports whether w is a character device (a terminal).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

func hostForURL(h string) string {
	if strings.Contains(h, ":") {
		return "[" + h + "]"
	}
	return h
}

// healthcheckMain is `sotto healthcheck [flags]`: exit 0 if the server the
// same flags and environment describe answers /readyz with 200, else 1
// (Docker reserves 2, so a bad configuration is 1 too).
func healthcheckMain(args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	cfg, err := parseConfig(args, getenv, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintln(stderr, "sotto healthcheck:", err)
		return 1
	}
	ctx, cancel := context.WithTimeout(context.Background(), healthcheckTimeout)
	defer cancel()
	if err := healthcheck(ctx, cfg); err != nil {
		fmt.Fprintln(stderr, "sotto healthcheck:", err)
		return 1
	}
	fmt.Fprintln(stdout, "ready")
	return 0
}

// healthcheck GETs /readyz from the server cfg describes.
func healthcheck(ctx context.Context, cfg config) error {
	target, tc, err := healthTarget(cfg)
	if err != nil {
		return err
	}
	client := &http.Client{
		Transport: &http.Transport{
			TLSClientConfig:   tc,
			Proxy:             nil, // never through an HTTP_PROXY from the environment
			DisableKeepAlives: true,
		},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
	if err != nil {
		return err
	}
	res, err := client.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	io.Copy(io.Discard, io.LimitReader(res.Body, healthcheckBodyLimit))
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", target, res.Status)
	}
	return nil
}

// healthTarget is the /readyz URL of the server cfg describes, dialed on
// loopback when it listens on every interface, and the TLS configuration to
// reach it with. Certificate checks are skipped on loopback (nothing
// crosses a network, and the certificate may be for a domain or made at the
// server's start) and for --self-signed anywhere (another process made the
// certificate); the probe sends nothing and believes only a status code.
func healthTarget(cfg config) (string, *tls.Config, error) {
	host, port, err := net.SplitHostPort(cfg.addr)
	if err != nil {
		return "", nil, fmt.Errorf("--addr: %w", err)
	}
	if port == "" || port == "0" {
		return "", nil, fmt.Errorf("--addr %q has no fixed port to probe", cfg.addr)
	}
	// Every interface, or "localhost" (a name would be sent as the TLS
	// server name, which an ACME server refuses): the IPv4 loopback.
	if a, err := netip.ParseAddr(host); host == "" || strings.EqualFold(host, "localhost") || (err == nil && a.IsUnspecified()) {
		host = "127.0.0.1"
	}
	hostport := net.JoinHostPort(host, port)
	mode := cfg.mode()
	if !mode.tls() {
		return "http://" + hostport + "/readyz", nil, nil
	}
	tc := tlsconf.Base()
	switch {
	case isLoopbackHost(host) || mode == modeSelfSigned:
		tc.InsecureSkipVerify = true
	case mode == modeACME:
		tc.ServerName = cfg.acmeDomains[0]
	}
	return "https://" + hostport + "/readyz", tc, nil
}

// peerRE matches an IPv4 or bracketed IPv6 address with a port, as
// net/http writes a client's address into its error lines.
var peerRE = regexp.MustCompile(`(?:\d{1,3}\.){3}\d{1,3}:\d+|\[[0-9A-Za-z:.%_-]+\]:\d+`)

// httpErrorLog is the http.Server's error log. net/http's lines hold the
// client's address and, often, what the client sent: a TLS handshake error
// quotes the ALPN protocols it asked for or (ACME) the server name, a panic
// the handler's value. Sotto's logs hold neither (docs/security.md), so a
// line is logged as a fixed text chosen by what net/http's line starts with
// (httpErrorLine), never as net/http wrote it. Failed TLS handshakes
// (scanners; browsers refusing a self-signed certificate) go to debug level,
// where they cannot flood the log.
func httpErrorLog(log *slog.Logger) *stdlog.Logger {
	return stdlog.New(httpErrorWriter{log}, "", 0)
}

type httpErrorWriter struct{ log *slog.Logger }

func (w httpErrorWriter) Write(p []byte) (int, error) {
	level, msg, attrs := httpErrorLine(string(p))
	w.log.Log(context.Background(), level, msg, attrs...)
	return len(p), nil
}

// tlsFailures name the reasons of a failed TLS handshake an operator may
// care about, by a fragment of Go's error text; the first that matches is
// logged, never the error itself.
var tlsFailures = []struct{ fragment, reason string }{
	{"application protocol", "the client asked only for ALPN protocols the server does not speak"},
	{"acme/autocert", "no certificate for the server name the client asked for"},
	{"server name", "no certificate for the server name the client asked for"},
	{"does not look like a TLS handshake", "not TLS"},
	{"certificate", "the client refused the certificate"},
	{"cipher", "no cipher suite in common"},
	{"version", "no TLS version in common"},
	{"timeout", "the client was too slow"},
	{"EOF", "the client went away"},
	{"reset by peer", "the client went away"},
}

// httpErrorLine turns one of net/http's error lines into a level, a fixed
// message and attributes holding nothing a client chose.
func httpErrorLine(line string) (slog.Level, string, []any) {
	switch {
	case strings.HasPrefix(line, "http: TLS handshake error"):
		reason := "other"
		for _, f := range tlsFailures {
			if strings.Contains(line, f.fragment) {
				reason = f.reason
				break
			}
		}
		return slog.LevelDebug, "TLS handshake failed", []any{"reason", reason}
	case strings.HasPrefix(line, "http: Accept error"):
		// From the listener (the OS, our own listeners): no client bytes.
		return slog.LevelWarn, strings.TrimSpace(peerRE.ReplaceAllString(line, "a client")), nil
	case strings.HasPrefix(line, "http: panic serving"):
		// "http: panic serving ADDR: VALUE\nSTACK": the value may hold
		// client input, the stack (function names, offsets) does not.
		var attrs []any
		if _, stack, ok := strings.Cut(line, "\n"); ok {
			attrs = []any{"stack", stack}
		}
		return slog.LevelError, "http: panic serving a request (its value withheld)", attrs
	default:
		return slog.LevelWarn, "http: server error (text withheld: it may hold client input)", nil
	}
}
