package e2etest

// Joining by a typed room code in the app (issue #6), on the real binary:
// Bob types the code shown in Alice's room and hears her; Carol's wrong code
// gets a clear error, and Alice is told someone tried one.

import (
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestJoinByCodeInBrowser(t *testing.T) {
	app := startApp(t)
	home, log := "http://"+app.srv.appAddr+"/", app.log
	alice := app.creator("Alice")
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
	carol := app.person("Carol", home)
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
	bob := app.person("Bob", home)
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

	app.talkUntilHeard(alice, bob, "Bob joined by code")

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
