package sfu

// This file keeps a flood of junk at the one UDP port from drowning the
// rooms' media (docs/abuse.md, issue 12 #10).
//
// All rooms share one UDP socket (one per local address when UDPAddr has no
// IP), read by one pion goroutine. The kernel queues what that goroutine has
// not read yet in the socket's receive buffer and drops whatever arrives
// while the buffer is full, junk and voice alike. Three things keep the
// buffer from filling:
//
//   - a receive buffer large enough to ride out the reader's pauses (GC,
//     scheduling on a busy machine) at a flood's rate: UDPReadBuffer;
//   - a reader that throws junk away cheaply. pion's mux copies and fully
//     decodes every STUN message from an address it has no session for, just
//     to learn that its USERNAME names no ufrag it issued (plus allocations
//     for the username and a log call's arguments). udpGuard makes the same
//     decision before pion sees the packet, allocation-free, by reading the
//     USERNAME attribute in place and looking its local ufrag up in the set
//     of ufrags the SFU's ICE agents hold;
//   - a reader that takes packets off the socket 16 at a time (recvmmsg,
//     udpsock_linux.go): once junk costs no decoding, the system call per
//     packet is most of the reader's work.
//
// What passes is everything pion would have accepted: RTP, RTCP and DTLS
// (anything that is not STUN) pass untouched, pion routes them by source
// address; STUN from an address that has already sent a check naming a live
// ufrag passes (pion routes it by address too); other STUN passes only if its
// USERNAME names a live ufrag, or it is the answer the consent gate awaits
// from that address (await: its check's exact transaction ID).

import (
	"bytes"
	"encoding/binary"
	"errors"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/ice/v4"
	"github.com/pion/transport/v5"

	"sotto/internal/sweeptimer"
)

// UDPReadBuffer is the receive buffer, in bytes, the SFU asks for on its UDP
// socket(s). Linux charges each small packet its buffer (~830 bytes on
// loopback), not its payload: the 208 KiB default holds 256 STUN-sized
// packets, 2.3 ms of the 112,000 packets/s the attack test sent, and any
// pause of the one reader goroutine longer than that dropped voice with the
// junk. 8 MiB (which Linux doubles for its bookkeeping) holds ~20,000
// (measured), 180 ms of that flood: more than a GC cycle or a scheduling
// gap on a busy 2-core machine. The kernel takes the memory only while
// packets wait. As root the SFU forces the size past net.core.rmem_max
// (SO_RCVBUFFORCE); otherwise the kernel caps the request at rmem_max
// (Stats.UDPReadBuffer says what it granted).
const UDPReadBuffer = 8 << 20

// maxAddrsPerUfrag bounds the source addresses remembered at once for one
// live ufrag. A client checks from each of its candidates, a handful, and
// moves to a new one on a NAT rebinding or network change. An address is
// learned only once a request from it passed integrity (consentConn.request
// verifies it with the session's password), so only the member itself can
// fill its set; when full, the least recently seen address without fresh
// consent makes room (or, failing that, the least recently seen one but the
// address that answered our check last: learn), so a member that moves more
// often than this keeps working. A request from a further address that finds no room is
// dropped before pion sees it.
const maxAddrsPerUfrag = 16

// newAddrInterval and maxAddrsPerUfrag as a burst pace the new addresses one
// ufrag may show pion. Each one that reaches pion stays there for the ICE
// session: pion's agent adds a peer-reflexive candidate and pairs for it,
// and its muxed conn appends it to the address list it scans on every
// write. A browser brings a handful at once (its candidates) and one or two
// per network change; a member spoofing sources gets 16 at once and then 4 a
// second, never more.
const newAddrInterval = 250 * time.Millisecond

// maxAddrsPerSession bounds the addresses one ufrag may show pion over its
// whole life, the bound on what pion keeps for it. 256 address changes in
// one ICE session is far beyond a NAT rebinding every few minutes; past it a
// new address gets no answer, the browser's consent checks fail and it
// restarts ICE, which brings a new ufrag.
const maxAddrsPerSession = 256

// answerWait is how long the guard lets through the answer to a check the
// consent gate sent an address no request taught it (consentConn.moveCheck:
// media from a member's new address): a slow mobile round trip, with room.
// A later answer is dropped; the member's next packet, or its own request,
// checks again.
const answerWait = 2 * time.Second

