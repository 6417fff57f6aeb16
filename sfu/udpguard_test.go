package sfu

import (
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/pion/stun/v4"
)

// bindingIndication is what a client may send as a keepalive (RFC 8445 §11).
var bindingIndication = stun.NewType(stun.MethodBinding, stun.ClassIndication)

func stunMsg(t testing.TB, typ stun.MessageType, setters ...stun.Setter) []byte {
	t.Helper()
	m, err := stun.Build(append([]stun.Setter{stun.TransactionID, typ}, setters...)...)
	if err != nil {
		t.Fatal(err)
	}
	return m.Raw
}

func TestStunLocalUfrag(t *testing.T) {
	integrity := stun.NewShortTermIntegrity("pwd")
	for _, tc := range []struct {
		name string
		p    []byte
		want string // "<nil>": none
	}{
		{"check", stunMsg(t, stun.BindingRequest, stun.NewUsername("srv1:cli1"), integrity, stun.Fingerprint), "srv1"},
		{"no colon", stunMsg(t, stun.BindingRequest, stun.NewUsername("srv1")), "srv1"},
		{"empty", stunMsg(t, stun.BindingRequest, stun.NewUsername("")), ""},
		{"after other attributes", stunMsg(t, stun.BindingRequest, stun.NewSoftware("x"), stun.NewUsername("ab:c")), "ab"},
		{"no username", stunMsg(t, bindingIndication, stun.Fingerprint), "<nil>"},
		{"length past the packet", func() []byte {
			p := stunMsg(t, stun.BindingRequest, stun.NewUsername("srv1:cli1"))
			return p[:len(p)-4]
		}(), "<nil>"},
		{"attribute past the message", func() []byte {
			p := stunMsg(t, stun.BindingRequest, stun.NewUsername("srv1:cli1"))
			p[20+3] = 200 // USERNAME's length
			return p
		}(), "<nil>"},
	} {
		got := stunLocalUfrag(tc.p)
		if s := string(got); (got == nil && tc.want != "<nil>") || (got != nil && s != tc.want) {
			t.Errorf("%s: got %q (nil %v), want %q", tc.name, s, got == nil, tc.want)
		}
	}
}

// FuzzStunLocalUfrag checks the guard against pion's own reading: whatever
// ufrag pion's mux would look up for a packet, the guard finds the same, so
// it never drops a packet pion would have delivered.
func FuzzStunLocalUfrag(f *testing.F) {
	f.Add(stunMsg(f, stun.BindingRequest, stun.NewUsername("srv1:cli1"), stun.NewShortTermIntegrity("p"), stun.Fingerprint))
	f.Add(stunMsg(f, stun.BindingRequest, stun.NewSoftware("abc"), stun.NewUsername("u")))
	f.Add(stunMsg(f, bindingIndication))
	f.Fuzz(func(t *testing.T, p []byte) {
		if !stun.IsMessage(p) {
			return
		}
		m := &stun.Message{Raw: append([]byte{}, p...)}
		if m.Decode() != nil {
			return
		}
		attr, err := m.Get(stun.AttrUsername)
		if err != nil {
			return
		}
		want := strings.Split(string(attr), ":")[0]
		if got := stunLocalUfrag(p); got == nil || string(got) != want {
			t.Fatalf("guard reads ufrag %q (nil %v), pion %q", got, got == nil, want)
		}
	})
}

