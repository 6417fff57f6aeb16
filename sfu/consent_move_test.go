package sfu

import (
	"fmt"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/ice/v4"
	"github.com/pion/stun/v4"

	"sotto/internal/testutil"
)

// sessionCreds are one member's ICE credentials as its own client knows them.
type sessionCreds struct{ srvUfrag, srvPwd, cliUfrag, cliPwd string }

func credsOf(t testing.TB, s *SFU, roomID [16]byte, p *peer) sessionCreds {
	t.Helper()
	var c sessionCreds
	var ok1, ok2 bool
	c.srvUfrag, c.srvPwd, ok1 = sdpICECreds(p.pc.LocalDescription().SDP)
	c.cliUfrag, c.cliPwd, ok2 = sdpICECreds(p.pc.RemoteDescription().SDP)
	if !ok1 || !ok2 {
		t.Fatal("no ICE credentials in the session's descriptions")
	}
	return c
}

// nomination is the member's binding request with USE-CANDIDATE, signed
// with pwd (the session's password, or not).
func (c sessionCreds) nomination(t testing.TB, pwd string) []byte {
	t.Helper()
	return c.check(t, pwd, ice.UseCandidate())
}

// check is the member's binding request, signed with pwd.
func (c sessionCreds) check(t testing.TB, pwd string, more ...stun.Setter) []byte {
	t.Helper()
	req, err := stun.Build(append([]stun.Setter{stun.BindingRequest, stun.TransactionID,
		stun.NewUsername(c.srvUfrag + ":" + c.cliUfrag),
		ice.AttrControlling(1), ice.PriorityAttr(0x7effffff)}, append(more,
		stun.NewShortTermIntegrity(pwd), stun.Fingerprint)...)...)
	if err != nil {
		t.Fatal(err)
	}
	return req.Raw
}

// peerSock is one source address of the test: it counts what the server
// sends it and, if answers is set, answers the server's checks as the
// member's browser would (signed with the client's password).
type peerSock struct {
	conn                     net.PacketConn
	media, checks, responses atomic.Int64
	done                     chan struct{}
}

func newPeerSock(t testing.TB, ip string, cliPwd string, answers bool) *peerSock {
	t.Helper()
	conn, err := net.ListenPacket("udp4", ip+":0")
	if err != nil {
		t.Fatal(err)
	}
	ps := &peerSock{conn: conn, done: make(chan struct{})}
	t.Cleanup(ps.close)
	go func() {
		defer close(ps.done)
		buf := make([]byte, 2048)
		for {
			n, from, err := conn.ReadFrom(buf)
			if err != nil {
				return
			}
			if !isSTUN(buf[:n]) {
				ps.media.Add(1)
				continue
			}
			m := &stun.Message{Raw: append([]byte(nil), buf[:n]...)}
			if m.Decode() != nil {
				continue
			}
			switch m.Type {
			case stun.BindingSuccess:
				ps.responses.Add(1)
			case stun.BindingRequest:
				ps.checks.Add(1)
				if !answers {
					continue
				}
				u := from.(*net.UDPAddr)
				resp, err := stun.Build(stun.BindingSuccess, stun.NewTransactionIDSetter(m.TransactionID),
					&stun.XORMappedAddress{IP: u.IP, Port: u.Port},
					stun.NewShortTermIntegrity(cliPwd), stun.Fingerprint)
				if err == nil {
					_, _ = conn.WriteTo(resp.Raw, from)
				}
			}
		}
	}()
	return ps
}

func (ps *peerSock) close() { _ = ps.conn.Close(); <-ps.done }

