package main

// Joining by a typed room code in the app (issue #6), on the real binary:
// Bob types the code shown in Alice's room and hears her; Carol's wrong code
// gets a clear error, and Alice is told someone tried one.

import (
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"sotto/browsertest"
)

func TestJoinByCodeInBrowser(t *testing.T) {
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
	var code string
	alice.waitFor("the room code", 10*time.Second, func() bool {
		code = alice.find("textbox", "Room code").Value
		return regexp.MustCompile(`^\d{3,}-\d{3}-\d{4}$`).MatchString(code)
	})
	plate := alice.state().Nameplate
	if !strings.HasPrefix(code, plate+"-") {
		t.Fatalf("room code %q does not start with the nameplate %q", code, plate)
	}

	// Carol types a wrong code: a clear error, and Alice hears of it.
	carol := newPerson(t, b, log, "Carol")
	if err := chromedp.Do(carol.page, chromedp.Navigate("http://"+srv.appAddr+"/")); err != nil {
		t.Fatal(err)
	}
	wrong := plate + "-000-0000"
	if wrong == code {
		wrong = plate + "-111-1111"
	}
	if err := carol.find("textbox", "Room code").Type(wrong); err != nil {
		t.Fatal(err)
	}
	carol.click("button", "Join")
	carol.waitFor("the wrong-code message", 20*time.Second, func() bool {
		return strings.Contains(carol.eval(`document.getElementById('code-note').textContent`), "code is wrong")
	})
	if s := carol.state(); s.Screen != "home" {
		t.Fatalf("a wrong code led Carol to %q", s.Screen)
	}
	alice.waitFor("the wrong-code notice", 10*time.Second, func() bool {
		return strings.Contains(alice.eval(`document.getElementById('room-notice').textContent`), "wrong room code")
	})

	// Bob types the right code, as read aloud: spaces instead of dashes.
	bob := newPerson(t, b, log, "Bob")
	if err := chromedp.Do(bob.page, chromedp.Navigate("http://"+srv.appAddr+"/")); err != nil {
		t.Fatal(err)
	}
	if err := bob.find("textbox", "Room code").Type(strings.ReplaceAll(code, "-", " ")); err != nil {
		t.Fatal(err)
	}
	bob.click("button", "Join")
	bob.waitFor("the lobby", 20*time.Second, func() bool { return bob.state().Screen == "lobby" })
	bob.enter()
	for _, p := range []*person{alice, bob} {
		p.waitFor("both named", 20*time.Second, func() bool {
			return slices.Equal(memberNames(p.state()), []string{"Alice", "Bob"})
		})
	}
	if a, b := alice.eval(`document.getElementById('sas').textContent`), bob.eval(`document.getElementById('sas').textContent`); a != b || a == "" {
		t.Fatalf("safety codes differ: Alice %q, Bob %q", a, b)
	}

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
		t.Logf("try %d: Bob, who joined by code, hears median correlation %.2f over %d windows", try, browsertest.Median(corr), len(corr))
		heard = len(corr) >= 5 && browsertest.Median(corr) > heardCorrelation
	}
	if err := talk.Release(); err != nil {
		t.Fatal(err)
	}
	if !heard {
		t.Fatal("Bob, who joined by code, does not hear Alice")
	}

	// The password part never reached the server: not in any URL, header
	// or WebSocket frame any page sent.
	password := strings.ReplaceAll(strings.TrimPrefix(code, plate+"-"), "-", "")
	log.mu.Lock()
	items := slices.Clone(log.items)
	pageErrors := slices.Clone(log.errors)
	log.mu.Unlock()
	for _, it := range items {
		// SDP and ICE are the browser's own, full of long random numbers
		// where any 7 digits turn up by chance; the app puts nothing in them.
		if strings.Contains(it, `"sdp"`) || strings.Contains(it, `"candidate"`) {
			continue
		}
		if strings.Contains(it, password) || strings.Contains(it, code) {
			t.Errorf("the room code's password part left a browser: %.120s", it)
		}
	}
	for _, e := range pageErrors {
		t.Errorf("a page logged an error: %s", e)
	}
}