func TestUDPGuardAdmit(t *testing.T) {
	g := newUDPGuard()
	client := netip.MustParseAddrPort("127.0.0.1:5000")
	other := netip.MustParseAddrPort("127.0.0.2:5000")
	check := func(ufrag string) []byte {
		return stunMsg(t, stun.BindingRequest, stun.NewUsername(ufrag+":cli"), stun.NewShortTermIntegrity("p"), stun.Fingerprint)
	}
	indication := stunMsg(t, bindingIndication, stun.Fingerprint)
	rtp := append([]byte{0x80, 111}, make([]byte, 98)...)
	dtls := append([]byte{22, 0xfe, 0xfd}, make([]byte, 60)...)

	for _, p := range [][]byte{rtp, dtls} {
		if !g.admit(p, other) {
			t.Errorf("non-STUN packet %x… dropped", p[:3])
		}
	}
	if g.admit(check("nobody"), other) || g.admit(indication, other) {
		t.Error("STUN naming no live ufrag admitted")
	}
	g.issue("srv1")
	if !g.admit(check("srv1"), client) {
		t.Error("check naming a live ufrag dropped")
	}
	if g.admit(indication, client) {
		t.Error("indication admitted from an address whose check was not verified")
	}
	g.learn("srv1", client, time.Now()) // the consent gate verified its check
	if !g.admit(indication, client) {
		t.Error("indication from an address that sent a valid check dropped")
	}
	if g.admit(indication, other) {
		t.Error("indication from an unknown address admitted")
	}
	if got := g.filtered.Load(); got != 4 {
		t.Errorf("filtered %d, want 4", got)
	}
	g.revoke("srv1")
	if g.admit(check("srv1"), client) || g.admit(indication, client) {
		t.Error("STUN admitted after its ufrag was revoked")
	}
	if len(g.live) != 0 || len(g.known) != 0 {
		t.Errorf("revoke left %d ufrags, %d addresses", len(g.live), len(g.known))
	}

	// One member's ufrag from many ports: its checks pass the guard from
	// all of them (the consent gate verifies them), but only
	// maxAddrsPerUfrag are learned at once, paced by newAddrInterval.
	g.issue("srv2")
	now := time.Now()
	learned := 0
	for port := range uint16(100) {
		from := netip.AddrPortFrom(other.Addr(), 6000+port)
		if !g.admit(check("srv2"), from) {
			t.Fatal("check naming a live ufrag dropped")
		}
		if g.learn("srv2", from, now) {
			learned++
		}
	}
	if len(g.known) != maxAddrsPerUfrag || learned != maxAddrsPerUfrag {
		t.Errorf("remembered %d addresses, learned %d, want %d", len(g.known), learned, maxAddrsPerUfrag)
	}
	// Later, a new address replaces the least recently seen one.
	later := now.Add(newAddrInterval)
	if !g.learn("srv2", client, later) {
		t.Fatal("a new address found no room a pace later")
	}
	if _, ok := g.known[netip.AddrPortFrom(other.Addr(), 6000)]; ok || len(g.known) != maxAddrsPerUfrag {
		t.Errorf("the least recently seen address was not replaced (%d remembered)", len(g.known))
	}
}

// TestUDPGuardAllocations: the guard's verdict costs no allocation, neither
// for media nor for junk.
func TestUDPGuardAllocations(t *testing.T) {
	g := newUDPGuard()
	g.issue("srv1")
	client := netip.MustParseAddrPort("127.0.0.1:5000")
	valid := stunMsg(t, stun.BindingRequest, stun.NewUsername("srv1:cli"), stun.Fingerprint)
	g.learn("srv1", client, time.Now())
	junk := stunMsg(t, stun.BindingRequest, stun.NewUsername("junk:cli"), stun.Fingerprint)
	rtp := append([]byte{0x80, 111}, make([]byte, 98)...)
	for name, p := range map[string][]byte{"rtp": rtp, "check": valid, "junk": junk} {
		if n := testing.AllocsPerRun(1000, func() { g.admit(p, client) }); n != 0 {
			t.Errorf("%s: %v allocations", name, n)
		}
		if n := testing.AllocsPerRun(1000, func() { g.admit(p, netip.MustParseAddrPort("127.0.0.9:1")) }); n != 0 {
			t.Errorf("%s from an unknown address: %v allocations", name, n)
		}
	}
}

// A full set makes room for a verified new address, never at the expense
// of the address that answered our check last, and a ufrag shows pion at
// most maxAddrsPerSession addresses in its life.
func TestUDPGuardReplacement(t *testing.T) {
	g := newUDPGuard()
	g.issue("srv")
	now := time.Now()
	media := netip.MustParseAddrPort("127.0.0.1:4000") // the member's address in use
	if !g.learn("srv", media, now) {
		t.Fatal("first address not learned")
	}
	g.consented("srv", media, now)
	n := 1
	for port := uint16(5000); n < maxAddrsPerSession+10; port++ {
		now = now.Add(newAddrInterval)
		if !g.learn("srv", netip.AddrPortFrom(media.Addr(), port), now) {
			break
		}
		n++
		if _, ok := g.known[media]; !ok {
			t.Fatalf("after %d addresses, the one with the latest consent was evicted", n)
		}
		if len(g.known) > maxAddrsPerUfrag {
			t.Fatalf("%d addresses remembered", len(g.known))
		}
	}
	if n != maxAddrsPerSession {
		t.Errorf("learned %d addresses in the ufrag's life, want %d", n, maxAddrsPerSession)
	}
}
