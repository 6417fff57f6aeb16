package sfu

import (
	"fmt"
	"net"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/pion/stun/v4"

	"sotto/internal/testutil"
)

// One member must not be able to point its stream at another host. The
// member knows its session's ICE credentials, so it can send an
// authenticated binding request with USE-CANDIDATE from any source address
// it can spoof, and pion's ICE-lite agent moves the member's media there at
// once, without a check: a reflector that sends 50 packets/s to whoever the
// member names, for as long as it keeps the address alive. Here the
// "spoofed" sources are loopback sockets the test owns (127.0.0.2 ...); they
// send the member's requests but, like any victim, never answer the
// server's. What they may receive is bounded: no media (DTLS, RTP, RTCP) at
// all, and STUN only as pion's answer to each request plus at most one
// consent check per consentCheckInterval (while the requests last, and for
// consentRetryWindow after). Fix: consent.go.
func TestSpoofedNominationGetsNoMedia(t *testing.T) {
	testutil.LeakCheck(t)
	roomID := [16]byte{0x09}
	s, m := heardRoom(t, roomID, 'm') // m is the attacker

	// The member's credentials, as its own client knows them: the server's
	// ufrag and password from the answer, its own ufrag from the offer.
	c := credsOf(t, s, roomID, s.find(roomID, m.ID))
	server := s.UDPAddrs()[0]

	const (
		victims   = 3
		perVictim = 1500 * time.Millisecond
		every     = 100 * time.Millisecond // the attacker's request rate per victim
	)
	type tally struct{ requests, stunIn, media int }
	tallies := make([]tally, victims)
	var wg sync.WaitGroup
	var conns []net.PacketConn
	for i := range victims {
		conn, err := net.ListenPacket("udp4", fmt.Sprintf("127.0.0.%d:0", i+2))
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		conns = append(conns, conn)
		wg.Add(1)
		go func() { // the victim counts what reaches it, and answers nothing
			defer wg.Done()
			buf := make([]byte, 2048)
			for {
				n, _, err := conn.ReadFrom(buf)
				if err != nil {
					return
				}
				if isSTUN(buf[:n]) {
					tallies[i].stunIn++
				} else {
					tallies[i].media++
				}
			}
		}()
		// The attack: nominate the victim's address, again and again.
		deadline := time.Now().Add(perVictim)
		for time.Now().Before(deadline) {
			if _, err := conn.WriteTo(c.nomination(t, c.srvPwd), server); err != nil {
				t.Fatal(err)
			}
			tallies[i].requests++
			time.Sleep(every)
		}
	}
	time.Sleep(500 * time.Millisecond) // what was in flight arrives
	for _, c := range conns {
		c.Close()
	}
	wg.Wait() // the tallies are final

	if st := s.Stats(); st.Unconsented == 0 {
		t.Error("Stats.Unconsented is 0: the server never tried to send the member's media to the victims")
	}
	// One check per consentCheckInterval while the requests last, and for
	// consentRetryWindow after the last one while pion writes there.
	maxChecks := int((perVictim+consentRetryWindow)/consentCheckInterval) + 1
	for i, tl := range tallies {
		t.Logf("victim 127.0.0.%d: %d requests sent in its name; received %d STUN, %d media packets", i+2, tl.requests, tl.stunIn, tl.media)
		if tl.media > 0 {
			t.Errorf("victim 127.0.0.%d received %d media packets it never agreed to", i+2, tl.media)
		}
		if tl.stunIn > tl.requests+maxChecks {
			t.Errorf("victim 127.0.0.%d received %d STUN packets, want at most %d answers + %d checks", i+2, tl.stunIn, tl.requests, maxChecks)
		}
	}
}

// consentSocket is one consent-gated loopback socket with one live session
// (our ufrag "srv"), and a binding request that passes its integrity check.
func consentSocket(t *testing.T) (*consentConn, *stun.Message) {
	t.Helper()
	conn, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	g := newConsentGuard()
	creds := iceCreds{localUfrag: "srv", localPwd: "srvpasswordsrvpassword", remoteUfrag: "cli", remotePwd: "clipasswordclipassword"}
	g.set("", creds)
	req, err := stun.Build(stun.BindingRequest, stun.TransactionID, stun.NewUsername("srv:cli"),
		stun.NewShortTermIntegrity(creds.localPwd), stun.Fingerprint)
	if err != nil {
		t.Fatal(err)
	}
	return g.wrap(conn), req
}

