package sfu

// The consent gate for a whole fan-out at once (floorwriter.go sends a
// room's copies of one packet together): each datagram is gated by the same
// gateLocked as consentConn.WriteTo's one (media only to an address with
// fresh consent; a consent in use refreshed, a lost first check retried),
// under one lock, and what may go leaves in one batch.

import (
	"net"
	"net/netip"
	"time"

	"github.com/pion/stun/v4"
	"golang.org/x/net/ipv4"
)

// writeBatch sends the media datagrams ms, ms[i] to to[i], that have
// consent, and returns how many went out and in how many system calls. It
// reorders nothing but may overwrite ms with the ones it sends.
func (c *consentConn) writeBatch(ms []ipv4.Message, to []netip.AddrPort) (sent, calls int) {
	now := time.Now()
	var checks []*stun.Message
	var checkTo []netip.AddrPort
	kept := 0
	c.mu.Lock()
	for i := range ms {
		allowed, check := c.gateLocked(to[i], now)
		if check != nil {
			checks, checkTo = append(checks, check), append(checkTo, to[i])
		}
		if allowed {
			ms[kept] = ms[i]
			kept++
		}
	}
	c.mu.Unlock()
	for i, m := range checks {
		c.send(m, checkTo[i])
	}
	if c.batch != nil {
		return c.batch.writeAll(ms[:kept])
	}
	for _, m := range ms[:kept] { // not a kernel socket (tests): one at a time
		if _, err := c.PacketConn.WriteTo(m.Buffers[0], m.Addr); err == nil {
			sent++
		}
		calls++
	}
	return sent, calls
}

// connFor returns the socket that talks with remote: the one whose gate
// knows the address (it sent us an authenticated request there, which is
// how a pair gets selected), else the only socket of remote's family, else
// nil.
func (g *consentGuard) connFor(remote netip.AddrPort) *consentConn {
	g.mu.RLock()
	conns := g.conns
	g.mu.RUnlock()
	var sameFamily *consentConn
	n := 0
	for _, c := range conns {
		c.mu.Lock()
		_, known := c.addrs[remote]
		c.mu.Unlock()
		if known {
			return c
		}
		if a, ok := c.LocalAddr().(*net.UDPAddr); ok && (a.IP.To4() != nil) == remote.Addr().Is4() {
			sameFamily = c
			n++
		}
	}
	if n == 1 {
		return sameFamily
	}
	return nil
}
