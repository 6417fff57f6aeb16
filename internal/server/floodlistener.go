package server

import (
	"net"
	"net/netip"
	"sync/atomic"
)

// floodListener closes, as soon as they are accepted, TCP connections from
// addresses the signaling server has put in flood cooldown
// (signal.FloodCooldown): before any TLS handshake or HTTP request, which is
// where a refused flooder's cost to the server lies. The server refuses such
// addresses with HTTP 429 anyway; this only makes the refusal cheap. It is for
// a server that sees its clients' addresses: behind a reverse proxy every TCP
// peer is the proxy, so it must not be armed there (the 429, by the
// forwarded address, still holds).
//
// Closing at accept refuses everything from the address for the cooldown,
// the app's pages too, not only /ws: a neighbour behind the same NAT as a
// flooder cannot load the app until the cooldown ends.
type floodListener struct {
	net.Listener
	penalized atomic.Pointer[func(netip.Addr) bool] // nil until armed
	refused   atomic.Uint64
}

// newFloodListener wraps ln. It closes nothing until armed.
func newFloodListener(ln net.Listener) *floodListener {
	return &floodListener{Listener: ln}
}

// arm starts closing connections from the addresses penalized reports
// (signal.Server.Penalized). The signaling server is made after the listener
// (it needs the SFU, which needs the listener), hence a separate step; it may
// run while Accept is running.
func (l *floodListener) arm(penalized func(netip.Addr) bool) {
	l.penalized.Store(&penalized)
}

// refusedConns is how many connections were closed at accept.
func (l *floodListener) refusedConns() uint64 { return l.refused.Load() }

// Accept returns the next connection from an address not in cooldown.
func (l *floodListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return c, err
		}
		p := l.penalized.Load()
		if p == nil || !(*p)(connAddr(c)) {
			return c, nil
		}
		l.refused.Add(1)
		if tc, ok := c.(*net.TCPConn); ok {
			// A reset, not a FIN: no TIME_WAIT left on the server for each
			// of the flooder's thousand tries a second.
			tc.SetLinger(0)
		}
		c.Close()
	}
}

// connAddr is the connection's remote IP address, invalid (never penalized)
// if it has none.
func connAddr(c net.Conn) netip.Addr {
	if ta, ok := c.RemoteAddr().(*net.TCPAddr); ok {
		return ta.AddrPort().Addr()
	}
	ap, _ := netip.ParseAddrPort(c.RemoteAddr().String())
	return ap.Addr()
}
