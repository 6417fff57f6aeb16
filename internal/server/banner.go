package server

// The start-up banner: where to open the app in each transport mode, the
// self-signed certificate's fingerprint, and the LAN address as a QR code.

import (
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"strings"

	"sotto/termqr"
	"sotto/tlsconf"
)

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

func addrList(addrs []net.Addr) string {
	s := make([]string, len(addrs))
	for i, a := range addrs {
		s[i] = a.String()
	}
	return strings.Join(s, ", ")
}
