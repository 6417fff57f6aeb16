package main

// "Remove and re-key" in the app, on the real binary with three browsers:
// Alice removes Xavier; Alice and Bob end up in a new room with a new invite
// link and safety code, Bob still hears Alice, and Xavier is left alone in
// the old room.

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"sotto/browsertest"
)

func TestRemoveAndRekeyInBrowser(t *testing.T) {
	srv := startBinary(t)
	wav := browsertest.SpeechWAV(t, testSpeech)
	source := loadSource(t, wav)
	b := browsertest.Start(t, browsertest.Options{FakeAudio: wav})
	log := &netLog{}

	alice := newPerson(t, b, log, "Alice")
	if err := chromedp.Do(alice.page, chromedp.Navigate("http://"+srv.appAddr+"/")); err != nil {
		t.Fatal(err)
	}
	alice.click("button", "Create room")
	alice.enter()
	oldInvite := alice.find("textbox", "Invite link").Value
	bob := newPerson(t, b, log, "Bob")
	xavier := newPerson(t, b, log, "Xavier")
	for _, p := range []*person{bob, xavier} {
		if err := chromedp.Do(p.page, chromedp.Navigate(oldInvite)); err != nil {
			t.Fatal(err)
		}
		p.enter()
	}
	for _, p := range []*person{alice, bob, xavier} {
		p.waitFor("three named members", 20*time.Second, func() bool {
			return slices.Equal(memberNames(p.state()), []string{"Alice", "Bob", "Xavier"})
		})
	}
	oldCode := alice.eval(`document.getElementById('sas').textContent`)
	oldPlate := alice.state().Nameplate

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
	bob.listen()
	talk := alice.find("button", "Hold to talk")
	if err := talk.Press(); err != nil {
		t.Fatal(err)
	}
	alice.waitFor("the floor", 10*time.Second, func() bool { return alice.state().Floor.Mine })
	heard := false
	for try := 1; try <= 3 && !heard; try++ {
		rec := bob.record(4 * time.Second)
		corr := browsertest.WindowedCorrelation(source, rec)
		t.Logf("after the re-key, try %d: Bob hears median correlation %.2f over %d windows", try, browsertest.Median(corr), len(corr))
		heard = len(corr) >= 5 && browsertest.Median(corr) > heardCorrelation
	}
	if err := talk.Release(); err != nil {
		t.Fatal(err)
	}
	if !heard {
		t.Fatal("after the re-key Bob does not hear Alice")
	}
	if xavier.state().Floor.Holder != "" {
		t.Fatal("Xavier, in the old room, sees someone talking")
	}

	// Xavier's old link opens the old room: nobody but him.
	x2 := newPerson(t, b, log, "Xavier2")
	if err := chromedp.Do(x2.page, chromedp.Navigate(oldInvite)); err != nil {
		t.Fatal(err)
	}
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

func memberNames(s appState) []string {
	var names []string
	for _, m := range s.Members {
		names = append(names, m.Name)
	}
	slices.Sort(names)
	return names
}