// Review item 1: a member whose address changes more often than the guard
// remembers addresses for one ufrag (NAT rebindings, rotating IPv6
// addresses, network switches) still gets its media at its latest address.
// The answers to our consent checks name no ufrag, so the guard passes them
// only from learned addresses; it used to stop learning after 16, and the
// 17th address never got consent: pion answered its checks (ICE looked fine
// to the browser) but the server sent it nothing. And requests that fail
// integrity, from anyone who saw the ufrag, are never learned.
func TestMemberMovingManyTimesKeepsMedia(t *testing.T) {
	testutil.LeakCheck(t)
	roomID := [16]byte{0x0a}
	s, m := heardRoom(t, roomID, 'm')
	c := credsOf(t, s, roomID, s.find(roomID, m.ID))
	server := s.UDPAddrs()[0]

	const moves = 20 // more than maxAddrsPerUfrag
	for i := range moves {
		// The member's new address (a NAT rebinding): it nominates itself
		// until media arrives there, answering the server's checks.
		ps := newPeerSock(t, fmt.Sprintf("127.0.0.%d", 2+i%4), c.cliPwd, true)
		deadline := time.Now().Add(3 * time.Second)
		for ps.media.Load() < 5 {
			if time.Now().After(deadline) {
				t.Fatalf("address %d of the member: no media within 3 s (%d checks received)", i+1, ps.checks.Load())
			}
			if _, err := ps.conn.WriteTo(c.nomination(t, c.srvPwd), server); err != nil {
				t.Fatal(err)
			}
			time.Sleep(50 * time.Millisecond)
		}
		ps.close() // the member moved on
	}

	// Someone who saw the ufrag but not the password: never learned, never
	// seen by pion.
	for i := range 20 {
		ps := newPeerSock(t, fmt.Sprintf("127.0.0.%d", 10+i%4), "", false)
		if _, err := ps.conn.WriteTo(c.nomination(t, "not the password"), server); err != nil {
			t.Fatal(err)
		}
		time.Sleep(5 * time.Millisecond)
		ap, _ := addrPortOf(ps.conn.LocalAddr())
		s.net.guard.mu.RLock()
		_, learned := s.net.guard.known[ap]
		s.net.guard.mu.RUnlock()
		if learned {
			t.Fatalf("a request with the wrong integrity got its address %d learned", i)
		}
		if ps.responses.Load() != 0 {
			t.Fatalf("pion answered a request with the wrong integrity")
		}
	}
}

// Review item 4: each authenticated request from a new source address that
// reaches pion makes its agent add a peer-reflexive candidate and pairs, and
// its muxed conn remember the address for the session's life. A member
// spoofing many sources gets maxAddrsPerUfrag of them to pion at once (then
// newAddrInterval's pace), and keeps its own media.
func TestSpoofedSourcesDoNotReachPion(t *testing.T) {
	testutil.LeakCheck(t)
	roomID := [16]byte{0x0b}
	s, m := heardRoom(t, roomID, 'm')
	c := credsOf(t, s, roomID, s.find(roomID, m.ID))
	server := s.UDPAddrs()[0]

	const sources = 200
	socks := make([]*peerSock, sources)
	start := time.Now()
	for i := range socks {
		socks[i] = newPeerSock(t, fmt.Sprintf("127.0.0.%d", 2+i%8), "", false)
		// A check, not a nomination: pion would move the member's own
		// media to a source that never answers (consent.go).
		if _, err := socks[i].conn.WriteTo(c.check(t, c.srvPwd), server); err != nil {
			t.Fatal(err)
		}
	}
	time.Sleep(300 * time.Millisecond) // pion's answers arrive
	took := time.Since(start)
	answered := 0
	for _, ps := range socks {
		answered += int(ps.responses.Load())
	}
	// What pion may see: the room left in the burst, plus the pace over
	// the time the requests (and their answers) took, plus one.
	limit := maxAddrsPerUfrag + int(took/newAddrInterval) + 1
	t.Logf("%d authenticated requests from distinct sources in %v: pion answered %d (limit %d)", sources, took.Round(time.Millisecond), answered, limit)
	if answered > limit {
		t.Errorf("pion saw %d spoofed sources, want at most %d", answered, limit)
	}
	for _, ps := range socks {
		ps.close()
	}

	// The member's own address kept its consent and its media.
	n0, _ := m.Count()
	testutil.WaitFor(t, 5*time.Second, "the member to keep hearing the talker", func() bool { n, _ := m.Count(); return n > n0+25 })
}

// A bare consent gate (no flood guard, so only its own pacing counts) on a
// real socket, with session sess registered, plus a plain socket playing
// the client.
func consentPair(t testing.TB, sessions ...iceCreds) (*consentGuard, *consentConn) {
	t.Helper()
	conn, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	g := newConsentGuard()
	for _, c := range sessions {
		g.set("", c)
	}
	return g, g.wrap(conn)
}

func signedRequest(t testing.TB, c iceCreds) *stun.Message {
	t.Helper()
	m, err := stun.Build(stun.BindingRequest, stun.TransactionID, stun.NewUsername(c.localUfrag+":"+c.remoteUfrag),
		stun.NewShortTermIntegrity(c.localPwd), stun.Fingerprint)
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Decode(); err != nil {
		t.Fatal(err)
	}
	return m
}

