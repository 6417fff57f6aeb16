package e2etest

import (
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/chromedp"
)

// mediaHandlersJS runs before the app: it keeps every handler the app
// gives navigator.mediaSession.setActionHandler (after the browser took it,
// so an action this browser does not know is not kept), for the test to
// call as the browser would on a headset's button.
const mediaHandlersJS = `(() => {
  const ms = navigator.mediaSession;
  if (!ms) return;
  window.mediaHandlers = {};
  const set = ms.setActionHandler.bind(ms);
  ms.setActionHandler = (action, fn) => {
    set(action, fn);
    window.mediaHandlers[action] = fn;
  };
})()`

// keyNoticeWait is how long a key that must not talk is given to wrongly
// do so before the test looks: a press reaches the server and back in far
// less on loopback.
const keyNoticeWait = time.Second

// TestHeadsetAndTalkKeyInBrowser (issue 17): a headset's button, through
// the Media Session action handlers the page registers, starts a turn that
// Bob hears and ends it, in hold mode (a headset button is always a tap);
// the lock screen shows who talks and no secret. A learned talk key (F8, after Tab was refused and Escape
// cancelled) is held to talk and let go to stop; Space no longer talks;
// the key is remembered after a reload. Bob's lock screen is empty once he
// has left.
func TestHeadsetAndTalkKeyInBrowser(t *testing.T) {
	app := startApp(t)
	alice := app.spiedPerson(t, "Alice", "http://"+app.srv.appAddr+"/", mediaHandlersJS)
	alice.click("button", "Create room")
	alice.enter()
	bob := app.person("Bob", alice.find("textbox", "Invite link").Value)
	bob.enter()
	c := &call{t: t, alice: alice, bob: bob, source: app.source}
	for _, p := range c.both() {
		p.waitFor("both names", 20*time.Second, func() bool { return bothNamed(p.state()) })
	}
	pressed := func() string { return alice.eval(`document.getElementById('talk').getAttribute('aria-pressed')`) }
	floorFree := func() bool { return bob.state().Floor.Holder == "" && pressed() == "false" }

	// The headset: the microphone toggle the browser calls, in hold mode.
	headset := func(action string) {
		t.Helper()
		if !evalAs[bool](alice, `(() => { const h = window.mediaHandlers?.['`+action+`']; if (!h) return false; h({ action: '`+action+`' }); return true; })()`) {
			t.Fatalf("no %s handler registered: %s", action, alice.eval(`JSON.stringify(Object.keys(window.mediaHandlers ?? {}))`))
		}
	}
	bob.listen()
	headset("togglemicrophone")
	alice.waitFor("the floor from the headset", 10*time.Second, func() bool { return alice.state().Floor.Mine && pressed() == "true" })
	c.hears(bob, alice, "a headset turn")
	if got := bob.eval(`navigator.mediaSession.metadata?.title ?? ''`); got != "Alice is talking" {
		t.Errorf("Bob's lock screen says %q while Alice talks", got)
	}
	lock := bob.eval(`JSON.stringify(navigator.mediaSession.metadata ?? null, ['title', 'artist', 'album'])`)
	if !strings.Contains(lock, "2 people") {
		t.Errorf("Bob's lock screen does not count the room: %s", lock)
	}
	code := bob.eval(`document.getElementById('room-code').value`)
	for _, secret := range []string{code, strings.ReplaceAll(code, "-", ""), "#", bob.state().Nameplate} {
		if secret != "" && strings.Contains(lock, secret) {
			t.Errorf("Bob's lock screen shows %q: %s", secret, lock)
		}
	}
	headset("togglemicrophone")
	alice.waitFor("the headset to end the turn", 10*time.Second, floorFree)
	// A headset's own button: play and pause are a tap each, whichever comes.
	headset("pause")
	alice.waitFor("the floor from pause", 10*time.Second, func() bool { return alice.state().Floor.Mine })
	headset("pause")
	alice.waitFor("pause again to end the turn", 10*time.Second, floorFree)

	// Learning the talk key: Tab is refused with the reason, Escape keeps
	// Space, then F8.
	key := func(typ input.DispatchKeyEventType, code, k string, vk int64) {
		t.Helper()
		params := input.DispatchKeyEventParams{Type: typ, Code: code, Key: k, WindowsVirtualKeyCode: vk}
		if _, err := chromedp.Call(alice.page, input.DispatchKeyEvent, params); err != nil {
			t.Fatal(err)
		}
	}
	note := func() string { return alice.eval(`document.getElementById('talk-key-note').textContent`) }
	alice.click("button", "Talk key: Space")
	key(input.DispatchKeyEventTypeRawKeyDown, "Tab", "Tab", 9)
	key(input.DispatchKeyEventTypeKeyUp, "Tab", "Tab", 9)
	if n := note(); !strings.Contains(n, "Tab moves between controls") {
		t.Errorf("Tab while learning: the note says %q", n)
	}
	key(input.DispatchKeyEventTypeRawKeyDown, "Escape", "Escape", 27)
	key(input.DispatchKeyEventTypeKeyUp, "Escape", "Escape", 27)
	alice.click("button", "Talk key: Space") // still Space: Escape cancelled
	key(input.DispatchKeyEventTypeRawKeyDown, "F8", "F8", 119)
	key(input.DispatchKeyEventTypeKeyUp, "F8", "F8", 119)
	alice.find("button", "Talk key: F8")

	// F8 held: Alice talks and Bob hears her; let go: the turn ends.
	key(input.DispatchKeyEventTypeRawKeyDown, "F8", "F8", 119)
	alice.waitFor("the floor from F8", 10*time.Second, func() bool { return alice.state().Floor.Mine && pressed() == "true" })
	c.hears(bob, alice, "a turn on the learned key")
	key(input.DispatchKeyEventTypeKeyUp, "F8", "F8", 119)
	alice.waitFor("letting go of F8 to end the turn", 10*time.Second, floorFree)

	// Space no longer talks: the learned key replaces it.
	key(input.DispatchKeyEventTypeRawKeyDown, "Space", " ", 32)
	time.Sleep(keyNoticeWait) // not an assertion: time for a wrong press to show
	if pressed() != "false" || bob.state().Floor.Holder != "" {
		t.Fatalf("Space still talks with F8 learned: aria-pressed %s, holder %q", pressed(), bob.state().Floor.Holder)
	}
	key(input.DispatchKeyEventTypeKeyUp, "Space", " ", 32)

	// Remembered on this device: Alice's page, reloaded, is back in the
	// room with F8 to talk.
	alice.visit("http://" + app.srv.appAddr + "/")
	alice.enter()
	alice.find("button", "Talk key: F8")
	key(input.DispatchKeyEventTypeRawKeyDown, "F8", "F8", 119)
	alice.waitFor("the floor from F8 after a reload", 10*time.Second, func() bool { return alice.state().Floor.Mine })
	key(input.DispatchKeyEventTypeKeyUp, "F8", "F8", 119)
	alice.waitFor("the turn to end", 10*time.Second, func() bool { return !alice.state().Floor.Mine && pressed() == "false" })

	// Bob leaves: his lock screen forgets the room.
	bob.click("button", "Leave")
	bob.waitFor("the lock screen cleared", 5*time.Second, func() bool {
		return bob.eval(`String(navigator.mediaSession.metadata)`) == "null"
	})
}
