package e2etest

// The app in Firefox, at the level of a user: a Chromium page (the rig of
// rig_app_test.go) creates a room, and a Firefox page, driven over
// WebDriver BiDi by role and accessible name, opens the invite link, enters,
// hears the Chromium talker, is heard by it, and leaves. Firefox takes the
// RTCRtpScriptTransform path (design.md §9), the one Safari takes. A second
// Firefox page whose E2EE worker drops every frame runs the same checks and
// must be neither heard nor hear: the checks can fail.

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"sotto/browsertest"
	"sotto/internal/testutil"
)

// Firefox's fake microphone (media.navigator.streams.fake) plays a steady
// tone at this frequency.
const firefoxToneHz = 1000

// What "heard" means for that tone at a Chromium speaker: enough 0.25 s
// windows louder than silence, most of their energy in the tone. Through
// the whole path the tone arrives at RMS 0.07 with 0.71-0.73 of each
// window's energy in it; dropped frames give digital silence.
const (
	toneMinRMS        = 0.01                   // ten times digital silence (silentRMS)
	toneHeardShare    = 0.5                    // median share of a window's energy in the tone
	toneHeardWindows  = 5                      // of the 16 windows in one recording
	heardTries        = 3                      // recordings before a listener is said not to hear, as in talkUntilHeard
	heardRecording    = 4 * time.Second        // one recording, as in talkUntilHeard
	firefoxWaitLonger = 60 * time.Second       // Firefox on two loaded cores is slow to connect
	firefoxPoll       = 100 * time.Millisecond // between checks of a Firefox page's state
)

// e2eeWorkerPath is the E2EE worker's script, which the fault below changes
// in the control page.
const e2eeWorkerPath = "/js/e2ee/worker.js"

// appScriptPath is the app's entry module; noServiceWorkerJS, put in front of
// it in the control page, keeps the app's service worker from registering.
// That worker would answer the page's later requests (the E2EE worker's
// script among them) from its own fetch, where the driver's routes cannot
// reach; the app works the same without it (its registration may fail).
const (
	appScriptPath     = "/js/app.js"
	noServiceWorkerJS = `// test: no service worker, so the E2EE worker's script comes from the network
ServiceWorkerContainer.prototype.register = () => Promise.reject(new Error('no service worker in this test page'));`
)

// dropFramesJS is put in front of the E2EE worker's own code in the control
// page: every TransformStream the worker pipes frames through drops them
// all, in both directions. The server serves the real worker; only that
// page's copy is changed, by the driver.
const dropFramesJS = `// test fault: the E2EE path drops every frame
globalThis.TransformStream = class extends TransformStream { constructor() { super({ transform() {} }); } };`

// firefoxPerson is a Firefox tab: a phone with Firefox on it.
type firefoxPerson struct {
	t    testing.TB
	name string
	page *browsertest.BiDiPage
}

func (p *firefoxPerson) must(err error) {
	p.t.Helper()
	if err != nil {
		p.t.Fatalf("%s (Firefox): %v", p.name, err)
	}
}

func (p *firefoxPerson) state() appState {
	p.t.Helper()
	s, err := browsertest.EvalBiDi[appState](p.page, "window.sottoState()")
	p.must(err)
	return s
}

// waitFor polls cond until it holds or timeout passes.
func (p *firefoxPerson) waitFor(what string, timeout time.Duration, cond func() bool) {
	p.t.Helper()
	// Each check is a round trip to Firefox: paced, not testutil.Eventually's 5 ms.
	paced := func() bool { time.Sleep(firefoxPoll); return cond() }
	if !cond() && !testutil.Eventually(timeout, paced) {
		errs, _ := p.page.Errors()
		p.t.Fatalf("%s (Firefox): timed out waiting for %s; state %+v; page errors %q", p.name, what, p.state(), errs)
	}
}

