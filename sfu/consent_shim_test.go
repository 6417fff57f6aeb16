package sfu

import (
	"net/netip"
	"time"

	"github.com/pion/stun/v4"
)

// requestPasses is consentConn.request: whether m from ap is answered (by
// pion, or by the gate itself), not dropped.
func requestPasses(c *consentConn, m *stun.Message, ap netip.AddrPort) bool {
	return c.request(m, ap) != fateDropped
}

// hasConsent says whether media may flow to ap now.
func hasConsent(c *consentConn, ap netip.AddrPort) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	e := c.addrs[ap]
	return e != nil && e.fresh(time.Now())
}

// answered is consentConn.answer: whether m was the answer to our check.
func answered(c *consentConn, m *stun.Message, ap netip.AddrPort) bool {
	ours, _ := c.answer(m, ap)
	return ours
}
