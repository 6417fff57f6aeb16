package server

// Behind a reverse proxy that terminates TLS: which peers are believed
// (--trusted-proxy), what X-Forwarded-For and X-Forwarded-Proto then say, and
// the guard that serves only what reached the proxy over HTTPS.

import (
	"fmt"
	"net/http"
	"net/netip"
	"strings"
)

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
