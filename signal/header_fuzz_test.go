package signal

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/gorilla/websocket"

	"sotto/room"
)

// FuzzOrigin feeds arbitrary Origin and Host headers to the origin check
// (the browser's half of the same-origin policy for WebSockets). It must not
// panic; it allows an origin only when its host is the request's own or its
// normal form is one of the allowed origins; and normalizeOrigin's answer is
// its own normal form. Seeds are in testdata/fuzz/FuzzOrigin.
func FuzzOrigin(f *testing.F) {
	allowed := []string{"https://app.example.com", "http://localhost:5173"}
	s := NewServer(Config{Registry: room.NewRegistry(room.Config{}), AllowedOrigins: allowed})
	f.Fuzz(func(t *testing.T, origin, host string) {
		r := httptest.NewRequest(http.MethodGet, "http://sotto.example/ws", nil)
		r.Host = host
		r.Header["Origin"] = []string{origin}
		ok := s.originAllowed(r)
		n, normal := normalizeOrigin(origin)
		if normal {
			if again, ok2 := normalizeOrigin(n); !ok2 || again != n {
				t.Fatalf("normalizeOrigin(%q) = %q, whose normal form is %q, %v", origin, n, again, ok2)
			}
		}
		if !ok {
			return
		}
		u, err := url.Parse(origin)
		sameHost := err == nil && u.Host != "" && strings.EqualFold(u.Host, host)
		if !sameHost && !(normal && slices.Contains(allowed, n)) {
			t.Fatalf("origin %q allowed for host %q", origin, host)
		}
	})
}

// subprotocolRE is what the server may echo back as a subprotocol it does
// not speak (so that the client can read close 4001): a plain token, which
// can never split or extend the response header.
var subprotocolRE = regexp.MustCompile(`^[A-Za-z0-9._-]{1,64}$`)

// FuzzSubprotocol feeds arbitrary Sec-WebSocket-Protocol headers through
// gorilla's parser to chooseSubprotocol: no panic, and the answer is empty,
// our own protocol (only when offered), or the client's first offer if it is
// a plain token. Seeds are in testdata/fuzz/FuzzSubprotocol.
func FuzzSubprotocol(f *testing.F) {
	f.Fuzz(func(t *testing.T, header string) {
		r := httptest.NewRequest(http.MethodGet, "http://sotto.example/ws", nil)
		r.Header["Sec-Websocket-Protocol"] = strings.Split(header, "\n")
		offered := websocket.Subprotocols(r)
		switch p := chooseSubprotocol(offered); {
		case p == "":
		case p == Subprotocol:
			if !slices.Contains(offered, Subprotocol) {
				t.Fatalf("chose %q, not offered in %q", p, offered)
			}
		case len(offered) > 0 && p == offered[0] && subprotocolRE.MatchString(p):
			if slices.Contains(offered, Subprotocol) {
				t.Fatalf("chose %q though %q was offered", p, Subprotocol)
			}
		default:
			t.Fatalf("chose %q from %q", p, offered)
		}
	})
}
