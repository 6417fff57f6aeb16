package sfu

// Consent before media (RFC 7675's idea, for an ICE-lite server).
//
// The server is ICE-lite: it only answers the client's checks, and pion's
// lite agent moves a member's media to whatever address sent the last
// authenticated binding request with USE-CANDIDATE. The member knows its
// own ICE password, so one request with a spoofed source address would turn
// the server into a reflector that sends that member's 50 packets/s to a host
// that never asked for them. Nothing the member sends proves the address is
// really its own: only something the server sends there and gets back does.
//
// So every UDP socket of the mux is wrapped: media (DTLS, RTP, RTCP: anything
// that is not STUN) leaves only towards an address that answered one of our
// own binding requests, signed with the member's password, in the last
// consentLifetime. When an authenticated request arrives from an address
// whose consent is missing or older than consentRefresh, the socket sends
// that address such a request (at most one per consentCheckInterval); the
// response is consumed here and never reaches pion. A browser answers it as
// it answers any check of its peer, within a round trip, so by the time it
// nominates the pair its address has consent; a spoofed source never answers
// and gets no media at all. Media from an address without consent, carrying
// the SSRC a member sent from its address with consent, starts the same
// check, paced the same way, and its answer moves the member there
// (consentmove.go). ICE-TCP needs none of this: a TCP connection has
// already proven its address.
//
// A request that fails integrity, or names a session whose credentials we
// do not hold, goes no further: pion would drop it too, after its mux had
// routed it. One that passes has the flood guard (udpguard.go) learn its
// address, so that our check's answer (which names no ufrag) gets through
// it; if the guard has no room for the address, pion never sees the request.
//
// What a spoofer still gets the server to send to an address that does not
// consent: pion's binding response to each authenticated request it sends
// from there that pion sees (one packet the size of the request), and our
// checks (started by requests or by media-looking packets alike), at most
// one per consentCheckInterval per address and port, and in all at most
// checkBurst plus one per checkInterval per session and per victim IP
// address. Never media.

import (
	"crypto/rand"
	"encoding/binary"
	"net"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/ice/v4"
	"github.com/pion/stun/v4"
	"github.com/pion/transport/v5"

	"sotto/internal/sweeptimer"
)

const (
	// consentLifetime is how long an answer to our check lets media flow to
	// its address: RFC 7675's 30 s, after which a browser also stops.
	consentLifetime = 30 * time.Second
	// consentRefresh is the age after which the next authenticated request
	// (or media packet) from an address with consent makes us check it
	// again. A browser checks its pair every few seconds (consent freshness),
	// so a live client is re-checked about every 10 s and has two more
	// chances before consentLifetime runs out.
	consentRefresh = 10 * time.Second
	// consentCheckInterval is the least time between two of our checks to
	// one address: a lost check is retried on the client's next request, and
	// a spoofer gets at most this many of our packets per second per address.
	consentCheckInterval = 500 * time.Millisecond
	// maxConsentAddrs bounds the addresses one socket remembers. A server
	// has one per connected member (plus a few during network changes); 4096
	// entries take about 1 MB. When full, the oldest entry without
	// consent is forgotten, so spoofed sources cannot crowd out real ones.
	maxConsentAddrs = 4096
	// consentSweep is how often, at most, a socket forgets the addresses
	// whose consent has lapsed (and the session credentials kept with
	// them), on the next authenticated request: a member's address is held
	// for about consentLifetime after its last answer, and this much more,
	// not until the table fills.
	consentSweep = 10 * time.Second
	// consentRetryWindow is how long after an address's last authenticated
	// request media written to it (re)sends our check when it has no
	// consent yet, one per consentCheckInterval: a lost first check costs
	// the member half a second of media, not the client's next request
	// (2.5 s in Chrome, 5 s in Firefox). Longer, and pion writing a spoofed
	// nomination's media would keep us checking its victim after the
	// spoofer stopped.
	consentRetryWindow = 2 * time.Second
	// checkInterval and checkBurst pace our checks to addresses without
	// fresh consent, per session and per IP address (one GCRA bucket
	// each): a member spoofing its victim's address with a new port on
	// each request gets the victim checkBurst checks, then 4 a second,
	// however many ports or sessions it uses. A browser needs one per
	// candidate it checks from (a handful) and one per network change; 16
	// covers an office behind one NAT address joining at once.
	checkInterval = 250 * time.Millisecond
	checkBurst    = 16
	// maxCheckIPs bounds the per-IP buckets kept. One lives at most
	// checkBurst*checkInterval (4 s) after its last check; the buckets are
	// swept every consentSweep, and if a sweep leaves the table full, a new
	// IP address goes unpaced (the per-session pace still holds).
	maxCheckIPs = 4096
	// consentPriority is the PRIORITY of our checks (RFC 8445 requires one):
	// a host candidate's, which is what the server's candidates are.
	consentPriority = 2130706431
	// movePriority is the PRIORITY of the nomination the gate hands pion
	// for a member's new address (moveCheck): a peer-reflexive candidate's
	// (RFC 8445 §5.1.2.1, type preference 110), which is what the address
	// is to us. A lite agent switches on any nomination, whatever its
	// priority; the browser's own next request finds the same candidate.
	movePriority = 110<<24 | 0xffff<<8 | 255
	// maxSSRCsPerAddr is how many SSRCs the gate remembers per address with
	// consent, to tell whose media a new address sends (moveCheck): a
	// member sends its microphone's, and RTCP with the same one (or one
	// more). A member spraying SSRCs only churns its own slots, and the
	// SSRC table stays within maxSSRCsPerAddr*maxConsentAddrs entries.
	maxSSRCsPerAddr = 2
)