// maxAwaited bounds the answers awaited at once. Checks to addresses
// without consent are paced per session and per victim IP (checkBurst,
// checkInterval), so this fills only if thousands of sessions spoof at
// once; then no new such check is sent until answers arrive or wait out
// answerWait, and a moving member waits for its own next request, as it
// did before the gate learned moves from media.
const maxAwaited = 4096

// stunMagicCookie is the fixed STUN header field (RFC 5389 §6).
const stunMagicCookie = 0x2112A442

// stunAttrUsername is the USERNAME attribute type.
const stunAttrUsername = 0x0006

// learnedAddr is a source address that sent an authenticated request
// naming a live ufrag.
type learnedAddr struct {
	ap      netip.AddrPort
	seen    time.Time // its last authenticated request or answer to our check
	granted time.Time // its last answer to our check; zero: none
}

// ufragAddrs is what the guard knows of one live ufrag.
type ufragAddrs struct {
	addrs   []learnedAddr // at most maxAddrsPerUfrag
	nextNew time.Time     // pacing of new addresses: when the next one is due (GCRA)
	total   int           // addresses learned since the ufrag was issued
}

// awaited is the answer the guard lets through from an address it has not
// learned: the one to the consent gate's check with transaction ID tx.
type awaited struct {
	tx   [12]byte
	sent time.Time
}

// udpGuard knows which ufrags the SFU's ICE agents hold, and which source
// addresses have sent an authenticated check naming one of them.
type udpGuard struct {
	mu      sync.RWMutex
	live    map[string]*ufragAddrs     // local ufrag -> what it learned
	known   map[netip.AddrPort]int     // learned addresses -> how many live ufrags learned them
	awaited map[netip.AddrPort]awaited // answers awaited from addresses not learned (await)
	sweeper sweeptimer.Timer           // forgets awaited answers that did not come, traffic or not

	filtered atomic.Uint64 // STUN packets dropped before pion saw them
}

func newUDPGuard() *udpGuard {
	return &udpGuard{live: make(map[string]*ufragAddrs), known: make(map[netip.AddrPort]int),
		awaited: make(map[netip.AddrPort]awaited)}
}

// issue records a ufrag an ICE agent gathers with.
func (g *udpGuard) issue(ufrag string) {
	g.mu.Lock()
	if _, ok := g.live[ufrag]; !ok {
		g.live[ufrag] = &ufragAddrs{}
	}
	g.mu.Unlock()
}

// revoke forgets a ufrag and the addresses learned for it.
func (g *udpGuard) revoke(ufrag string) {
	g.mu.Lock()
	if u := g.live[ufrag]; u != nil {
		for _, a := range u.addrs {
			g.unknow(a.ap)
		}
	}
	delete(g.live, ufrag)
	g.mu.Unlock()
}

// unknow drops one ufrag's claim on a. Called with g.mu.
func (g *udpGuard) unknow(a netip.AddrPort) {
	if g.known[a] <= 1 {
		delete(g.known, a)
	} else {
		g.known[a]--
	}
}

// admit says whether the packet p from the (canonical) address from goes
// on up (to the consent gate, then pion). It does not allocate. STUN passes
// from a learned address, or if it names a live ufrag: the consent gate
// above verifies a request's integrity and has the guard learn its address.
func (g *udpGuard) admit(p []byte, from netip.AddrPort) bool {
	// STUN is what pion decodes to find a session for an unknown address:
	// two zero bits, a length, the magic cookie (RFC 5389 §6; RFC 7983 §7
	// tells it from RTP, RTCP and DTLS by the first byte).
	if len(p) < 20 || p[0]&0xC0 != 0 || binary.BigEndian.Uint32(p[4:8]) != stunMagicCookie {
		return true
	}
	ufrag := stunLocalUfrag(p)
	g.mu.RLock()
	_, known := g.known[from]
	_, live := g.live[string(ufrag)] // no allocation: the compiler looks the bytes up
	pass := known || (live && ufrag != nil)
	if !pass {
		// The answer to our check of an address not learned: its exact
		// transaction ID, nothing else from there.
		a, ok := g.awaited[from]
		pass = ok && string(p[8:20]) == string(a.tx[:])
	}
	g.mu.RUnlock()
	if pass {
		return true
	}
	g.filtered.Add(1)
	return false
}

