package sfu

import (
	"testing"
	"time"

	"github.com/pion/ice/v4"
	"github.com/pion/stun/v4"
	"github.com/pion/webrtc/v4"

	"sotto/internal/testutil"
)

// TestGateAnswersRoutineChecks: in a silent room the clients' routine
// consent checks are answered by the gate itself (the client accepts the
// answers: its connection stays up), while pion still sees enough of them
// to keep its own liveness clock: past iceDisconnectedTimeout both server
// connections are still connected, and a turn then is heard.
func TestGateAnswersRoutineChecks(t *testing.T) {
	testutil.LeakCheck(t)
	s := newSFU(t, Config{})
	api := clientAPI(t, false)
	roomID := [16]byte{0x19, 6}
	a := join(t, s, api, roomID, Talk, 'A')
	l := join(t, s, api, roomID, Listen, 'l')
	start := time.Now()

	testutil.WaitFor(t, 20*time.Second, "the gate to answer checks", func() bool { return s.net.consent.answered.Load() >= 3 })
	time.Sleep(time.Until(start.Add(iceDisconnectedTimeout + 2*time.Second)))
	for _, c := range []struct {
		tag byte
		id  [16]byte
	}{{'A', a.ID}, {'l', l.ID}} {
		p := s.find(roomID, c.id)
		if p == nil {
			t.Fatalf("member %c has no session", c.tag)
		}
		p.mu.Lock()
		state := p.pc.ConnectionState()
		p.mu.Unlock()
		if state != webrtc.PeerConnectionStateConnected {
			t.Errorf("member %c: %v after %v of silence, want connected", c.tag, state, time.Since(start).Round(time.Second))
		}
	}
	t.Logf("checks answered by the gate: %d", s.net.consent.answered.Load())

	s.SetFloor(roomID, a.ID)
	startTalking(t, a)
	testutil.WaitFor(t, 5*time.Second, "the listener to hear a turn", func() bool { n, _ := l.Count(); return n > 10 })
}

// TestRoutineCheckFates: which binding requests the gate answers itself.
// Before the address has consent, pion sees them; once it has, a check of
// the same session is answered by the gate, except a nomination, the first
// check of a new ufrag (an ICE restart) and one every pionCheckEvery (pion's
// liveness clock).
func TestRoutineCheckFates(t *testing.T) {
	g, c := consentPair(t, credsA)
	_, member, checks := clientSock(t)
	fate := func(m *stun.Message) requestFate { return c.request(m, member) }

	if f := fate(signedRequest(t, credsA)); f != fateToPion {
		t.Fatalf("a check before consent: fate %d, want pion's", f)
	}
	if !answered(c, answerTo(t, nextCheck(t, checks), credsA.remotePwd), member) || !hasConsent(c, member) {
		t.Fatal("the member's address got no consent")
	}
	if f := fate(signedRequest(t, credsA)); f != fateAnswered {
		t.Errorf("a routine check with consent: fate %d, want the gate's answer", f)
	}
	nominate, err := stun.Build(stun.BindingRequest, stun.TransactionID,
		stun.NewUsername(credsA.localUfrag+":"+credsA.remoteUfrag), ice.UseCandidate(),
		stun.NewShortTermIntegrity(credsA.localPwd), stun.Fingerprint)
	if err != nil {
		t.Fatal(err)
	}
	if f := fate(nominate); f != fateToPion {
		t.Errorf("a nomination: fate %d, want pion's", f)
	}

	c.mu.Lock()
	c.addrs[member].toPion = time.Now().Add(-pionCheckEvery)
	c.mu.Unlock()
	if f := fate(signedRequest(t, credsA)); f != fateToPion {
		t.Errorf("a check %v after pion's last: fate %d, want pion's", pionCheckEvery, f)
	}
	if f := fate(signedRequest(t, credsA)); f != fateAnswered {
		t.Errorf("the check right after: fate %d, want the gate's answer", f)
	}

	restarted := iceCreds{localUfrag: "srvA2", localPwd: "srvpasswordsrvpasswordA2", remoteUfrag: "cliA2", remotePwd: "clipasswordclipasswordA2"}
	g.set(credsA.localUfrag, restarted)
	if f := fate(signedRequest(t, restarted)); f != fateToPion {
		t.Errorf("the first check of an ICE restart's ufrag: fate %d, want pion's", f)
	}
}
