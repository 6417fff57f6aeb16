package e2etest

// "Remove and re-key" in the app, on the real binary with three browsers:
// Alice removes Xavier; Alice and Bob end up in a new room with a new invite
// link and safety code, Bob still hears Alice, and Xavier is left alone in
// the old room.

import (
	"slices"
	"strings"
	"testing"
	"time"
)

func TestRemoveAndRekeyInBrowser(t *testing.T) {
	app := startApp(t)
	srv, log := app.srv, app.log
	alice := app.creator("Alice")
	oldInvite := alice.find("textbox", "Invite link").Value
	bob := app.person("Bob", oldInvite)
	xavier := app.person("Xavier", oldInvite)
	for _, p := range []*person{bob, xavier} {
		p.enter()
	}
	for _, p := range []*person{alice, bob, xavier} {
		p.waitFor("three named members", 20*time.Second, func() bool {
			return slices.Equal(memberNames(p.state()), []string{"Alice", "Bob", "Xavier"})
		})
	}
	oldCode := alice.eval(`document.getElementById('sas').textContent`)
	oldPlate := alice.state().Nameplate

	// A turn under the old keys, which Bob's Say again keeps until the re-key.
	talk := alice.find("button", "Hold to talk")
	if err := talk.Press(); err != nil {
		t.Fatal(err)
	}
	alice.waitFor("the floor", 10*time.Second, func() bool { return alice.state().Floor.Mine })
	time.Sleep(time.Second) // the turn's length, not an assertion
	if err := talk.Release(); err != nil {
		t.Fatal(err)
	}
	bob.waitFor("Alice's turn kept for Say again", 10*time.Second, func() bool { return sayAgainOf(bob).Count == 1 })

	// Alice removes Xavier (and says yes to the confirmation).
	alice.eval(`(() => { window.confirm = () => true; return ''; })()`)
	alice.click("button", "Remove Xavier and re-key")

	for _, p := range []*person{alice, bob} {
		p.waitFor("the new room with Alice and Bob", 30*time.Second, func() bool {
			s := p.state()
			return s.Connection == "connected" && s.Nameplate != oldPlate &&
				slices.Equal(memberNames(s), []string{"Alice", "Bob"})
		})
		if code := p.eval(`document.getElementById('sas').textContent`); code == oldCode || code == "" {
			t.Errorf("%s: safety code %q after the re-key, was %q", p.name, code, oldCode)
		}
		if notice := p.eval(`document.getElementById('room-notice').textContent`); !strings.Contains(notice, "removed") {
			t.Errorf("%s: no notice of the removal: %q", p.name, notice)
		}
	}
	// What Bob heard under the old keys is gone, and the move to the new
	// room is no outage to mark.
	if kept := sayAgainOf(bob); kept.Count != 0 || kept.Bytes != 0 || kept.Listed != 0 {
		t.Errorf("after the re-key Bob's Say again keeps %+v, want nothing", kept)
	}
	newInvite := alice.find("textbox", "Invite link").Value
	if newInvite == oldInvite || !strings.Contains(newInvite, "#") {
		t.Fatalf("the invite link did not change: %q", newInvite)
	}
	xavier.waitFor("Xavier alone", 20*time.Second, func() bool {
		return slices.Equal(memberNames(xavier.state()), []string{"Xavier"})
	})
	if got := srv.metric(t, "sotto_rooms"); got != "2" {
		t.Fatalf("sotto_rooms %s, want 2 (the new room, and Xavier's old one)", got)
	}

	// Bob hears Alice in the new room.
	app.talkUntilHeard(alice, bob, "after the re-key")
	bob.waitFor("the new turn kept for Say again", 10*time.Second, func() bool { return sayAgainOf(bob).Listed == 1 })
	if xavier.state().Floor.Holder != "" {
		t.Fatal("Xavier, in the old room, sees someone talking")
	}

	// Xavier's old link opens the old room: nobody but him.
	x2 := app.person("Xavier2", oldInvite)
	x2.enter()
	x2.waitFor("the old room", 20*time.Second, func() bool {
		return slices.Equal(memberNames(x2.state()), []string{"Xavier", "Xavier2"})
	})

	log.mu.Lock()
	pageErrors := slices.Clone(log.errors)
	log.mu.Unlock()
	for _, e := range pageErrors {
		t.Errorf("a page logged an error: %s", e)
	}
}
