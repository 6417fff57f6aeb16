package e2etest

// A call survives the loss of its node (issue 15, "Must show"): two Chromium
// pages talk through the real HAProxy (TLS, deploy/cluster/haproxy.cfg as
// shipped) to a two-node cluster (rig_cluster_test.go); the node that holds
// their room is killed with SIGKILL, as when its machine dies. Nobody does
// anything: each page's resume finds no room (HAProxy sends it to the other
// node), it joins by the room id it holds, the room is made again there, and
// both pages must be back in it and hear each other within 5 s of the kill,
// the UI saying "Reconnecting…" in between (call.recover checks the words).
//
// Run: go test -count=1 -run TestClusterBrowsersSurviveNodeLoss -v ./e2etest/

import (
	"strings"
	"testing"
	"time"

	"sotto/browsertest"
	"sotto/e2ee"
	"sotto/internal/testutil"
)

// nodeLossRecovery is the requirement: from the kill to both pages
// back in the room and each having heard the other.
const nodeLossRecovery = 5 * time.Second

// TestClusterBrowsersSurviveNodeLoss: Alice made the room and Bob opened her
// link; they talk both ways; Alice is holding "Hold to talk" when the room's
// node dies, and keeps holding it. Recovery is the later of: both pages
// connected with both names shown, Bob hearing Alice, and (Alice letting go
// and Bob pressing as soon as Bob hears her) Alice hearing Bob.
func TestClusterBrowsersSurviveNodeLoss(t *testing.T) {
	c := startCluster(t, 2)
	call := newCall(t, c.lb.URL+"/", browsertest.Options{TrustCert: c.certPEM})
	alice, bob := call.alice, call.bob
	room := roomIDOfInvite(t, alice.find("textbox", "Invite link").Value)

	// The room lives on one node, the one the stick table names.
	home := c.lb.StickEntries(t)[room]
	var dying, survivor *clusterNode
	for _, n := range c.nodes {
		if n.name == home {
			dying = n
		} else {
			survivor = n
		}
	}
	if dying == nil {
		t.Fatalf("the stick table names %q for the room, not a node of the cluster", home)
	}
	if d, s := c.rooms(t, dying), c.rooms(t, survivor); d != 1 || s != 0 {
		t.Fatalf("rooms: %s holds %d, %s holds %d; want the room on %s alone", dying.name, d, survivor.name, s, dying.name)
	}
	t.Logf("the room lives on %s; %s will die", dying.name, dying.name)

	// Both ways, through HAProxy, before. Sound is enough here (a page
	// without the key plays digital silence); the speech itself is checked
	// after the loss.
	aliceTalk, bobTalk := alice.find("button", "Hold to talk"), bob.find("button", "Hold to talk")
	bob.listen()
	alice.listen()
	soundReaches(t, bob, "before the node dies", func() { take(t, alice, aliceTalk) })
	soundReaches(t, alice, "before the node dies", func() { handOver(t, alice, aliceTalk, bob, bobTalk) })
	handOver(t, bob, bobTalk, alice, aliceTalk)

	// Alice is talking when the node dies.
	call.mark()
	killed := time.Now()
	c.kill(t, dying)
	r := call.recover(killed, nil)

	// Bob heard Alice: she lets go and he answers at once. Alice's recorder
	// moves to the stream of her new PeerConnection first; she does not
	// hear herself, so the first sound on it is Bob's.
	alice.waitFor("a new remote stream", nodeLossRecovery, func() bool { return call.followNewStream(alice) })
	handOver(t, alice, aliceTalk, bob, bobTalk)
	onset := alice.waitOnset(killed.Add(3 * nodeLossRecovery))
	if onset == 0 {
		t.Fatalf("Alice does not hear Bob %v after the kill (%s)", 3*nodeLossRecovery, r)
	}
	aliceHeard := time.UnixMilli(int64(onset)).Sub(killed)
	total := max(r.total, aliceHeard)
	t.Logf("node loss: kill to %s; Alice hears Bob (after the hand-over) %v; total %v",
		r, aliceHeard.Round(time.Millisecond), total.Round(time.Millisecond))
	if total > nodeLossRecovery {
		t.Errorf("back and hearing each other %v after the kill, over the %v the issue allows", total.Round(time.Millisecond), nodeLossRecovery)
	}

	// The room was made again on the survivor, with both of them in it as
	// new members (a dead node's memberships cannot be resumed), and the
	// stick table now sends its room id there.
	for _, p := range call.both() {
		if self := p.state().Self; self == call.oldSelf[p] {
			t.Errorf("%s kept member id %s: nobody could have resumed it", p.name, self)
		}
	}
	if got := c.lb.StickEntries(t)[room]; got != survivor.name {
		t.Errorf("the stick table sends the room to %q, want %s", got, survivor.name)
	}
	if got := c.rooms(t, survivor); got != 1 {
		t.Errorf("%s holds %d rooms, want the one rebuilt", survivor.name, got)
	}
	if got := testutil.Metric(t, "http://"+survivor.metricsAddr+"/metrics", "sotto_members"); got != "2" {
		t.Errorf("%s counts %s members, want 2", survivor.name, got)
	}

	// What they hear is the speech, decrypted: checked by ear both ways.
	call.hears(alice, bob, "after the node died")
	handOver(t, bob, bobTalk, alice, aliceTalk)
	call.hears(bob, alice, "after the node died")
	if err := aliceTalk.Release(); err != nil {
		t.Fatal(err)
	}
}

// soundWithin bounds press-to-hear outside the node loss: about 0.1 s
// (BENCHMARKS.md), seconds on a loaded machine.
const soundWithin = 10 * time.Second

// soundReaches arms listener's recorder, runs act (the talker's press) and
// fails the test unless sound reaches listener's speaker within soundWithin.
func soundReaches(t *testing.T, listener *person, when string, act func()) {
	t.Helper()
	if err := browsertest.ArmOnset(listener.page, onsetRMS); err != nil {
		t.Fatal(err)
	}
	act()
	if listener.waitOnset(time.Now().Add(soundWithin)) == 0 {
		t.Fatalf("%s: no sound reaches %s's speaker %v after the press", when, listener.name, soundWithin)
	}
}

// take has p press its talk button and waits until p holds the floor.
func take(t *testing.T, p *person, talk *browsertest.Element) {
	t.Helper()
	if err := talk.Press(); err != nil {
		t.Fatal(err)
	}
	p.waitFor("the floor", 10*time.Second, func() bool { return p.state().Floor.Mine })
}

// handOver has from let go and to press as soon as to's page sees the floor
// free (pressing earlier could reach the node before the release and be
// refused as busy), and waits until to holds the floor.
func handOver(t *testing.T, from *person, fromTalk *browsertest.Element, to *person, toTalk *browsertest.Element) {
	t.Helper()
	if err := fromTalk.Release(); err != nil {
		t.Fatal(err)
	}
	to.waitFor("the floor to come free", 10*time.Second, func() bool { return to.state().Floor.Holder == "" })
	take(t, to, toTalk)
}

// roomIDOfInvite is the room id (base64url, as the stick table keys it) of
// the room an invite link opens.
func roomIDOfInvite(t *testing.T, invite string) string {
	t.Helper()
	_, frag, ok := strings.Cut(invite, "#")
	if !ok {
		t.Fatalf("invite link %q has no fragment", invite)
	}
	secret, err := e2ee.ParseFragment(frag)
	if err != nil {
		t.Fatal(err)
	}
	keys, err := e2ee.DeriveRoomKeys(secret)
	if err != nil {
		t.Fatal(err)
	}
	return b64url(keys.RoomID[:])
}