var (
	credsA = iceCreds{localUfrag: "srvA", localPwd: "srvpasswordsrvpasswordA", remoteUfrag: "cliA", remotePwd: "clipasswordclipasswordA"}
	credsB = iceCreds{localUfrag: "srvB", localPwd: "srvpasswordsrvpasswordB", remoteUfrag: "cliB", remotePwd: "clipasswordclipasswordB"}
)

// Review item 3: the 500 ms between checks held per address and port, so a
// member spoofing its victim's IP with a new port on each request had the
// server send the victim one check per request (its size set by the
// member's ufrag). Checks to addresses without consent are paced per
// session and per IP: one victim IP gets at most checkBurst, then one per
// checkInterval, from one session or two.
func TestChecksPerVictimIPArePaced(t *testing.T) {
	g, c := consentPair(t, credsA, credsB)
	reqA, reqB := signedRequest(t, credsA), signedRequest(t, credsB)
	victim := netip.MustParseAddr("127.0.0.2") // port 1000+i: nothing listens
	const (
		span  = 1500 * time.Millisecond
		every = 2 * time.Millisecond
	)
	start := time.Now()
	i := 0
	for time.Since(start) < span {
		req := reqA
		if i%2 == 1 {
			req = reqB // a second session of the attacker, same victim
		}
		c.request(req, netip.AddrPortFrom(victim, uint16(1000+i)))
		i++
		time.Sleep(every)
	}
	took := time.Since(start)
	checks := int(g.checks.Load())
	limit := checkBurst + int(took/checkInterval) + 1
	t.Logf("%d requests with a new port each in %v: %d checks to the victim IP (limit %d)", i, took.Round(time.Millisecond), checks, limit)
	if checks > limit {
		t.Errorf("the victim IP got %d checks, want at most %d", checks, limit)
	}
}

// clientSock plays the member's browser at one address for a bare consent
// gate: the server's checks it receives arrive on checks.
func clientSock(t testing.TB) (net.PacketConn, netip.AddrPort, chan *stun.Message) {
	t.Helper()
	conn, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ap, _ := addrPortOf(conn.LocalAddr())
	checks := make(chan *stun.Message, 64)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		buf := make([]byte, 2048)
		for {
			n, _, err := conn.ReadFrom(buf)
			if err != nil {
				return
			}
			m := &stun.Message{Raw: append([]byte(nil), buf[:n]...)}
			if isSTUN(buf[:n]) && m.Decode() == nil && m.Type == stun.BindingRequest {
				select {
				case checks <- m:
				default:
				}
			}
		}
	}()
	t.Cleanup(func() { _ = conn.Close(); wg.Wait() })
	return conn, ap, checks
}

func nextCheck(t testing.TB, checks chan *stun.Message) *stun.Message {
	t.Helper()
	select {
	case m := <-checks:
		return m
	case <-time.After(2 * time.Second):
		t.Fatal("no check arrived")
		return nil
	}
}

func answerTo(t testing.TB, check *stun.Message, pwd string) *stun.Message {
	t.Helper()
	m, err := stun.Build(stun.BindingSuccess, stun.NewTransactionIDSetter(check.TransactionID),
		stun.NewShortTermIntegrity(pwd), stun.Fingerprint)
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Decode(); err != nil {
		t.Fatal(err)
	}
	return m
}

// Review item 5: an answer was verified against the consent entry's
// credentials as they were when it arrived, not those its check was signed
// with: a request of another session from the member's address in between
// made the member's valid answer fail.
func TestConsentAnswerUsesCheckCredentials(t *testing.T) {
	_, c := consentPair(t, credsA, credsB)
	_, member, checks := clientSock(t)
	c.request(signedRequest(t, credsA), member)
	check := nextCheck(t, checks)
	c.request(signedRequest(t, credsB), member) // before A's address has consent
	if !answered(c, answerTo(t, check, credsA.remotePwd), member) {
		t.Fatal("the answer to our check was not taken as ours")
	}
	if !hasConsent(c, member) {
		t.Fatal("the member's answer, signed with the password its check used, did not grant consent")
	}
}

