package e2etest

// Talking like a radio on a real phone (issue 17): the release tail, so the
// last syllable said as the thumb lifts is heard, and the warning before
// the talk limit.

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"sotto/browsertest"
)

// radioLimit is the talk limit of TestTalkLimitWarningInBrowser: the
// warning comes 2 s into a turn (talkturn.js WARN_BEFORE_MS is 10 s).
const radioLimit = 12 * time.Second

// radioSpyJS is injected into the talker's page before the app loads: it
// notes when the app switches its microphone track on and off and when the
// talk button comes up (performance.now() ms), and the frequencies
// chirps.js plays and the vibrations device.js asks for. Test code, never
// shipped.
const radioSpyJS = `(() => {
  window.__micSwitches = [];
  const enabled = Object.getOwnPropertyDescriptor(MediaStreamTrack.prototype, 'enabled');
  Object.defineProperty(MediaStreamTrack.prototype, 'enabled', {
    configurable: true,
    get() { return enabled.get.call(this); },
    set(on) {
      if (this.kind === 'audio' && on !== enabled.get.call(this)) window.__micSwitches.push({ on, at: performance.now() });
      enabled.set.call(this, on);
    },
  });
  window.__releasedAt = -1;
  window.addEventListener('pointerup', (e) => {
    if (e.target.closest?.('#talk')) window.__releasedAt = performance.now();
  }, true);
  window.__chirpHz = [];
  const set = AudioParam.prototype.setValueAtTime;
  AudioParam.prototype.setValueAtTime = function (v, at) {
    if (v >= 100) window.__chirpHz.push(Math.round(v)); // a tone's first frequency, not a gain
    return set.call(this, v, at);
  };
  window.__buzzes = [];
  navigator.vibrate = (ms) => { window.__buzzes.push(ms); return true; };
})()`

// radioRoom starts the binary with args, and Alice (with radioSpyJS) and Bob (listening) in one room; it returns Alice's talk
// button.
func radioRoom(t testing.TB, args ...string) (alice, bob *person, talk *browsertest.Element) {
	t.Helper()
	return radioRoomSaying(t, browsertest.SpeechWAV(t, testSpeech), args...)
}

// radioRoomSaying is radioRoom with the fake microphone playing wav.
func radioRoomSaying(t testing.TB, wav string, args ...string) (alice, bob *person, talk *browsertest.Element) {
	t.Helper()
	app := startAppSaying(t, wav, args...)
	alice = newPerson(t, app.b, app.log, "Alice")
	if _, err := chromedp.Call(alice.page, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: radioSpyJS}); err != nil {
		t.Fatal(err)
	}
	alice.visit("http://" + app.srv.appAddr + "/")
	alice.click("button", "Create room")
	alice.enter()
	bob = app.person("Bob", "http://"+app.srv.appAddr+"/#"+strings.SplitN(alice.find("textbox", "Invite link").Value, "#", 2)[1])
	bob.enter()
	for _, p := range []*person{alice, bob} {
		p.waitFor("both names", 20*time.Second, func() bool {
			return slices.Equal(memberNames(p.state()), []string{"Alice", "Bob"})
		})
	}
	waitKeysSettled(t, alice, bob)
	bob.listen()
	return alice, bob, alice.find("button", "Hold to talk")
}

// waitKeysSettled waits until each person holds every other's current
// sender key (docs/keys.md): a member that joined is sent only keys made
// after its hello, which the others switch to KeySwitchDelay later, so a
// turn begun before that is not heard by the newcomer from its start.
// Tests that measure a turn's start or length begin after it.
func waitKeysSettled(t testing.TB, ppl ...*person) {
	t.Helper()
	ids := make([]string, len(ppl))
	for i, p := range ppl {
		ids[i] = p.state().Self
	}
	settled := func() bool {
		views := make([]keysView, len(ppl))
		for i, p := range ppl {
			views[i] = p.keys()
		}
		for i := range ppl {
			for j := range ppl {
				if i != j && (views[i].Epoch == nil || epochOf(views[j].Held[ids[i]]) != epochOf(views[i].Epoch)) {
					return false
				}
			}
		}
		return true
	}
	ppl[0].waitFor("every member holding every other's current key", 20*time.Second, settled)
}

// TestTalkLimitWarningInBrowser: with a 12 s talk limit, 10 s before the
// end the talker's live region says the time left, three high pips play
// and the phone buzzes; the listener's page says nothing of it.
func TestTalkLimitWarningInBrowser(t *testing.T) {
	alice, bob, talk := radioRoom(t, "--talk-limit", radioLimit.String())
	if err := talk.Press(); err != nil {
		t.Fatal(err)
	}
	alice.waitFor("the floor", 10*time.Second, func() bool { return alice.state().Floor.Mine })
	granted := time.Now()
	const want = "You are talking. 10 seconds left"
	talker := `document.getElementById('talker').textContent`
	alice.waitFor("the warning in the live region", radioLimit, func() bool { return alice.eval(talker) == want })
	at := time.Since(granted)
	t.Logf("the warning came %v into a %v turn", at.Round(10*time.Millisecond), radioLimit)
	// 2 s in, give or take the grant's trip and this poll.
	if at < time.Second || at > 4*time.Second {
		t.Errorf("the warning came %v into the turn, not about 10 s before its end", at)
	}
	if role := alice.eval(`document.getElementById('talker').getAttribute('role')`); role != "status" {
		t.Errorf("the talker line is role %q, not a live region", role)
	}
	// Three pips at 1320 Hz (chirps.js 'warn'), and a buzz longer than the
	// start's 30 ms (talkturn.js WARN_BUZZ_MS).
	hz := evalAs[[]int](alice, `window.__chirpHz`)
	pips := 0
	for _, f := range hz {
		if f == 1320 {
			pips++
		}
	}
	if pips != 3 {
		t.Errorf("the warning's tone: frequencies played %v, want three pips at 1320 Hz", hz)
	}
	if b := evalAs[[]int](alice, `window.__buzzes`); !slices.Contains(b, 120) {
		t.Errorf("the warning's vibration: buzzes %v, want one of 120 ms", b)
	}
	if got := bob.eval(`document.getElementById('talker').textContent`); got != "Alice is talking" {
		t.Errorf("Bob's talker line during Alice's warning: %q", got)
	}
	if err := talk.Release(); err != nil {
		t.Fatal(err)
	}
	alice.waitFor("the floor free", 5*time.Second, func() bool { return bob.state().Floor.Holder == "" })
	if got := alice.eval(talker); got != "Nobody is talking" {
		t.Errorf("after the turn the talker line says %q", got)
	}
}