// openFirefoxPerson opens a tab in ff, with fault (a script put in front of
// the E2EE worker) if not empty, goes to the invite link and through the
// lobby as a person would: types the name, waits for the microphone check,
// clicks "Enter room", and waits for a connected room.
func openFirefoxPerson(t testing.TB, ff *browsertest.BiDiFirefox, name, invite, fault string) *firefoxPerson {
	t.Helper()
	page, err := ff.NewPage()
	if err != nil {
		t.Fatalf("%s (Firefox): %v", name, err)
	}
	p := &firefoxPerson{t: t, name: name, page: page}
	if fault != "" {
		p.must(page.Route(appScriptPath, noServiceWorkerJS))
		p.must(page.Route(e2eeWorkerPath, fault))
	}
	p.must(page.Goto(invite))
	p.must(page.Type("textbox", "Your name", name))
	p.waitFor(`"Enter room" enabled`, firefoxWaitLonger, func() bool {
		enabled, err := browsertest.EvalBiDi[bool](page, `[...document.querySelectorAll('button')].find((b) => b.textContent.trim() === 'Enter room')?.disabled === false`)
		p.must(err)
		return enabled
	})
	p.must(page.Click("button", "Enter room"))
	p.waitFor("a connected room", firefoxWaitLonger, func() bool {
		s := p.state()
		return s.Screen == "room" && s.Connection == "connected" && s.Self != ""
	})
	return p
}

// record returns what the tab's speaker played for d, once it has a
// remote stream to listen to.
func (p *firefoxPerson) record(d time.Duration) []float32 {
	p.t.Helper()
	p.waitFor("remote audio", firefoxWaitLonger, func() bool {
		ok, err := browsertest.InstallRecorderBiDi(p.page)
		p.must(err)
		return ok
	})
	p.must(browsertest.StartRecordingBiDi(p.page))
	time.Sleep(d) // collecting samples, not asserting on time
	rec, err := browsertest.StopRecordingBiDi(p.page)
	p.must(err)
	return rec
}

// leave clicks Leave and waits for the home screen.
func (p *firefoxPerson) leave() {
	p.t.Helper()
	p.must(p.page.Click("button", "Leave"))
	p.waitFor("home", firefoxWaitLonger, func() bool { return p.state().Screen == "home" })
}

// firefoxHearsChromium has talker hold "Hold to talk" while fox's speaker is
// recorded, heardTries recordings at most, and reports whether fox heard
// the test speech (as talkUntilHeard judges it) and what was measured.
func firefoxHearsChromium(app *appRig, talker *person, fox *firefoxPerson) (bool, string) {
	app.t.Helper()
	talk := talker.find("button", "Hold to talk")
	if err := talk.Press(); err != nil {
		app.t.Fatal(err)
	}
	talker.waitFor("the floor", 10*time.Second, func() bool { return talker.state().Floor.Mine })
	fox.waitFor("the talker's name", firefoxWaitLonger, func() bool { return fox.state().Floor.Holder == talker.state().Self })
	var heard bool
	var got string
	for try := 1; try <= heardTries && !heard; try++ {
		corr := browsertest.WindowedCorrelation(app.source, fox.record(heardRecording))
		got = fmt.Sprintf("try %d: median correlation %.2f over %d speech windows", try, browsertest.Median(corr), len(corr))
		app.t.Logf("%s hears %s: %s", fox.name, talker.name, got)
		heard = len(corr) >= 5 && browsertest.Median(corr) > heardCorrelation
	}
	if err := talk.Release(); err != nil {
		app.t.Fatal(err)
	}
	fox.waitFor("the floor to come free", firefoxWaitLonger, func() bool { return fox.state().Floor.Holder == "" })
	return heard, got
}

