package main

import (
	"strconv"
	"testing"
	"time"
)

// liveUfragJS answers the local ICE username fragment of the page's live
// PeerConnection (see pcSpyJS): it changes exactly when ICE restarts.
const liveUfragJS = `(() => {
  const pc = (window.__pcs ?? []).filter((p) => p.connectionState === 'connected').pop();
  const m = pc?.localDescription?.sdp.match(/a=ice-ufrag:(\S+)/);
  return m ? m[1] : '';
})()`

// TestICERestartOnNetworkChange: the browser says the network changed (an
// "online" event: a phone moving from Wi-Fi to mobile data) while the
// signaling WebSocket survived. Bob's page restarts ICE on the same
// PeerConnection: one new offer, new ICE credentials, no new PeerConnection
// on either side, and he goes on hearing Alice, who keeps holding the button.
func TestICERestartOnNetworkChange(t *testing.T) {
	srv := startBinary(t)
	c := newCall(t, "http://"+srv.appAddr+"/")
	talk := c.alice.find("button", "Hold to talk")
	if err := talk.Press(); err != nil {
		t.Fatal(err)
	}
	c.bob.listen()
	c.bobHearsAlice("before the network change")

	const offersMetric = `sotto_messages_total{type="offer"}`
	offers := func() int {
		n, err := strconv.Atoi(srv.metric(t, offersMetric))
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	offersBefore := offers()
	ufragBefore := evalAs[string](c.bob, liveUfragJS)
	pcsBefore := evalAs[int](c.bob, `window.__pcs.length`)
	if ufragBefore == "" || pcsBefore == 0 {
		t.Fatalf("Bob has no live PeerConnection to watch (ufrag %q, %d made)", ufragBefore, pcsBefore)
	}

	c.bob.eval(`(() => { dispatchEvent(new Event('online')); return ''; })()`)
	c.bob.waitFor("new ICE credentials on a connected PeerConnection", 10*time.Second, func() bool {
		u := evalAs[string](c.bob, liveUfragJS)
		return u != "" && u != ufragBefore
	})
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
	c.bobHearsAlice("after the ICE restart")
	if err := talk.Release(); err != nil {
		t.Fatal(err)
	}
}