// consentSweepEvery is consentSweep; tests shorten it.
var consentSweepEvery = consentSweep

// iceCreds are one ICE session's credentials: ours (to verify the client's
// requests) and the client's (to sign our checks and verify its answers).
type iceCreds struct {
	localUfrag, localPwd   string
	remoteUfrag, remotePwd string
}

// session is one live ICE session.
type session struct {
	creds     iceCreds
	nextCheck time.Time // pacing of checks to addresses without consent (GCRA)
}

// consentGuard holds what the SFU's wrapped sockets share: the credentials of
// every live ICE session, by our ufrag, and the pacing of our checks.
type consentGuard struct {
	tieBreaker uint64    // ICE-CONTROLLED value of our checks; the client controls, so it is never compared
	guard      *udpGuard // learns verified addresses (udpguard.go); nil if unguarded

	mu        sync.RWMutex
	creds     map[string]*session
	checkIP   map[netip.Addr]time.Time // pacing of checks per IP address (GCRA)
	nextSweep time.Time                // when checkIP next drops idle buckets
	sweeper   sweeptimer.Timer         // sweeps checkIP while it has entries, even with no traffic

	conns []*consentConn // every wrapped socket, for connFor (floorwriter.go); guarded by mu

	refused atomic.Uint64 // media packets not sent for lack of consent
	checks  atomic.Uint64 // our checks sent
	// answered counts the clients' routine checks the gate answered
	// itself, without pion (consentanswer.go).
	answered atomic.Uint64
	dropped  atomic.Uint64 // binding requests kept from pion (consentConn.request)
}

func newConsentGuard() *consentGuard {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return &consentGuard{tieBreaker: binary.BigEndian.Uint64(b[:]),
		creds: map[string]*session{}, checkIP: map[netip.Addr]time.Time{}}
}

// set replaces the credentials registered under old (if any) with c. A
// renegotiation without ICE restart keeps the session's pacing.
func (g *consentGuard) set(old string, c iceCreds) {
	g.mu.Lock()
	defer g.mu.Unlock()
	s := g.creds[old]
	if old != "" {
		delete(g.creds, old)
	}
	if s == nil || old != c.localUfrag {
		s = &session{}
	}
	s.creds = c
	g.creds[c.localUfrag] = s
}

func (g *consentGuard) forget(localUfrag string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	delete(g.creds, localUfrag)
}

func (g *consentGuard) lookup(localUfrag string) (iceCreds, bool) {
	g.mu.RLock()
	defer g.mu.RUnlock()
	s, ok := g.creds[localUfrag]
	if !ok {
		return iceCreds{}, false
	}
	return s.creds, true
}

