package e2etest

// Operator mode in the app (issue #8), on the real binary with SOTTO_SECRET:
// pages opened from an embedding app's links carrying signed tokens get in
// with their token's role; a page without a token, or with a used one, is
// told why and gets nothing; the operator removes a member over the API and
// its page says so.

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"sotto/e2ee"
	"sotto/operator"
	"sotto/room"
)

func TestOperatorModeInBrowser(t *testing.T) {
	t.Setenv("SOTTO_SECRET", testOperatorSecret)
	app := startApp(t)
	srv, log := app.srv, app.log

	secret := e2ee.NewSecret()
	link, err := e2ee.FormatLink("http://"+srv.appAddr+"/", secret)
	if err != nil {
		t.Fatal(err)
	}
	open := func(name, tok string) *person {
		u := link
		if tok != "" {
			u += "&token=" + tok
		}
		p := app.person(name, u)
		if href := p.eval("location.href"); strings.Contains(href, "#") {
			t.Fatalf("%s: the fragment (with the token) stayed in the address bar: %q", name, href)
		}
		return p
	}
	notice := func(p *person) string { return p.eval(`document.getElementById('room-notice').textContent`) }
	enterRefused := func(p *person, want string) {
		t.Helper()
		if err := p.find("textbox", "Your name").Type(p.name); err != nil {
			t.Fatal(err)
		}
		p.click("button", "Enter room")
		p.waitFor("the refusal", 20*time.Second, func() bool { return strings.Contains(notice(p), want) })
		if s := p.state(); s.Connection != "closed" || s.Self != "" {
			t.Fatalf("%s: refused, yet %+v", p.name, s)
		}
	}

	// Alice's token makes the room (the join finds none; the same token creates it).
	aliceTok := token(t, secret, "alice", room.RoleTalk)
	alice := open("Alice", aliceTok)
	alice.enter()
	// Bob may only listen.
	bob := open("Bob", token(t, secret, "bob", room.RoleListen))
	bob.enter()
	for _, p := range []*person{alice, bob} {
		p.waitFor("both named", 20*time.Second, func() bool { return bothNamed(p.state()) })
	}

	// Carol has no token; Dave replays Alice's: both told why, neither in.
	enterRefused(open("Carol", ""), "only from the app")
	enterRefused(open("Dave", aliceTok), "already used")
	if got := srv.metric(t, "sotto_members"); got != "2" {
		t.Fatalf("sotto_members %s, want 2", got)
	}

	// Bob presses: never the floor. Alice talks: Bob hears her.
	bobTalk := bob.find("button", "Hold to talk")
	if err := bobTalk.Press(); err != nil {
		t.Fatal(err)
	}
	// The server's answer (listen_only) puts the button back to idle while
	// Bob still holds it; a grant would have made it "talking".
	bob.waitFor("the server's answer", 10*time.Second, func() bool {
		return bob.eval(`document.getElementById('talk').dataset.state`) == "idle"
	})
	if bob.state().Floor.Mine || alice.state().Floor.Holder != "" {
		t.Fatal("a listen-only token got the floor")
	}
	log.mu.Lock()
	asked := 0
	for _, it := range log.items {
		if strings.HasPrefix(it, "ws-sent") && strings.Contains(it, `"floor_request"`) {
			asked++
		}
	}
	log.mu.Unlock()
	if asked != 1 {
		t.Fatalf("%d floor requests were sent before Alice pressed, want Bob's one", asked)
	}
	if err := bobTalk.Release(); err != nil {
		t.Fatal(err)
	}
	app.talkUntilHeard(alice, bob, "Bob with a listen token")

	// The operator removes Bob: his page says so and he is out.
	keys, _ := e2ee.DeriveRoomKeys(secret)
	req, _ := http.NewRequest("DELETE", "http://"+srv.appAddr+"/api/v1/rooms/"+operator.FormatRoomID(room.ID(keys.RoomID))+"/users/bob", nil)
	req.Header.Set("Authorization", "Bearer "+testOperatorSecret)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Fatalf("remove: %d", res.StatusCode)
	}
	bob.waitFor("the removal notice", 10*time.Second, func() bool { return strings.Contains(notice(bob), "removed") })
	alice.waitFor("Bob gone", 10*time.Second, func() bool { return len(alice.state().Members) == 1 })

	log.mu.Lock()
	items := append([]string(nil), log.items...)
	pageErrors := append([]string(nil), log.errors...)
	log.mu.Unlock()
	for _, it := range items {
		if strings.HasPrefix(it, "ws-sent") {
			continue // the token goes in create/join, as it must
		}
		if strings.Contains(it, aliceTok[:40]) {
			t.Errorf("Alice's token appears outside the WebSocket: %.120s", it)
		}
	}
	for _, e := range pageErrors {
		t.Errorf("a page logged an error: %s", e)
	}
}
