package e2etest

// UDP blocked (issue 16): a network that drops every UDP packet, as some
// office and hotel firewalls do. Nobody does anything: the app's ICE agent
// finds the server's ICE-TCP candidate (the same TCP port as the app) and
// voice flows over TCP. Measured: from the moment a listener enters the
// room, while the talker is holding the button, to the first sound at its
// speaker.
//
// Run: go test -count=1 -run TestUDPBlockedFallsBackToTCP -v ./e2etest/

import (
	"strings"
	"testing"
	"time"

	"sotto/browsertest"
	"sotto/internal/netsim"
)

// udpBlockedFirstSound is the bound: first sound within 3 s of
// joining with UDP blocked.
const udpBlockedFirstSound = 3 * time.Second

func TestUDPBlockedFallsBackToTCP(t *testing.T) {
	blocked := netsim.Impairment{Block: true}
	r := startBadnetApp(t, netsim.Config{Up: blocked, Down: blocked}, netsim.Config{})

	alice := r.person("Alice", r.url)
	alice.click("button", "Create room")
	alice.enter() // waits for "connected": signaling and voice, over TCP only
	invite := alice.find("textbox", "Invite link").Value
	if !strings.HasPrefix(invite, r.url) {
		t.Fatalf("invite link %q is not on the relay's %s", invite, r.url)
	}
	talk := alice.find("button", "Hold to talk")
	if err := talk.Press(); err != nil {
		t.Fatal(err)
	}
	alice.waitFor("the floor", 10*time.Second, func() bool { return alice.state().Floor.Mine })

	bob := r.person("Bob", invite)
	bob.clickEnter()
	joined := time.Now()
	bob.listen()
	if err := browsertest.ArmOnset(bob.page, onsetRMS); err != nil {
		t.Fatal(err)
	}
	at := bob.waitOnset(joined.Add(10 * time.Second))
	if at == 0 {
		t.Fatalf("Bob heard nothing within 10 s of entering, UDP blocked (relay: %+v)", r.udp.Stats())
	}
	took := time.UnixMilli(int64(at)).Sub(joined)
	if err := talk.Release(); err != nil {
		t.Fatal(err)
	}

	udp, tcp := r.udp.Stats(), r.tcp.Stats()
	t.Logf("UDP blocked: first sound %v after Bob entered; UDP relay %d packets blocked, %d forwarded; TCP relay %d chunks up, %d down",
		took.Round(10*time.Millisecond), udp.Up.Blocked+udp.Down.Blocked, udp.Up.Forwarded+udp.Down.Forwarded, tcp.Up.Forwarded, tcp.Down.Forwarded)
	// The test means something only if the pages tried UDP and none of it
	// got through: the sound came over TCP.
	if udp.Up.Blocked == 0 || udp.Up.Forwarded+udp.Down.Forwarded != 0 {
		t.Fatalf("the UDP relay blocked %d and forwarded %d packets: want UDP tried and nothing through", udp.Up.Blocked, udp.Up.Forwarded+udp.Down.Forwarded)
	}
	if took > udpBlockedFirstSound {
		t.Errorf("first sound %v after entering with UDP blocked, want within %v", took, udpBlockedFirstSound)
	}
}
