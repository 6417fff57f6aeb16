package server

import (
	"math"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"

	sig "sotto/signal"
)

// tcpConnsPerWebSocket is how many TCP connections to the app's port one
// address may hold per WebSocket it may open (--max-conns-per-ip, 32 by
// default, so 256). Each member holds one WebSocket and one or two ICE-TCP
// connections (two while an ICE restart replaces one), and a browser loading
// the app over HTTP/1.1 opens up to six more for a moment; a household or an
// office behind one NAT with every member in a room stays below it. Without
// a cap one address could hold TCP connections until the process runs out of
// descriptors (issue 12: 20,000 requests whose body never came).
const TCPConnsPerWebSocket = 8

// tcpConnsPerAddr is the cap for --max-conns-per-ip wsPerAddr, without
// overflowing for an absurdly large flag.
func tcpConnsPerAddr(wsPerAddr int) int {
	if wsPerAddr > math.MaxInt/TCPConnsPerWebSocket {
		return math.MaxInt
	}
	return wsPerAddr * TCPConnsPerWebSocket
}

// addrLimitListener closes, as soon as they are accepted, TCP connections
// from an address (an IPv4 address or an IPv6 /64, as signal counts
// WebSockets) that already holds limit open connections: before TLS, HTTP or
// the ICE-TCP demux's first-byte read, so a refused connection costs a
// descriptor for a moment only. A connection counts until it is closed.
//
// Like floodListener it is for a server that sees its clients' addresses:
// behind a reverse proxy every TCP peer is the proxy, whose connections
// must not be capped as one client's (the proxy caps its own clients).
type addrLimitListener struct {
	net.Listener
	limit   int
	mu      sync.Mutex
	open    map[netip.Prefix]int
	refused atomic.Uint64
}

// newAddrLimitListener wraps ln, allowing limit open connections per address.
func newAddrLimitListener(ln net.Listener, limit int) *addrLimitListener {
	return &addrLimitListener{Listener: ln, limit: limit, open: make(map[netip.Prefix]int)}
}

// refusedConns is how many connections were closed at accept.
func (l *addrLimitListener) refusedConns() uint64 { return l.refused.Load() }

// Accept returns the next connection from an address below the cap.
func (l *addrLimitListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return c, err
		}
		key := addrPrefix(connAddr(c))
		if !key.IsValid() {
			return c, nil // not an IP connection: nothing to count it against
		}
		l.mu.Lock()
		full := l.open[key] >= l.limit
		if !full {
			l.open[key]++
		}
		l.mu.Unlock()
		if !full {
			return &countedConn{Conn: c, release: func() { l.release(key) }}, nil
		}
		l.refused.Add(1)
		if tc, ok := c.(*net.TCPConn); ok {
			tc.SetLinger(0) // a reset: no TIME_WAIT left for each refused try
		}
		c.Close()
	}
}

func (l *addrLimitListener) release(key netip.Prefix) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.open[key]--; l.open[key] <= 0 {
		delete(l.open, key)
	}
}

// openConns is how many connections from a's address are open.
func (l *addrLimitListener) openConns(a netip.Addr) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.open[addrPrefix(a)]
}

// countedConn gives its address's place back when it is first closed; the
// http.Server, TLS, WebSocket and ICE code may each close it.
type countedConn struct {
	net.Conn
	once    sync.Once
	release func()
}

func (c *countedConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(c.release)
	return err
}

// addrPrefix is what connections are counted against: signal.AddrKey, the
// same key the WebSocket cap and every other per-address limit use.
func addrPrefix(a netip.Addr) netip.Prefix { return sig.AddrKey(a) }
