package sfu

// The consent gate answers routine checks itself (issue 19, idle cost).
//
// A browser checks its selected pair every 2.5 s (Chrome) to 5 s (Firefox),
// for RFC 7675's consent freshness, for as long as the member stays, talking
// or not. pion answers each after three goroutine hand-offs (UDP mux, the
// agent's candidate reader, the agent's task loop), which for a silent
// member is most of what it costs. The gate has already done the part that
// matters: it decoded the request and verified its integrity with the
// session's password (consent.go request). So when the request is routine it
// answers it here, from the socket reader, exactly as pion would (a binding
// success with XOR-MAPPED-ADDRESS, MESSAGE-INTEGRITY under our password,
// FINGERPRINT), and pion never sees it.
//
// Routine means: no USE-CANDIDATE (a nomination moves media: pion's call),
// from an address that has fresh consent for the same session (so pion has
// that address and those credentials already), and pion saw a check from it
// less than pionCheckEvery ago. The last condition keeps pion's own liveness
// clock running: a lite agent declares its pair disconnected after
// iceDisconnectedTimeout without a packet from it, and a silent listener may
// send nothing but checks. Everything else (new addresses, ICE restarts'
// new ufrags, nominations, requests without USERNAME) goes to pion as before.
// The gate answers only an address that answered its own check (fresh
// consent), so it reflects nothing towards a spoofed source that pion
// would not have answered too.

import (
	"net"
	"net/netip"
	"time"

	"github.com/pion/stun/v4"
)

// pionCheckEvery is how often pion still sees a routine check from each
// address: well inside iceDisconnectedTimeout (12 s), so two may be lost in
// a row and the agent still hears one in time.
const pionCheckEvery = 4 * time.Second

// routine reports whether the authenticated request m, for the session of
// creds, is one the gate answers itself, and if not, notes that pion gets
// it. Called with the socket's lock held, before request() makes creds the
// entry's own: a new ufrag (an ICE restart) is not routine.
func (e *consent) routine(m *stun.Message, creds iceCreds, now time.Time) bool {
	if !m.Contains(stun.AttrUseCandidate) && e.creds.localUfrag == creds.localUfrag &&
		e.fresh(now) && now.Sub(e.toPion) < pionCheckEvery {
		return true
	}
	e.toPion = now
	return false
}

// answerCheck answers m from ap as pion would, signed with our password
// pwd, and reports whether the answer went out (if not, pion answers).
func (c *consentConn) answerCheck(m *stun.Message, ap netip.AddrPort, pwd string) bool {
	resp, err := stun.Build(m, stun.BindingSuccess,
		&stun.XORMappedAddress{IP: ap.Addr().AsSlice(), Port: int(ap.Port())},
		stun.NewShortTermIntegrity(pwd), stun.Fingerprint)
	if err != nil {
		return false
	}
	if _, err := c.PacketConn.WriteTo(resp.Raw, net.UDPAddrFromAddrPort(ap)); err != nil {
		return false
	}
	c.g.answered.Add(1)
	return true
}
