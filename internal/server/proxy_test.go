package server

import (
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"testing"
)

// proxyRequest is a request from peer with the given forwarded headers.
func proxyRequest(peer, path string, hdr map[string]string) *http.Request {
	r := httptest.NewRequest("GET", "http://talk.example.com"+path, nil)
	r.RemoteAddr = peer
	for k, v := range hdr {
		r.Header.Set(k, v)
	}
	return r
}

func TestProxyClientIP(t *testing.T) {
	trust := proxyTrust{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("2001:db8:f::/48")}
	for _, tc := range []struct {
		peer, xff, want string
	}{
		{"203.0.113.5:4000", "", "203.0.113.5"},                         // not through a proxy
		{"203.0.113.5:4000", "198.51.100.1", "203.0.113.5"},             // untrusted peer: its header is ignored
		{"10.0.0.2:4000", "198.51.100.1", "198.51.100.1"},               // the proxy's word
		{"10.0.0.2:4000", "6.6.6.6, 198.51.100.1", "198.51.100.1"},      // the client's own entry is left of the proxy's
		{"10.0.0.2:4000", "198.51.100.1, 10.9.9.9", "198.51.100.1"},     // two trusted proxies
		{"10.0.0.2:4000", "10.1.1.1, 10.9.9.9", "10.1.1.1"},             // all trusted: the leftmost
		{"10.0.0.2:4000", "garbage, 198.51.100.1", "198.51.100.1"},      // garbage left of the client is never read
		{"10.0.0.2:4000", "198.51.100.1, garbage", "10.0.0.2"},          // unreadable hop: the last readable one
		{"10.0.0.2:4000", "", "10.0.0.2"},                               // no header: the proxy itself
		{"[::ffff:10.0.0.2]:4000", "[2001:db8::1]:5555", "2001:db8::1"}, // mapped peer, hop with a port
		{"[2001:db8:f::1]:4000", "::ffff:198.51.100.1", "198.51.100.1"},
	} {
		r := proxyRequest(tc.peer, "/ws", map[string]string{"X-Forwarded-For": tc.xff})
		if got := trust.clientIP(r); got.String() != tc.want {
			t.Errorf("peer %s, X-Forwarded-For %q: client %s, want %s", tc.peer, tc.xff, got, tc.want)
		}
	}
	r := proxyRequest("10.0.0.2:4000", "/ws", nil)
	r.Header.Add("X-Forwarded-For", "198.51.100.1")
	r.Header.Add("X-Forwarded-For", "198.51.100.2") // a second header line is a later hop
	if got := trust.clientIP(r); got.String() != "198.51.100.2" {
		t.Errorf("two header lines: %s", got)
	}
}

func TestProxyGuard(t *testing.T) {
	tr := &transport{mode: modeProxy, proxies: proxyTrust{netip.MustParsePrefix("10.0.0.0/8")}}
	h := tr.guard(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "app") }))
	for _, tc := range []struct {
		name, peer, path string
		hdr              map[string]string
		code             int
		hsts             bool
		location         string
	}{
		{"trusted proxy, visitor on https", "10.0.0.2:1", "/", map[string]string{"X-Forwarded-Proto": "https"}, 200, true, ""},
		{"trusted proxy, visitor on http", "10.0.0.2:1", "/room?x=1", map[string]string{"X-Forwarded-Proto": "http"}, 308, false, "https://talk.example.com/room?x=1"},
		{"WebSocket over http", "10.0.0.2:1", "/ws", map[string]string{"X-Forwarded-Proto": "http"}, 403, false, ""},
		{"a chain that was http somewhere", "10.0.0.2:1", "/", map[string]string{"X-Forwarded-Proto": "https, http"}, 308, false, "https://talk.example.com/"},
		{"proxy sends no X-Forwarded-Proto", "10.0.0.2:1", "/", nil, 403, false, ""},
		{"direct from the network", "203.0.113.5:1", "/", map[string]string{"X-Forwarded-Proto": "https"}, 403, false, ""},
		{"direct, health probe", "203.0.113.5:1", "/readyz", nil, 200, false, ""},
		{"direct, liveness probe", "203.0.113.5:1", "/healthz", nil, 200, false, ""},
		{"loopback on this machine", "127.0.0.1:1", "/", nil, 200, false, ""},
	} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, proxyRequest(tc.peer, tc.path, tc.hdr))
		if rec.Code != tc.code {
			t.Errorf("%s: HTTP %d, want %d (%s)", tc.name, rec.Code, tc.code, rec.Body)
		}
		if got := rec.Header().Get("Strict-Transport-Security") != ""; got != tc.hsts {
			t.Errorf("%s: HSTS %v, want %v", tc.name, got, tc.hsts)
		}
		if got := rec.Header().Get("Location"); got != tc.location {
			t.Errorf("%s: Location %q, want %q", tc.name, got, tc.location)
		}
	}
}
