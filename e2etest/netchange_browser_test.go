package e2etest

// A network change mid-turn (issue 16): every page's voice packets start
// coming from a new source address and port, as when a phone moves from
// Wi-Fi to mobile data without the app noticing (no "online" event, the
// WebSocket untouched: the relay rebinds its upstream sockets, and what the
// server sent to the old ones is lost). The talker keeps holding the
// button: the same member keeps the same turn, and the listener hears a
// gap, not an end.
//
// Run: go test -count=1 -run TestSourceChangeMidTurnKeepsTurn -v ./e2etest/

import (
	"net/netip"
	"testing"
	"time"

	"sotto/browsertest"
	"sotto/internal/netsim"
)

const (
	// sourceChangeGap bounds what the listener misses: issue 16's 1 s. The
	// server learns each member's new address from its media (an SSRC it
	// saw from the old one), checks it, and moves the member's media there
	// on the answer (sfu/consentmove.go), within a round trip of the
	// member's first packet from there; the talker sends 50 a second and a
	// muted listener's browser keeps sending too. Measured 100-150 ms
	// (before, the move waited for the browser's next nomination, every
	// 2.5 s in Chrome: 1.5-2.2 s).
	sourceChangeGap = time.Second
	// packetsPoll is how often the listener's received-packet count is read:
	// a gap is measured to this precision.
	packetsPoll = 50 * time.Millisecond
	// sourceChangeWatch is how long the count is watched after the change.
	sourceChangeWatch = 5 * time.Second
)

// audioPacketsJS is the live PeerConnection's audio packets received (see
// pcSpyJS).
const audioPacketsJS = `(async () => {
  const pc = (window.__pcs ?? []).filter((p) => p.connectionState === 'connected').pop();
  if (!pc) return -1;
  let n = 0;
  (await pc.getStats()).forEach((s) => { if (s.type === 'inbound-rtp' && s.kind === 'audio') n += s.packetsReceived; });
  return n;
})()`

func TestSourceChangeMidTurnKeepsTurn(t *testing.T) {
	r := startBadnetApp(t, netsim.Config{}, netsim.Config{})
	c := newCall(t, r.url, browsertest.Options{})
	talk := c.alice.find("button", "Hold to talk")
	if err := talk.Press(); err != nil {
		t.Fatal(err)
	}
	c.bob.listen()
	c.hears(c.bob, c.alice, "before the change")
	alice := c.alice.state()
	if !alice.Floor.Mine {
		t.Fatal("Alice does not hold the floor")
	}
	packets := func() int { return int(evalAs[float64](c.bob, audioPacketsJS)) }
	before := r.udp.UpstreamAddrs()

	// Watch Bob's count for a second, change every source, watch on.
	var longest time.Duration
	last, lastAt := packets(), time.Now()
	changed := time.Time{}
	for start := time.Now(); time.Since(start) < sourceChangeWatch+time.Second; time.Sleep(packetsPoll) {
		if changed.IsZero() && time.Since(start) > time.Second {
			if err := r.udp.RebindFrom(netip.MustParseAddr("127.0.0.3")); err != nil {
				t.Fatal(err)
			}
			changed = time.Now()
		}
		if n := packets(); n > last {
			last, lastAt = n, time.Now()
		} else {
			longest = max(longest, time.Since(lastAt))
		}
	}
	after := r.udp.UpstreamAddrs()
	for client, old := range before {
		if now := after[client]; now == old || now.Addr() != netip.MustParseAddr("127.0.0.3") {
			t.Fatalf("client %v reaches the server from %v, was %v: the source did not change", client, now, old)
		}
	}
	now := c.alice.state()
	t.Logf("every source changed (to 127.0.0.3): Bob's longest stretch without an audio packet %v; Alice still %s, holding the floor: %v", longest.Round(packetsPoll), now.Self, now.Floor.Mine)
	if now.Self != alice.Self || !now.Floor.Mine || c.bob.state().Floor.Holder != alice.Self {
		t.Errorf("after the change Alice is %s holding the floor %v (Bob sees %q): want the same member %s, her turn going on", now.Self, now.Floor.Mine, c.bob.state().Floor.Holder, alice.Self)
	}
	if longest > sourceChangeGap {
		t.Errorf("Bob went %v without an audio packet, want a gap of at most %v", longest, sourceChangeGap)
	}
	c.hears(c.bob, c.alice, "after the change")
	if err := talk.Release(); err != nil {
		t.Fatal(err)
	}
}