// Review item 5: consent credentials per address were last-writer-wins. A
// request of another session spoofed from a member's exact address, while
// that address had fresh consent, replaced them: our next refresh was
// signed with the wrong password, the member's answer failed and its media
// stopped. Now such a request changes nothing and does not reach pion.
func TestConsentCredentialsAreNotOverwritten(t *testing.T) {
	_, c := consentPair(t, credsA, credsB)
	_, member, checks := clientSock(t)
	c.request(signedRequest(t, credsA), member)
	if !answered(c, answerTo(t, nextCheck(t, checks), credsA.remotePwd), member) || !hasConsent(c, member) {
		t.Fatal("the member's address got no consent")
	}
	if requestPasses(c, signedRequest(t, credsB), member) {
		t.Error("another session's request from an address with fresh consent would reach pion")
	}
	c.mu.Lock()
	e := c.addrs[member]
	e.granted = time.Now().Add(-consentRefresh - time.Second) // a refresh is due
	e.checked = time.Time{}
	c.mu.Unlock()
	// The member's media is flowing: the next packet sends the refresh.
	_, _ = c.WriteTo(append([]byte{0x80, 111}, make([]byte, 98)...), net.UDPAddrFromAddrPort(member))
	refresh := nextCheck(t, checks)
	if err := stun.NewShortTermIntegrity(credsA.remotePwd).Check(refresh); err != nil {
		t.Fatalf("the member's refresh check is not signed with its session's password: %v", err)
	}
}

// Review item 7: a lost first check left an address without consent until
// the client's next request (2.5-5 s of silence). Media written to it now
// retries the check, one per consentCheckInterval, shortly after a request.
func TestLostCheckIsRetriedByMedia(t *testing.T) {
	g, c := consentPair(t, credsA)
	conn, member, checks := clientSock(t)
	_ = conn
	go func() { // the server's reader: consumes the answers to its checks
		buf := make([]byte, 2048)
		for {
			if _, _, err := c.ReadFrom(buf); err != nil {
				return
			}
		}
	}()
	c.request(signedRequest(t, credsA), member)
	nextCheck(t, checks) // lost: never answered
	media := append([]byte{0x80, 111}, make([]byte, 98)...)
	to := net.UDPAddrFromAddrPort(member)
	deadline := time.Now().Add(2 * consentCheckInterval)
	var retry *stun.Message
	for retry == nil && time.Now().Before(deadline) {
		_, _ = c.WriteTo(media, to)
		select {
		case retry = <-checks:
		case <-time.After(20 * time.Millisecond):
		}
	}
	if retry == nil {
		t.Fatalf("no check retried within %v of media to an address without consent (%d checks sent)", 2*consentCheckInterval, g.checks.Load())
	}
	resp, err := stun.Build(stun.BindingSuccess, stun.NewTransactionIDSetter(retry.TransactionID),
		stun.NewShortTermIntegrity(credsA.remotePwd), stun.Fingerprint)
	if err != nil {
		t.Fatal(err)
	}
	srv := c.PacketConn.LocalAddr()
	if _, err := conn.WriteTo(resp.Raw, srv); err != nil {
		t.Fatal(err)
	}
	testutil.WaitFor(t, time.Second, "consent from the answer to the retried check", func() bool { return hasConsent(c, member) })
}

// nullConn is a socket that writes nowhere, so that only the consent gate's
// own costs are measured.
type nullConn struct{ net.PacketConn }

func (nullConn) WriteTo(b []byte, _ net.Addr) (int, error) { return len(b), nil }

// gateWithMember is a consent gate on a socket that writes nowhere, whose
// session (credsA) has one member address with consent, and an address
// that never sent it anything.
func gateWithMember(t *testing.T) (c *consentConn, member, stranger netip.AddrPort) {
	t.Helper()
	g := newConsentGuard()
	g.set("", credsA)
	c = g.wrap(nullConn{})
	member = netip.MustParseAddrPort("127.0.0.1:4000")
	stranger = netip.MustParseAddrPort("127.0.0.1:9")
	c.request(signedRequest(t, credsA), member)
	c.mu.Lock()
	c.addrs[member].granted = time.Now()
	c.mu.Unlock()
	return c, member, stranger
}

// Media to an address with consent, the per-packet path, costs no
// allocation; neither does refusing media to one without.
func TestConsentWriteAllocations(t *testing.T) {
	c, member, stranger := gateWithMember(t)
	media := append([]byte{0x80, 111}, make([]byte, 98)...)
	for name, ap := range map[string]netip.AddrPort{"consented": member, "refused": stranger} {
		to := net.UDPAddrFromAddrPort(ap)
		if n := testing.AllocsPerRun(1000, func() { _, _ = c.WriteTo(media, to) }); n != 0 {
			t.Errorf("%s: %v allocations per media packet", name, n)
		}
	}
}