// learn is told that from sent a request naming the live ufrag that passed
// integrity, and says whether pion may see it: yes if from is learned
// already or there is room for it, paced by newAddrInterval. When the set
// is full, the least recently seen address without fresh consent makes
// room; failing that, the least recently seen one other than the address
// that answered our check last (the one the member's media most likely
// goes to, never evicted). Only the member can get an address learned, so
// only it can evict one of its own.
func (g *udpGuard) learn(ufrag string, from netip.AddrPort, now time.Time) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	u := g.live[ufrag]
	if u == nil {
		return false
	}
	for i := range u.addrs {
		if u.addrs[i].ap == from {
			u.addrs[i].seen = now
			return true
		}
	}
	due := u.nextNew
	if due.Before(now) {
		due = now
	}
	if u.total >= maxAddrsPerSession || due.Sub(now) > (maxAddrsPerUfrag-1)*newAddrInterval {
		return false
	}
	slot := len(u.addrs)
	if slot < maxAddrsPerUfrag {
		u.addrs = append(u.addrs, learnedAddr{})
	} else if slot = u.victim(now); slot < 0 {
		return false
	} else {
		g.unknow(u.addrs[slot].ap)
	}
	u.addrs[slot] = learnedAddr{ap: from, seen: now}
	u.nextNew = due.Add(newAddrInterval)
	u.total++
	g.known[from]++
	return true
}

// victim picks the address a full set forgets (see learn), or -1.
func (u *ufragAddrs) victim(now time.Time) int {
	keep := -1 // the address that answered our check last
	for i, a := range u.addrs {
		if !a.granted.IsZero() && (keep < 0 || a.granted.After(u.addrs[keep].granted)) {
			keep = i
		}
	}
	best, bestFresh := -1, true
	for i, a := range u.addrs {
		if i == keep {
			continue
		}
		fresh := !a.granted.IsZero() && now.Sub(a.granted) < consentLifetime
		if best < 0 || (bestFresh && !fresh) || (bestFresh == fresh && a.seen.Before(u.addrs[best].seen)) {
			best, bestFresh = i, fresh
		}
	}
	return best
}

// await lets through the answer to the check with transaction ID tx that
// the consent gate is about to send to from, an address no authenticated
// request taught the guard (a member's media from a new address: the
// request that would teach it is what the gate does not wait for). It says
// whether there was room. Nothing is learned: only the answer, verified by
// the gate, has from learned (learn), so a spoofer who makes us check a
// victim takes nothing from the member's own budget of addresses.
func (g *udpGuard) await(from netip.AddrPort, tx [12]byte, now time.Time) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	if _, ok := g.awaited[from]; !ok && len(g.awaited) >= maxAwaited {
		g.sweepAwaitedLocked(now)
		if len(g.awaited) >= maxAwaited {
			return false
		}
	}
	g.awaited[from] = awaited{tx: tx, sent: now}
	g.sweeper.ArmLocked(&g.mu, consentSweepEvery, func() int {
		g.sweepAwaitedLocked(time.Now())
		return len(g.awaited)
	})
	return true
}

// answered is told that the gate has the answer awaited from from.
func (g *udpGuard) answered(from netip.AddrPort) {
	g.mu.Lock()
	delete(g.awaited, from)
	g.mu.Unlock()
}

// sweepAwaitedLocked forgets the answers that did not come within
// answerWait. Called with g.mu.
func (g *udpGuard) sweepAwaitedLocked(now time.Time) {
	for a, w := range g.awaited {
		if now.Sub(w.sent) >= answerWait {
			delete(g.awaited, a)
		}
	}
}

// consented is told that from answered our check for the session of ufrag.
func (g *udpGuard) consented(ufrag string, from netip.AddrPort, now time.Time) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if u := g.live[ufrag]; u != nil {
		for i := range u.addrs {
			if u.addrs[i].ap == from {
				u.addrs[i].seen, u.addrs[i].granted = now, now
				return
			}
		}
	}
}

