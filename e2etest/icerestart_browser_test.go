package e2etest

import (
	"strconv"
	"testing"
	"time"

	"sotto/browsertest"
)

// liveICEJS answers the ICE state of the page's live PeerConnection (see
// pcSpyJS): both sides' ICE username fragments change exactly when an ICE
// restart is offered (local) and answered (remote).
const liveICEJS = `(() => {
  const pc = (window.__pcs ?? []).filter((p) => p.connectionState === 'connected').pop();
  const ufrag = (d) => d?.sdp.match(/a=ice-ufrag:(\S+)/)?.[1] ?? '';
  return pc ? { local: ufrag(pc.localDescription), remote: ufrag(pc.remoteDescription), signaling: pc.signalingState, ice: pc.iceConnectionState } : {};
})()`

type liveICE struct {
	Local, Remote, Signaling, ICE string
}

// TestICERestartOnNetworkChange: the browser says the network changed (an
// "online" event: a phone moving from Wi-Fi to mobile data) while the
// signaling WebSocket survived. Bob's page restarts ICE on the same
// PeerConnection: one new offer, new ICE credentials, no new PeerConnection
// on either side, and he goes on hearing Alice, who keeps holding the button.
func TestICERestartOnNetworkChange(t *testing.T) {
	srv := startBinary(t)
	c := newCall(t, "http://"+srv.appAddr+"/", browsertest.Options{})
	talk := c.alice.find("button", "Hold to talk")
	if err := talk.Press(); err != nil {
		t.Fatal(err)
	}
	c.bob.listen()
	c.hears(c.bob, c.alice, "before the network change")

	const offersMetric = `sotto_messages_total{type="offer"}`
	offers := func() int {
		n, err := strconv.Atoi(srv.metric(t, offersMetric))
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	offersBefore := offers()
	before := evalAs[liveICE](c.bob, liveICEJS)
	pcsBefore := evalAs[int](c.bob, `window.__pcs.length`)
	if before.Local == "" || before.Remote == "" || pcsBefore == 0 {
		t.Fatalf("Bob has no live PeerConnection to watch (%+v, %d made)", before, pcsBefore)
	}

	c.bob.eval(`(() => { dispatchEvent(new Event('online')); return ''; })()`)
	// Offered and answered: new credentials on both sides, negotiation
	// over, ICE connected on them.
	var after liveICE
	c.bob.waitFor("an answered ICE restart on a connected PeerConnection", 10*time.Second, func() bool {
		after = evalAs[liveICE](c.bob, liveICEJS)
		return after.Local != before.Local && after.Remote != before.Remote && after.Remote != "" &&
			after.Signaling == "stable" && (after.ICE == "connected" || after.ICE == "completed")
	})
	t.Logf("ICE credentials local %s -> %s, server %s -> %s", before.Local, after.Local, before.Remote, after.Remote)
	if n := offers(); n != offersBefore+1 {
		t.Errorf("%d offers after the network change, want exactly one more than %d", n, offersBefore)
	}
	if n := evalAs[int](c.bob, `window.__pcs.length`); n != pcsBefore {
		t.Errorf("Bob's page made %d PeerConnections, had %d: an ICE restart keeps the one it has", n, pcsBefore)
	}
	if got := srv.metric(t, "sotto_media_peers"); got != "2" {
		t.Errorf("the server holds %s PeerConnections, want the same 2", got)
	}
	if s := c.bob.state(); s.Connection != "connected" || !bothNamed(s) {
		t.Errorf("Bob's page after the ICE restart: %+v", s)
	}
	c.hears(c.bob, c.alice, "after the ICE restart")
	if err := talk.Release(); err != nil {
		t.Fatal(err)
	}
}
