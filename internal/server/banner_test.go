package server

import (
	"net"
	"strings"
	"testing"
)

// The banner names the URL to open in each transport mode: the form tests
// and tools parse for plain HTTP, the certificate's or the ACME domain's
// name on every interface, a bracketed IPv6 host, no port for 443.
func TestAnnounce(t *testing.T) {
	tcp := func(ip string, port int) net.Addr { return &net.TCPAddr{IP: net.ParseIP(ip), Port: port} }
	for _, tc := range []struct {
		name string
		tr   transport
		addr net.Addr
		want []string // lines the banner must hold
	}{
		{"loopback HTTP", transport{mode: modeLoopbackHTTP}, tcp("127.0.0.1", 8080),
			[]string{"Sotto is running. Open http://127.0.0.1:8080/ in a browser."}},
		{"behind a proxy", transport{mode: modeProxy}, tcp("0.0.0.0", 8080),
			[]string{"behind a reverse proxy, on http://0.0.0.0:8080/ for the proxy only"}},
		{"ACME on 443", transport{mode: modeACME, cfg: Config{acmeDomains: []string{"talk.example.com", "b.example.com"}, acmeDirectory: "https://ca.example/dir"}}, tcp("::", 443),
			[]string{"TLS certificates for talk.example.com, b.example.com come from https://ca.example/dir", "Open https://talk.example.com/ in a browser."}},
		{"ACME on another port", transport{mode: modeACME, cfg: Config{acmeDomains: []string{"talk.example.com"}, acmeDirectory: "https://ca.example/dir"}}, tcp("::", 8443),
			[]string{"Open https://talk.example.com:8443/ in a browser."}},
		{"certificate files, every interface", transport{mode: modeCertFiles, certNames: []string{"talk.example.com"}}, tcp("0.0.0.0", 8443),
			[]string{"Open https://talk.example.com:8443/ in a browser."}},
		{"certificate files, wildcard name", transport{mode: modeCertFiles, certNames: []string{"*.example.com"}}, tcp("0.0.0.0", 8443),
			[]string{"Open https://0.0.0.0:8443/ in a browser."}},
		{"certificate files, one address", transport{mode: modeCertFiles, certNames: []string{"talk.example.com"}}, tcp("192.0.2.1", 8443),
			[]string{"Open https://192.0.2.1:8443/ in a browser."}},
		{"self-signed, one address", transport{mode: modeSelfSigned, fingerprint: "AB:CD"}, tcp("127.0.0.1", 8443),
			[]string{"SHA-256 fingerprint AB:CD", "Open https://127.0.0.1:8443/ in a browser."}},
		{"self-signed, public addresses", transport{mode: modeSelfSigned, fingerprint: "AB:CD", cfg: Config{publicAddrs: []string{"2001:db8::7", "talk.lan"}}}, tcp("::", 443),
			[]string{"Also on your network: https://talk.lan/", "Open https://[2001:db8::7]/ in a browser."}},
	} {
		var out strings.Builder
		tc.tr.announce(&out, tc.addr)
		for _, w := range tc.want {
			if !strings.Contains(out.String(), w) {
				t.Errorf("%s: the banner lacks %q:\n%s", tc.name, w, out.String())
			}
		}
		if qr := strings.Contains(out.String(), "█"); qr != (tc.tr.mode == modeSelfSigned) {
			t.Errorf("%s: QR code shown %v, want it for the LAN mode only:\n%s", tc.name, qr, out.String())
		}
	}
}

func TestAddrList(t *testing.T) {
	got := addrList([]net.Addr{&net.UDPAddr{IP: net.ParseIP("127.0.0.1"), Port: 1}, &net.UDPAddr{IP: net.ParseIP("::1"), Port: 2}})
	if got != "127.0.0.1:1, [::1]:2" {
		t.Errorf("addrList = %q", got)
	}
}
