package signal

import (
	"net/http"
	"net/netip"
	"testing"

	"sotto/room"
)

// TestClientIPHook checks that Config.ClientIP decides which address a
// connection counts against (main uses it for the client address a trusted
// proxy forwards), and that an invalid answer falls back to the TCP peer.
func TestClientIPHook(t *testing.T) {
	const header = "X-Test-Client"
	ts := startServer(t, Config{
		MaxConnsPerIP: 1,
		ClientIP: func(r *http.Request) netip.Addr {
			a, _ := netip.ParseAddr(r.Header.Get(header)) // invalid when absent
			return a
		},
	}, room.Config{})
	dial := func(client string) int {
		t.Helper()
		hdr := http.Header{}
		if client != "" {
			hdr.Set(header, client)
		}
		ws, resp, err := dialOpts(t, ts.url, hdr, Subprotocol)
		if err != nil {
			if resp == nil {
				t.Fatalf("dial as %q: %v", client, err)
			}
			return resp.StatusCode
		}
		t.Cleanup(func() { ws.Close() })
		return http.StatusSwitchingProtocols
	}
	// Over one TCP peer (127.0.0.1), three clients by the hook's word.
	for _, c := range []string{"192.0.2.1", "192.0.2.2", "2001:db8:1:2::1"} {
		if got := dial(c); got != http.StatusSwitchingProtocols {
			t.Fatalf("first connection of %s: HTTP %d", c, got)
		}
	}
	for _, c := range []string{"192.0.2.1", "::ffff:192.0.2.2", "2001:db8:1:2::99"} { // the same keys again
		if got := dial(c); got != http.StatusTooManyRequests {
			t.Fatalf("second connection of %s: HTTP %d, want 429", c, got)
		}
	}
	// No answer from the hook: the TCP peer's key, free so far, then full.
	if got := dial(""); got != http.StatusSwitchingProtocols {
		t.Fatalf("fallback to the peer: HTTP %d", got)
	}
	if got := dial("not an address"); got != http.StatusTooManyRequests {
		t.Fatalf("second fallback connection: HTTP %d, want 429", got)
	}
}