// mayCheck says whether we may send a check now for the session of
// localUfrag to ip, whose address has no fresh consent: the session is live
// and neither its pace nor ip's is exceeded. It takes one check from both.
func (g *consentGuard) mayCheck(localUfrag string, ip netip.Addr, now time.Time) bool {
	const tau = (checkBurst - 1) * checkInterval
	g.mu.Lock()
	defer g.mu.Unlock()
	s := g.creds[localUfrag]
	if s == nil {
		return false
	}
	due := s.nextCheck
	if due.Before(now) {
		due = now
	}
	ipDue, paced := g.checkIP[ip]
	if ipDue.Before(now) {
		ipDue = now
	}
	if due.Sub(now) > tau || ipDue.Sub(now) > tau {
		return false
	}
	s.nextCheck = due.Add(checkInterval)
	if !now.Before(g.nextSweep) || (!paced && len(g.checkIP) >= maxCheckIPs) {
		g.sweepCheckIPLocked(now)
	}
	if paced || len(g.checkIP) < maxCheckIPs {
		g.checkIP[ip] = ipDue.Add(checkInterval)
		g.sweeper.ArmLocked(&g.mu, consentSweepEvery, func() int {
			g.sweepCheckIPLocked(time.Now())
			return len(g.checkIP)
		})
	}
	return true
}

// sweepCheckIPLocked drops the IPs whose pacing bucket is full again: they
// hold nothing a new entry would not. Called with g.mu.
func (g *consentGuard) sweepCheckIPLocked(now time.Time) {
	for a, t := range g.checkIP {
		if !t.After(now) {
			delete(g.checkIP, a)
		}
	}
	g.nextSweep = now.Add(consentSweep)
}

// wrap returns conn with media gated on consent.
func (g *consentGuard) wrap(conn net.PacketConn) *consentConn {
	c := &consentConn{PacketConn: conn, g: g, addrs: map[netip.AddrPort]*consent{}, ssrcs: map[uint32]netip.AddrPort{}}
	if raw := rawUDP(conn); raw != nil {
		c.batch = newBatchWriter(raw)
	}
	g.mu.Lock()
	g.conns = append(g.conns, c)
	g.mu.Unlock()
	return c
}

// consentNet is a transport.Net whose UDP sockets are consent-gated, for
// pion's multi-socket mux (every interface, one port).
type consentNet struct {
	transport.Net
	g *consentGuard
}

func (n consentNet) ListenUDP(network string, laddr *net.UDPAddr) (transport.UDPConn, error) {
	c, err := n.Net.ListenUDP(network, laddr)
	if err != nil {
		return nil, err
	}
	return consentUDPConn{UDPConn: c, cc: n.g.wrap(c)}, nil
}

// consentUDPConn is a transport.UDPConn whose ReadFrom and WriteTo, the two
// methods pion's UDP mux uses, are consent-gated.
type consentUDPConn struct {
	transport.UDPConn
	cc *consentConn
}

func (c consentUDPConn) ReadFrom(b []byte) (int, net.Addr, error)  { return c.cc.ReadFrom(b) }
func (c consentUDPConn) WriteTo(b []byte, a net.Addr) (int, error) { return c.cc.WriteTo(b, a) }

// consent is what one socket knows about one remote address.
type consent struct {
	creds   iceCreds  // of the session whose request we last checked it for
	granted time.Time // when it last answered our check; zero: never
	checked time.Time // when we last sent it a check
	asked   time.Time // when it last sent an authenticated request
	toPion  time.Time // when pion last saw one of its requests (consentanswer.go)
	tx      [stun.TransactionIDSize]byte
	txCreds iceCreds // what the check with tx was signed with; its answer is verified against them
	// move: the check in flight was sent because the member's media came
	// from here (moveCheck); its answer has pion move the member here.
	move bool
	// ssrcs are the SSRCs media from here carried while it had consent,
	// the latest maxSSRCsPerAddr; nssrcs counts them all.
	ssrcs  [maxSSRCsPerAddr]uint32
	nssrcs uint32
}

// fresh reports whether e's consent lets media flow at now.
func (e *consent) fresh(now time.Time) bool {
	return !e.granted.IsZero() && now.Sub(e.granted) < consentLifetime
}

