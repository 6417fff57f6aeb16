package server

import (
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
)

// FuzzForwardedHeaders feeds arbitrary peers and X-Forwarded-For and
// X-Forwarded-Proto values (several header lines each, split at '\n') to
// the trusted-proxy code: the client address that the per-address
// connection cap counts against, the HTTPS check, and the guard around the
// app. None may panic. The client address is the TCP peer unless the peer
// is a trusted proxy, and otherwise a hop of the header, never a value the
// header does not hold; a forwarded address is believed only through
// trusted proxies (the hop right of it must be trusted); "https" only when
// every value says https; and the guard answers with one of its statuses.
// Seeds are in testdata/fuzz/FuzzForwardedHeaders.
func FuzzForwardedHeaders(f *testing.F) {
	trust := proxyTrust{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("2001:db8:f::/48"),
		netip.MustParsePrefix("127.0.0.1/32")}
	tr := &transport{mode: modeProxy, proxies: trust}
	tr.clientIP = trust.clientIP
	guard := tr.guard(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusTeapot) }))
	f.Fuzz(func(t *testing.T, peer, xff, xfp, path string) {
		r := httptest.NewRequest(http.MethodGet, "http://sotto.example/", nil)
		r.RemoteAddr = peer
		if path != "" && path[0] == '/' && !strings.ContainsAny(path, " \r\n\x00?#") {
			r.URL.Path = path
		}
		for _, v := range strings.Split(xff, "\n") {
			r.Header.Add("X-Forwarded-For", v)
		}
		for _, v := range strings.Split(xfp, "\n") {
			r.Header.Add("X-Forwarded-Proto", v)
		}

		got := trust.clientIP(r)
		p := peerAddr(r)
		if !trust.trusts(p) {
			if got != p {
				t.Fatalf("untrusted peer %v, but the client is %v", p, got)
			}
		} else {
			// Right to left: every hop up to the answer is trusted.
			var hops []netip.Addr
			for _, v := range r.Header.Values("X-Forwarded-For") {
				for _, h := range strings.Split(v, ",") {
					a, ok := parseHop(h)
					hops = append(hops, a)
					if !ok {
						hops[len(hops)-1] = netip.Addr{}
					}
				}
			}
			if got != p {
				i := len(hops) - 1
				for ; i >= 0 && hops[i] != got; i-- {
					if !hops[i].IsValid() || !trust.trusts(hops[i]) {
						t.Fatalf("client %v believed past untrusted or unreadable hop %d of %v", got, i, hops)
					}
				}
				if i < 0 {
					t.Fatalf("client %v is in neither the peer %v nor the header %v", got, p, hops)
				}
			}
			if got.IsValid() && (got.Is4In6() || got.Zone() != "") {
				t.Fatalf("client %v not in canonical form", got)
			}
		}

		switch proto := forwardedProto(r); proto {
		case "":
			if len(r.Header.Values("X-Forwarded-Proto")) > 0 {
				t.Fatalf("values %q but no protocol", r.Header.Values("X-Forwarded-Proto"))
			}
		case "https":
			for _, v := range r.Header.Values("X-Forwarded-Proto") {
				for _, s := range strings.Split(v, ",") {
					if !strings.EqualFold(strings.TrimSpace(s), "https") {
						t.Fatalf("https despite %q", s)
					}
				}
			}
		case "http":
		default:
			t.Fatalf("protocol %q", proto)
		}

		w := httptest.NewRecorder()
		guard.ServeHTTP(w, r)
		switch w.Code {
		case http.StatusTeapot, http.StatusForbidden, http.StatusPermanentRedirect:
		default:
			t.Fatalf("guard answered %d", w.Code)
		}
		if w.Code == http.StatusTeapot && trust.trusts(p) && forwardedProto(r) != "https" && r.URL.Path != "/healthz" && r.URL.Path != "/readyz" {
			t.Fatal("served a proxied request that did not come over HTTPS")
		}
		if loc := w.Header().Get("Location"); loc != "" && !strings.HasPrefix(loc, "https://") {
			t.Fatalf("redirect to %q", loc)
		}
	})
}
