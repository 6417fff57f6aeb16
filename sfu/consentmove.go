package sfu

// A member's new address, learned from its media (issue 16).
//
// A member's source address changes under it: a phone moving from Wi-Fi to
// mobile data, a NAT rebinding. The browser does not know; its packets just
// start coming from elsewhere, and pion (routing by source address) drops
// them, and keeps sending the member's media to the old address, until the
// browser's next nomination arrives from the new one: up to 2.5 s in
// Chrome, 5 s in Firefox.
//
// The gate learns it sooner from the member's own traffic. RTP and RTCP
// carry their SSRC in the clear (SRTP encrypts the payload only), so media
// from an address without consent can be told to be a member's: the SSRC
// was last seen from that member's address with consent. That address is
// sent the member's consent check at once (paced exactly as the checks a
// request starts: per address, per session, per victim IP); the browser
// answers it from its new address within a round trip; and in place of the
// answer pion gets a nomination of that address, which the gate makes
// itself with the session's password (consentConn.nomination), so pion's
// lite agent moves the member's media there and its mux routes the
// member's packets from there. Measured in Chromium (e2etest
// TestSourceChangeMidTurnKeepsTurn, every member's source changed at once):
// the listener misses 100-150 ms, where it missed 1.5-2.2 s waiting for the
// browsers' nominations. Each browser keeps sending while its member is
// muted, so its first packet from the new address comes within a frame or
// so. The old and new addresses must reach the same server socket (the
// table is per socket): a move between IPv4 and IPv6 still waits for the
// browser's nomination.
//
// An SSRC proves nothing: anyone can send a packet carrying one from any
// source address. What it gets a spoofer is a check towards the address it
// spoofs, as an authenticated request from there would; never media, and
// never a nomination: those follow only an answer signed with the client's
// password, which only the member's browser has. A member that knows
// another's SSRC cannot take it over while that member's address has fresh
// consent (learnSSRC); at worst, by using it first, it leaves that member
// to move on its browser's next request, as before.

import (
	"encoding/binary"
	"net/netip"
	"time"

	"github.com/pion/ice/v4"
	"github.com/pion/stun/v4"
)

// mediaSSRC returns the SSRC of an RTP packet, or the sender SSRC of an
// RTCP one (RFC 5761 §4 tells them apart by the second byte), both sent in
// the clear, and false for anything else (DTLS, junk).
func mediaSSRC(p []byte) (uint32, bool) {
	if len(p) < 12 || p[0]>>6 != 2 {
		return 0, false
	}
	if p[1] >= 192 && p[1] <= 223 {
		return binary.BigEndian.Uint32(p[4:8]), true
	}
	return binary.BigEndian.Uint32(p[8:12]), true
}

// media is told that a media packet with ssrc came from ap. From an
// address with fresh consent it learns the SSRC; from one without, it
// checks the address for the session the SSRC is the member's of.
func (c *consentConn) media(ssrc uint32, ap netip.AddrPort) {
	now := time.Now()
	c.mu.Lock()
	e := c.addrs[ap]
	if e != nil && e.fresh(now) {
		c.learnSSRC(e, ap, ssrc, now)
		c.mu.Unlock()
		return
	}
	check := c.moveCheck(e, ssrc, ap, now)
	c.mu.Unlock()
	if check != nil {
		c.send(check, ap)
	}
}

// learnSSRC records that media with ssrc came from ap (entry e, with fresh
// consent). An SSRC last seen from another session's address that still
// has fresh consent stays that session's: the first to use it keeps it.
// Called with c.mu.
func (c *consentConn) learnSSRC(e *consent, ap netip.AddrPort, ssrc uint32, now time.Time) {
	for _, s := range e.ssrcs[:min(e.nssrcs, maxSSRCsPerAddr)] {
		if s == ssrc {
			if c.ssrcs[ssrc] != ap { // the member moved here
				c.ssrcs[ssrc] = ap
			}
			return
		}
	}
	if owner, ok := c.ssrcs[ssrc]; ok && owner != ap {
		if o := c.addrs[owner]; o != nil && o.creds.localUfrag != e.creds.localUfrag && o.fresh(now) {
			return
		}
	}
	slot := e.nssrcs % maxSSRCsPerAddr
	if e.nssrcs >= maxSSRCsPerAddr {
		if old := e.ssrcs[slot]; c.ssrcs[old] == ap {
			delete(c.ssrcs, old)
		}
	}
	e.ssrcs[slot] = ssrc
	e.nssrcs++
	c.ssrcs[ssrc] = ap
}

// moveCheck returns the check to send to ap (entry e, nil if none), which
// has no fresh consent and sent media with ssrc, or nil. It checks ap for
// the live session whose member sent ssrc from an address with fresh
// consent, unless ap was checked less than consentCheckInterval ago, or
// its own request named another session within consentRetryWindow (what
// the address says of itself, signed, outweighs an SSRC), or the
// session's or ap's IP's pace of checks is spent, or the guard has no room
// to let the answer through. Called with c.mu.
func (c *consentConn) moveCheck(e *consent, ssrc uint32, ap netip.AddrPort, now time.Time) *stun.Message {
	owner, ok := c.ssrcs[ssrc]
	if !ok {
		return nil
	}
	o := c.addrs[owner]
	if o == nil || !o.fresh(now) {
		return nil
	}
	creds, live := c.g.lookup(o.creds.localUfrag)
	if !live || creds.remotePwd == "" {
		return nil
	}
	if e != nil && (now.Sub(e.checked) < consentCheckInterval ||
		(e.creds.localUfrag != creds.localUfrag && now.Sub(e.asked) < consentRetryWindow)) {
		return nil
	}
	if !c.g.mayCheck(creds.localUfrag, ap.Addr(), now) {
		return nil
	}
	m := c.check(creds)
	if m == nil || (c.g.guard != nil && !c.g.guard.await(ap, m.TransactionID, now)) {
		return nil
	}
	if e == nil {
		e = c.entry(ap, now)
	}
	e.creds, e.move = creds, true
	e.checked, e.tx, e.txCreds = now, m.TransactionID, creds
	return m
}

// nomination is the binding request with USE-CANDIDATE the member's
// browser would send, made here with the session's own password: pion's
// lite agent moves the member's media to the address it comes from
// (selection.go in pion/ice: a lite agent switches on any nomination), and
// pion's mux routes that address's packets to the session from its answer
// on. Only ever handed to pion for an address that has just answered our
// check signed with the client's password: the member's own. pion's answer
// to it reaches the browser as a response to no request of its own, which
// it drops.
func (c *consentConn) nomination(creds iceCreds) *stun.Message {
	m, err := stun.Build(stun.BindingRequest, stun.TransactionID,
		stun.NewUsername(creds.localUfrag+":"+creds.remoteUfrag),
		ice.AttrControlling(c.g.tieBreaker),
		ice.UseCandidate(),
		ice.PriorityAttr(movePriority),
		stun.NewShortTermIntegrity(creds.localPwd),
		stun.Fingerprint)
	if err != nil {
		return nil
	}
	return m
}