// consentConn is one UDP socket of the mux.
type consentConn struct {
	net.PacketConn
	g *consentGuard

	mu    sync.Mutex
	addrs map[netip.AddrPort]*consent
	// ssrcs maps each SSRC in consent.ssrcs to the address it was last
	// seen from with consent: whose media a packet from a new address is.
	ssrcs map[uint32]netip.AddrPort
	// nextSweep is when entry next drops lapsed entries; sweeper sweeps
	// them while any are left, with or without traffic.
	nextSweep time.Time
	sweeper   sweeptimer.Timer

	// batch sends a fan-out's datagrams in one system call (consentbatch.go);
	// nil if the socket under the gate is not a kernel UDP socket.
	batch *batchWriter
}

func addrPortOf(a net.Addr) (netip.AddrPort, bool) {
	u, ok := a.(*net.UDPAddr)
	if !ok {
		return netip.AddrPort{}, false
	}
	ap := u.AddrPort()
	return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port()), true
}

// isSTUN is RFC 7983's demultiplexing rule: STUN starts with 0..3.
func isSTUN(b []byte) bool { return len(b) > 0 && b[0] < 4 && stun.IsMessage(b) }

// ReadFrom passes everything on to pion except the answers to our own
// checks, and starts a check for an address that sent an authenticated
// request, or the media of a member whose SSRC we know, and has no fresh
// consent. When the answer to a check started by media gives consent, pion
// gets, in its place, a nomination of that address (moveCheck).
func (c *consentConn) ReadFrom(b []byte) (int, net.Addr, error) {
	for {
		n, addr, err := c.PacketConn.ReadFrom(b)
		if err != nil {
			return n, addr, err
		}
		ap, ok := addrPortOf(addr)
		if !ok {
			return n, addr, err
		}
		if !isSTUN(b[:n]) {
			if ssrc, ok := mediaSSRC(b[:n]); ok {
				c.media(ssrc, ap)
			}
			return n, addr, err
		}
		m := &stun.Message{Raw: append([]byte(nil), b[:n]...)}
		if m.Decode() != nil {
			return n, addr, err
		}
		switch m.Type {
		case stun.BindingRequest:
			switch c.request(m, ap) {
			case fateDropped:
				c.g.dropped.Add(1)
				continue // pion would drop it, or must not learn its address
			case fateAnswered:
				continue
			}
		case stun.BindingSuccess, stun.BindingError:
			ours, nominate := c.answer(m, ap)
			if nominate != nil && len(nominate.Raw) <= len(b) {
				// The member answered from where its media comes from:
				// pion moves its media here now, not on the browser's
				// next nomination seconds later.
				return copy(b, nominate.Raw), addr, nil
			}
			if ours {
				continue // ours: pion never sent it, so it must not see it
			}
		}
		return n, addr, err
	}
}

// requestFate is what became of a binding request at the gate.
type requestFate int

const (
	fateToPion   requestFate = iota // pion sees it
	fateDropped                     // nobody answers it
	fateAnswered                    // the gate answered it itself (consentanswer.go)
)

// request handles a binding request from ap and says what becomes of it.
// pion may see it if it has no USERNAME (pion answers those with an error)
// or if it is authenticated for a live session, ap does not have fresh
// consent for another live session (whose credentials it would replace, and
// whose consent it would lend this one's media), and the guard has room for
// ap; of those, the gate answers a routine check itself (consentanswer.go).
// If ap lacks fresh consent, it is checked.
func (c *consentConn) request(m *stun.Message, ap netip.AddrPort) requestFate {
	var user stun.Username
	if user.GetFrom(m) != nil {
		return fateToPion
	}
	local, _, _ := strings.Cut(user.String(), ":")
	creds, ok := c.g.lookup(local)
	if !ok || stun.NewShortTermIntegrity(creds.localPwd).Check(m) != nil {
		return fateDropped
	}
	now := time.Now()
	c.mu.Lock()
	if e := c.addrs[ap]; e != nil && e.creds.localUfrag != creds.localUfrag && e.fresh(now) {
		if _, live := c.g.lookup(e.creds.localUfrag); live {
			c.mu.Unlock()
			return fateDropped
		}
	}
	if c.g.guard != nil && !c.g.guard.learn(local, ap, now) {
		c.mu.Unlock()
		return fateDropped
	}
	e := c.entry(ap, now)
	here := e.routine(m, creds, now) // before e.creds become this request's
	e.creds, e.asked = creds, now
	send := c.due(e, ap, now)
	c.mu.Unlock()
	if send != nil {
		c.send(send, ap)
	}
	if here && c.answerCheck(m, ap, creds.localPwd) {
		return fateAnswered
	}
	return fateToPion
}