// stunLocalUfrag returns the part of a STUN message's USERNAME before the
// first colon (the receiver's ufrag, RFC 8445 §7.2.2), as pion's mux reads
// it, or nil if the message has no well-formed USERNAME.
func stunLocalUfrag(p []byte) []byte {
	end := 20 + int(binary.BigEndian.Uint16(p[2:4]))
	if end > len(p) {
		return nil // pion fails to decode it
	}
	for off := 20; off+4 <= end; {
		typ := binary.BigEndian.Uint16(p[off:])
		n := int(binary.BigEndian.Uint16(p[off+2:]))
		off += 4
		if off+n > end {
			return nil
		}
		if typ == stunAttrUsername {
			v := p[off : off+n]
			if i := bytes.IndexByte(v, ':'); i >= 0 {
				v = v[:i]
			}
			return v
		}
		off += (n + 3) &^ 3
	}
	return nil
}

// canonical is how pion keys addresses: IPv4-in-IPv6 unmapped.
func canonical(a netip.AddrPort) netip.AddrPort {
	if a.Addr().Is4In6() {
		return netip.AddrPortFrom(a.Addr().Unmap(), a.Port())
	}
	return a
}

// guardedConn is the mux's UDP socket with the guard in front of its reads,
// which take packets off the socket in batches (batchReader). It implements
// ice.AddrPortReaderWriter, so pion reads and writes through it without
// allocating.
type guardedConn struct {
	*net.UDPConn
	g *udpGuard

	mu sync.Mutex // one reader at a time (pion has one)
	r  *batchReader
}

func newGuardedConn(c *net.UDPConn, g *udpGuard) *guardedConn {
	return &guardedConn{UDPConn: c, g: g, r: newBatchReader(c)}
}

var _ ice.AddrPortReaderWriter = (*guardedConn)(nil)

func (c *guardedConn) ReadFromAddrPort(b []byte) (int, netip.AddrPort, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for {
		var n int
		var from netip.AddrPort
		var err error
		if c.r != nil {
			n, from, err = c.r.read(b)
		} else {
			n, from, err = c.UDPConn.ReadFromUDPAddrPort(b)
		}
		if err != nil || c.g.admit(b[:n], canonical(from)) {
			return n, from, err
		}
	}
}

func (c *guardedConn) WriteToAddrPort(b []byte, addr netip.AddrPort) (int, error) {
	return c.UDPConn.WriteToUDPAddrPort(b, addr)
}

// ReadFrom is ReadFromAddrPort for callers that want a net.Addr.
func (c *guardedConn) ReadFrom(b []byte) (int, net.Addr, error) {
	n, from, err := c.ReadFromAddrPort(b)
	if err != nil {
		return n, nil, err
	}
	return n, net.UDPAddrFromAddrPort(from), nil
}

// guardedMux tells the guard which ufrags the ICE agents gather with and
// drop: every agent calls GetConn with its local ufrag before its candidates
// exist, and RemoveConnByUfrag when it closes or restarts ICE.
type guardedMux struct {
	ice.UDPMux
	g *udpGuard
}

func (m *guardedMux) GetConn(ufrag string, addr net.Addr) (net.PacketConn, error) {
	m.g.issue(ufrag)
	return m.UDPMux.GetConn(ufrag, addr)
}

func (m *guardedMux) RemoveConnByUfrag(ufrag string) {
	m.g.revoke(ufrag)
	m.UDPMux.RemoveConnByUfrag(ufrag)
}

// guardedNet is the network pion's multi-socket mux listens through: every
// socket it opens gets the receive buffer and the guard.
type guardedNet struct {
	transport.Net
	g      *udpGuard
	rcvbuf *int // the smallest buffer the kernel granted
}

func (n *guardedNet) ListenUDP(network string, laddr *net.UDPAddr) (transport.UDPConn, error) {
	c, err := n.Net.ListenUDP(network, laddr)
	if err != nil {
		return nil, err
	}
	uc, ok := c.(*net.UDPConn)
	if !ok {
		_ = c.Close()
		return nil, errors.New("sfu: unexpected UDP socket type")
	}
	if got := setReadBuffer(uc, UDPReadBuffer); *n.rcvbuf == 0 || got < *n.rcvbuf {
		*n.rcvbuf = got
	}
	return newGuardedConn(uc, n.g), nil
}