// The consent table of a socket stays within maxConsentAddrs however many
// sources a member spoofs, and an address with consent outlives the
// spoofed ones.
func TestConsentTableIsBounded(t *testing.T) {
	c, req := consentSocket(t)
	// The real client: checked, and it answered.
	real := netip.MustParseAddrPort("127.0.0.1:9")
	c.request(req, real)
	c.mu.Lock()
	c.addrs[real].granted = time.Now()
	c.mu.Unlock()
	// Spoofed sources, more than the table holds (port 9 on 127.0.1.x/127.0.2.x:
	// discard, nothing listens).
	for i := range maxConsentAddrs + 100 {
		ap := netip.AddrPortFrom(netip.AddrFrom4([4]byte{127, 0, byte(1 + i/65536), byte(i / 256 % 256)}), uint16(1000+i%256))
		c.request(req, ap)
	}
	c.mu.Lock()
	n, kept := len(c.addrs), c.addrs[real] != nil
	c.mu.Unlock()
	if n > maxConsentAddrs {
		t.Errorf("%d addresses remembered, want at most %d", n, maxConsentAddrs)
	}
	if !kept {
		t.Error("spoofed sources crowded out the address with consent")
	}
}

// A socket forgets an address, and the session credentials kept with it,
// once its consent has lapsed: on the next request after consentSweep, not
// when the table fills (security.md §10: an address is held only while it
// counts). One with fresh consent stays.
func TestConsentTableForgetsLapsedAddresses(t *testing.T) {
	c, req := consentSocket(t)
	gone := netip.MustParseAddrPort("127.0.0.1:9")
	live := netip.MustParseAddrPort("127.0.0.1:10")
	c.request(req, gone)
	c.request(req, live)
	long := time.Now().Add(-consentLifetime - time.Second)
	c.mu.Lock()
	c.addrs[gone].granted, c.addrs[gone].checked = long, long // its member left a while ago
	c.addrs[live].granted = time.Now()
	c.nextSweep = time.Now() // a sweep is due
	c.mu.Unlock()
	c.request(req, live) // any authenticated request
	c.mu.Lock()
	_, heldGone := c.addrs[gone]
	_, heldLive := c.addrs[live]
	c.mu.Unlock()
	if heldGone {
		t.Error("an address whose consent lapsed is still held")
	}
	if !heldLive {
		t.Error("an address with fresh consent was forgotten")
	}
}

// With no traffic at all a socket still forgets lapsed addresses: the first
// entry arms a timer, whose sweep drops what lapsed and stops when nothing
// is left (security.md §10). The same holds for the per-IP check pacing.
// The sweep interval is shortened; nothing but the timer touches the tables.
func TestConsentTablesForgetWithoutTraffic(t *testing.T) {
	old := consentSweepEvery
	consentSweepEvery = 20 * time.Millisecond
	t.Cleanup(func() { consentSweepEvery = old })
	conn, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	g := newConsentGuard()
	c := g.wrap(conn)
	ap := netip.MustParseAddrPort("127.0.0.1:9")
	now := time.Now()
	c.mu.Lock()
	c.entry(ap, now)
	armed := c.sweeper.Armed()
	long := now.Add(-consentLifetime - time.Second)
	c.addrs[ap].granted, c.addrs[ap].checked = long, long
	c.mu.Unlock()
	if !armed {
		t.Fatal("a new entry armed no sweep: on a quiet server it would be kept for ever")
	}
	quiet := func(what string, state func() (held int, armed bool)) {
		t.Helper()
		deadline := time.Now().Add(2 * time.Second)
		for {
			held, armed := state()
			if held == 0 && !armed {
				return
			}
			if time.Now().After(deadline) {
				t.Errorf("2 s after its timer's sweeps: %d %s held, timer still armed %v", held, what, armed)
				return
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	quiet("addresses", func() (int, bool) {
		c.mu.Lock()
		defer c.mu.Unlock()
		return len(c.addrs), c.sweeper.Armed()
	})

	g.set("", iceCreds{localUfrag: "srv", localPwd: "p", remoteUfrag: "cli", remotePwd: "q"})
	if !g.mayCheck("srv", ap.Addr(), now.Add(-time.Hour)) {
		t.Fatal("a first check was not allowed")
	}
	g.mu.Lock()
	armed = g.sweeper.Armed()
	g.mu.Unlock()
	if !armed {
		t.Fatal("pacing an IP armed no sweep")
	}
	quiet("IPs", func() (int, bool) {
		g.mu.Lock()
		defer g.mu.Unlock()
		return len(g.checkIP), g.sweeper.Armed()
	})
}