// entry returns ap's entry, making room for it if needed. Called with c.mu.
func (c *consentConn) entry(ap netip.AddrPort, now time.Time) *consent {
	if !now.Before(c.nextSweep) {
		c.sweepLocked(now)
	}
	if e := c.addrs[ap]; e != nil {
		return e
	}
	if len(c.addrs) >= maxConsentAddrs {
		c.evict(now)
	}
	e := &consent{}
	c.addrs[ap] = e
	c.sweeper.ArmLocked(&c.mu, consentSweepEvery, func() int {
		c.sweepLocked(time.Now())
		return len(c.addrs)
	})
	return e
}

// sweepLocked drops the entries whose consent lapsed (with the session
// credentials kept in them). Called with c.mu.
func (c *consentConn) sweepLocked(now time.Time) {
	for a, e := range c.addrs {
		if c.stale(e, now) {
			c.forgetLocked(a, e)
		}
	}
	c.nextSweep = now.Add(consentSweep)
}

// evict makes room in a full table: it forgets every entry with neither
// fresh consent nor a check in flight and, if that frees nothing, the one
// without consent checked longest ago, or else the one granted longest ago.
// Real clients answer within a round trip, so spoofed sources cannot crowd
// them out. Called with c.mu, only when the table is full.
func (c *consentConn) evict(now time.Time) {
	var victim netip.AddrPort
	var victimAt time.Time
	victimFresh := true
	for ap, e := range c.addrs {
		fresh := !e.granted.IsZero() && now.Sub(e.granted) < consentLifetime
		if c.stale(e, now) {
			c.forgetLocked(ap, e)
			continue
		}
		at := e.checked
		if fresh {
			at = e.granted
		}
		switch {
		case victimAt.IsZero(), victimFresh && !fresh, victimFresh == fresh && at.Before(victimAt):
			victim, victimAt, victimFresh = ap, at, fresh
		}
	}
	if len(c.addrs) >= maxConsentAddrs {
		c.forgetLocked(victim, c.addrs[victim])
	}
}

// forgetLocked drops ap's entry e and the SSRCs last seen from it. Called
// with c.mu.
func (c *consentConn) forgetLocked(ap netip.AddrPort, e *consent) {
	for _, s := range e.ssrcs[:min(e.nssrcs, maxSSRCsPerAddr)] {
		if c.ssrcs[s] == ap {
			delete(c.ssrcs, s)
		}
	}
	delete(c.addrs, ap)
}

// stale reports whether e has neither fresh consent nor a check in flight:
// it holds nothing a new entry would not.
func (c *consentConn) stale(e *consent, now time.Time) bool {
	return !e.fresh(now) && now.Sub(e.checked) >= consentCheckInterval
}

// due returns the check to send to ap (whose entry is e) now, or nil: a
// refresh of fresh consent, or, paced by consentGuard.mayCheck, a check of
// an address without it. Called with c.mu.
func (c *consentConn) due(e *consent, ap netip.AddrPort, now time.Time) *stun.Message {
	if e.creds.remotePwd == "" ||
		(!e.granted.IsZero() && now.Sub(e.granted) < consentRefresh) ||
		now.Sub(e.checked) < consentCheckInterval {
		return nil
	}
	if e.fresh(now) {
		if _, live := c.g.lookup(e.creds.localUfrag); !live {
			return nil // its session is gone: nobody would answer
		}
	} else if !c.g.mayCheck(e.creds.localUfrag, ap.Addr(), now) {
		return nil
	}
	m := c.check(e.creds)
	if m != nil {
		e.checked, e.tx, e.txCreds = now, m.TransactionID, e.creds
	}
	return m
}

