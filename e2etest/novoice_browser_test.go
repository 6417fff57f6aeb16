package e2etest

// A voice connection that cannot be made is said (issue 16): the server
// advertises its voice candidates (UDP and ICE-TCP) at an address nothing
// reaches (192.0.2.1, TEST-NET-1, RFC 5737), so signaling works and ICE
// never does. Before, the page sat in the room, looking connected to
// nothing, silent and without a word.
//
// Run: go test -count=1 -run TestNoVoiceConnectionIsSaid -v ./e2etest/

import (
	"strings"
	"testing"
	"time"
)

// noVoiceSaidWithin is the bound: the failure message within 15 s.
const noVoiceSaidWithin = 15 * time.Second

func TestNoVoiceConnectionIsSaid(t *testing.T) {
	r := startApp(t, "--public-ip", "192.0.2.1")
	p := r.person("Alice", "http://"+r.srv.appAddr+"/")
	p.click("button", "Create room")
	p.clickEnter()
	p.waitFor("in the room", 20*time.Second, func() bool {
		s := p.state()
		return s.Screen == "room" && s.Self != ""
	})
	joined := time.Now()
	// Read off the screen: sottoState() leaves notices out (they may name
	// people).
	var shown string
	p.waitFor("the no-voice notice", noVoiceSaidWithin, func() bool {
		shown = p.eval(`document.getElementById('room-notice')?.textContent ?? ''`)
		return strings.Contains(shown, "No voice connection")
	})
	s := p.state()
	t.Logf("said %v after joining: %q (connection %q)", time.Since(joined).Round(100*time.Millisecond), shown, s.Connection)
	if s.Connection == "connected" {
		t.Errorf("the page says connected with no voice connection")
	}
}