// chromiumHearsFirefox has fox hold "Hold to talk" while listener's speaker
// is recorded, heardTries recordings at most, and reports whether listener
// heard Firefox's tone and what was measured.
func chromiumHearsFirefox(fox *firefoxPerson, listener *person) (bool, string) {
	fox.t.Helper()
	listener.listen()
	fox.must(fox.page.Press("button", "Hold to talk"))
	fox.waitFor("the floor", firefoxWaitLonger, func() bool { return fox.state().Floor.Mine })
	var heard bool
	var got string
	for try := 1; try <= heardTries && !heard; try++ {
		rec := listener.record(heardRecording)
		share := browsertest.ToneWindows(rec, firefoxToneHz, toneMinRMS)
		got = fmt.Sprintf("try %d: %d windows louder than %.2f, median %.2f of their energy in the %d Hz tone; RMS %.4f",
			try, len(share), toneMinRMS, browsertest.Median(share), firefoxToneHz, browsertest.RMS(rec))
		fox.t.Logf("%s hears %s: %s", listener.name, fox.name, got)
		heard = len(share) >= toneHeardWindows && browsertest.Median(share) > toneHeardShare
	}
	fox.must(fox.page.Release("button", "Hold to talk"))
	listener.waitFor("the floor to come free", firefoxWaitLonger, func() bool { return listener.state().Floor.Holder == "" })
	return heard, got
}

// TestFirefoxApp is the core flow with one Firefox page among Chromium
// pages: create (Chromium), join by the invite link (Firefox, through the
// UI), talk both ways, Leave; then the same with Firefox's E2EE path
// dropping every frame, which both checks must catch.
func TestFirefoxApp(t *testing.T) {
	app := startApp(t)
	alice := app.creator("Alice")
	invite := alice.find("textbox", "Invite link").Value
	ff := browsertest.StartFirefoxBiDi(t)
	t.Logf("Firefox: %s", ff.Version)

	membersAre := func(want ...string) func() bool {
		return func() bool { return slices.Equal(memberNames(alice.state()), want) }
	}
	fox := openFirefoxPerson(t, ff, "Fox", invite, "")
	alice.waitFor("Fox in the room", 20*time.Second, membersAre("Alice", "Fox"))
	fox.waitFor("two named members", firefoxWaitLonger, func() bool {
		return slices.Equal(memberNames(fox.state()), []string{"Alice", "Fox"})
	})
	if heard, got := firefoxHearsChromium(app, alice, fox); !heard {
		t.Fatalf("Firefox does not hear Chromium's speech: %s", got)
	}
	if heard, got := chromiumHearsFirefox(fox, alice); !heard {
		t.Fatalf("Chromium does not hear Firefox's tone: %s", got)
	}
	fox.leave()
	alice.waitFor("Fox gone", 20*time.Second, membersAre("Alice"))
	if errs, err := fox.page.Errors(); err != nil || len(errs) > 0 {
		t.Errorf("Fox's page logged errors %q (%v)", errs, err)
	}

	// The control: the same checks against a Firefox page whose E2EE worker
	// drops every frame must say "not heard" both ways.
	broken := openFirefoxPerson(t, ff, "Broken", invite, dropFramesJS)
	alice.waitFor("Broken in the room", 20*time.Second, membersAre("Alice", "Broken"))
	if hits, err := broken.page.RouteHits(e2eeWorkerPath); err != nil || hits == 0 {
		t.Fatalf("the control page never loaded the frame-dropping worker (%d loads, %v): it proves nothing", hits, err)
	}
	if heard, got := firefoxHearsChromium(app, alice, broken); heard {
		t.Errorf("with Firefox's E2EE path dropping frames, Firefox still hears Chromium: %s", got)
	}
	if heard, got := chromiumHearsFirefox(broken, alice); heard {
		t.Errorf("with Firefox's E2EE path dropping frames, Chromium still hears Firefox: %s", got)
	}
	broken.leave()
	alice.waitFor("Broken gone", 20*time.Second, membersAre("Alice"))

	if reqs := ff.OutsideRequests(); len(reqs) > 0 {
		t.Errorf("Firefox tried to reach beyond loopback: %q", reqs)
	}
}