// check builds our binding request to the client of the session creds,
// signed with its password.
func (c *consentConn) check(creds iceCreds) *stun.Message {
	m, err := stun.Build(stun.BindingRequest, stun.TransactionID,
		stun.NewUsername(creds.remoteUfrag+":"+creds.localUfrag),
		ice.AttrControlled(c.g.tieBreaker),
		ice.PriorityAttr(consentPriority),
		stun.NewShortTermIntegrity(creds.remotePwd),
		stun.Fingerprint)
	if err != nil {
		return nil
	}
	return m
}

func (c *consentConn) send(m *stun.Message, ap netip.AddrPort) {
	c.g.checks.Add(1)
	_, _ = c.PacketConn.WriteTo(m.Raw, net.UDPAddrFromAddrPort(ap))
}

// answer reports whether m answers our latest check of ap, and grants ap
// consent if it is a success signed with the password that check was signed
// with (the session's credentials may have changed since). If that check
// was sent because the member's media came from ap (moveCheck), it also
// returns the nomination of ap that pion must see in m's place.
func (c *consentConn) answer(m *stun.Message, ap netip.AddrPort) (ours bool, nominate *stun.Message) {
	c.mu.Lock()
	e := c.addrs[ap]
	if e == nil || e.checked.IsZero() || m.TransactionID != e.tx {
		c.mu.Unlock()
		return false, nil
	}
	creds := e.txCreds
	c.mu.Unlock()
	if c.g.guard != nil {
		c.g.guard.answered(ap)
	}
	if m.Type != stun.BindingSuccess || stun.NewShortTermIntegrity(creds.remotePwd).Check(m) != nil {
		return true, nil
	}
	now := time.Now()
	c.mu.Lock()
	granted := e.tx == m.TransactionID && c.addrs[ap] == e
	move := granted && e.move
	if granted {
		// The consent is this session's: its refreshes are signed with
		// these credentials, and another session's request may not
		// replace them while it lasts (request).
		e.granted, e.creds, e.move = now, creds, false
	}
	c.mu.Unlock()
	if !granted {
		return true, nil
	}
	if c.g.guard != nil {
		// ap answered a check signed with the client's password: it is
		// the member's, as much as one its request came from. Learned,
		// it gets the answers to our refreshes through; if the member's
		// pace of new addresses has no room for it, pion must not learn
		// it either: the browser's own request will bring it.
		if move && !c.g.guard.learn(creds.localUfrag, ap, now) {
			move = false
		}
		c.g.guard.consented(creds.localUfrag, ap, now)
	}
	if move {
		return true, c.nomination(creds)
	}
	return true, nil
}

// WriteTo sends STUN (pion's answers to checks) anywhere it is sent, and
// everything else only to an address with consent. Refused packets are
// reported as written: pion must not treat them as a network error.
func (c *consentConn) WriteTo(b []byte, addr net.Addr) (int, error) {
	if isSTUN(b) {
		return c.PacketConn.WriteTo(b, addr)
	}
	ap, ok := addrPortOf(addr)
	if !ok {
		return c.PacketConn.WriteTo(b, addr)
	}
	now := time.Now()
	c.mu.Lock()
	allowed, check := c.gateLocked(ap, now)
	c.mu.Unlock()
	if check != nil {
		c.send(check, ap)
	}
	if !allowed {
		return len(b), nil
	}
	return c.PacketConn.WriteTo(b, addr)
}

// gateLocked decides one media packet to ap: whether it may go (a refusal
// is counted), and the check to send ap first, if one is due (a consent in
// use refreshed, or a check that may have been lost retried shortly after
// the address's last request). Called with c.mu held.
func (c *consentConn) gateLocked(ap netip.AddrPort, now time.Time) (allowed bool, check *stun.Message) {
	e := c.addrs[ap]
	if e == nil {
		c.g.refused.Add(1)
		return false, nil
	}
	if !e.granted.IsZero() || now.Sub(e.asked) < consentRetryWindow {
		check = c.due(e, ap, now)
	}
	if !e.fresh(now) {
		c.g.refused.Add(1)
		return false, check
	}
	return true, check
}
